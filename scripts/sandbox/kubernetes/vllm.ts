// vLLM's OpenAI-compatible server as the service proxy answers it once a serving pod is Ready:
// GET /health (200, empty body, as vLLM's api_server returns) and GET /v1/models (an OpenAI model
// list: the --served-model-name, or --model, with vLLM's owned_by, root and max_model_len).
// The pod is recognised by a container whose image is vllm/vllm-openai or whose args hold --model.
import type { ProxyAnswer } from './cluster.js';

type Json = Record<string, unknown>;

function argValue(args: string[], name: string): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (a === name) return args[i + 1];
    if (a.startsWith(`${name}=`)) return a.slice(name.length + 1);
  }
  return undefined;
}

/** The answer for `path` from a Ready pod `pod` backing the service, or undefined when it is not a vLLM server. */
export function vllmAnswer(pod: Json, path: string, method: string): ProxyAnswer | undefined {
  const containers = (((pod.spec as Json | undefined)?.containers as Json[] | undefined) ?? []);
  const server = containers.find((c) => /(^|\/)vllm-openai(:|@|$)/.test(String(c.image ?? '')) || ((c.args as string[] | undefined) ?? []).includes('--model'));
  if (!server || method !== 'GET') return undefined;
  const args = ((server.args as string[] | undefined) ?? []).map(String);
  if (path === '/health') return { status: 200, body: '' };
  if (path === '/v1/models') {
    const model = argValue(args, '--model') ?? '';
    const served = argValue(args, '--served-model-name') ?? model;
    const maxLen = Number(argValue(args, '--max-model-len') ?? 4096);
    return openAiModelList(pod, served, model, 'vllm', maxLen);
  }
  return undefined;
}

/** An OpenAI-compatible `/v1/models` answer (vLLM's and NIM's shape) for the model a Ready pod serves. */
export function openAiModelList(pod: Json, id: string, root: string, ownedBy: string, maxModelLen: number): ProxyAnswer {
  const created = Math.floor(Date.parse(String(((pod.metadata as Json | undefined)?.creationTimestamp) ?? new Date().toISOString())) / 1000);
  return {
    status: 200,
    contentType: 'application/json',
    body: JSON.stringify({
      object: 'list',
      data: [{ id, object: 'model', created, owned_by: ownedBy, root, parent: null, max_model_len: maxModelLen, permission: [{ id: `modelperm-${created}`, object: 'model_permission', created, allow_create_engine: false, allow_sampling: true, allow_logprobs: true, allow_search_indices: false, allow_view: true, allow_fine_tuning: false, organization: '*', group: null, is_blocking: false }] }],
    }),
  };
}
