// Ollama and NVIDIA NIM as the service proxy answers them once their pod is Ready, as vllm.ts does for vLLM.
//
// Ollama (a container whose image is */ollama or dustynv/ollama, or that listens on 11434): the models
// live per service (its PersistentVolumeClaim in the real server), so a pull is seen by later calls.
// POST /api/pull {model|name, stream} streams NDJSON progress (pulling manifest, the layer with
// total/completed, verifying sha256 digest, writing manifest, success) or one {"status":"success"};
// GET /api/tags lists the pulled models as Ollama does (name, model, modified_at, size, digest,
// details); GET /v1/models is its OpenAI-compatible list (id = the name, owned_by = the name's
// namespace, `library` by default); DELETE /api/delete {model} removes one (404 with Ollama's
// `model 'x' not found` when absent); GET / answers `Ollama is running`.
//
// NIM (an image under nvcr.io/nim/): GET /v1/health/ready and /v1/health/live as NIM answers them,
// GET /v1/models lists the model of the image (nvcr.io/nim/ORG/MODEL:TAG → ORG/MODEL).
import { createHash } from 'node:crypto';
import type { ProxyAnswer } from './cluster.js';
import { openAiModelList } from './vllm.js';

type Json = Record<string, unknown>;

export interface OllamaModel {
  name: string;
  digest: string;
  size: number;
  modifiedAt: string;
}

const JSON_TYPE = 'application/json; charset=utf-8';

function containersOf(pod: Json): Json[] {
  return (((pod.spec as Json | undefined)?.containers as Json[] | undefined) ?? []);
}

export function isOllamaPod(pod: Json): boolean {
  return containersOf(pod).some((c) => /(^|\/)ollama(:|@|$)/.test(String(c.image ?? '')) || ((c.ports as Json[] | undefined) ?? []).some((p) => Number(p.containerPort) === 11434));
}

/** The model an NIM pod serves (ORG/MODEL from nvcr.io/nim/ORG/MODEL:TAG), or undefined when it is not NIM. */
export function nimModelOf(pod: Json): string | undefined {
  for (const c of containersOf(pod)) {
    const m = /^nvcr\.io\/nim\/([^:@]+)/.exec(String(c.image ?? ''));
    if (m) return m[1];
  }
  return undefined;
}

/** Ollama's model names: `name:tag` with `latest` as the default tag (what /api/tags reports). */
function canonical(name: string): string {
  const last = name.split('/').pop() ?? name;
  return last.includes(':') ? name : `${name}:latest`;
}

function namespaceOf(name: string): string {
  const parts = name.split(':')[0]?.split('/') ?? [];
  if (parts.length >= 3) return parts[parts.length - 2] as string;
  return parts.length === 2 ? (parts[0] as string) : 'library';
}

function bodyJson(body: Buffer): Json {
  try {
    const v = JSON.parse(body.toString('utf8')) as unknown;
    return v && typeof v === 'object' ? (v as Json) : {};
  } catch {
    return {};
  }
}

const err = (status: number, message: string): ProxyAnswer => ({ status, contentType: JSON_TYPE, body: JSON.stringify({ error: message }) });

/** The answer of the Ollama server behind a Ready pod; `models` is the service's model store. */
export function ollamaAnswer(models: Map<string, OllamaModel>, path: string, method: string, body: Buffer): ProxyAnswer | undefined {
  if (method === 'GET' && path === '/') return { status: 200, body: 'Ollama is running' };
  if (method === 'GET' && path === '/api/tags') {
    return {
      status: 200,
      contentType: JSON_TYPE,
      body: JSON.stringify({
        models: [...models.values()].map((m) => ({
          name: m.name, model: m.name, modified_at: m.modifiedAt, size: m.size, digest: m.digest,
          details: { parent_model: '', format: 'gguf', family: 'llama', families: ['llama'], parameter_size: '3.2B', quantization_level: 'Q4_K_M' },
        })),
      }),
    };
  }
  if (method === 'GET' && path === '/v1/models') {
    return {
      status: 200,
      contentType: 'application/json',
      body: JSON.stringify({ object: 'list', data: [...models.values()].map((m) => ({ id: m.name, object: 'model', created: Math.floor(Date.parse(m.modifiedAt) / 1000), owned_by: namespaceOf(m.name) })) }),
    };
  }
  if (method === 'POST' && path === '/api/pull') {
    const req = bodyJson(body);
    const raw = String(req.model ?? req.name ?? '');
    if (!raw) return err(400, 'model is required');
    const name = canonical(raw);
    const digest = createHash('sha256').update(name).digest('hex');
    const size = 2_019_393_190;
    models.set(name, { name, digest: `${digest}`, size, modifiedAt: new Date().toISOString() });
    if (req.stream === false) return { status: 200, contentType: JSON_TYPE, body: JSON.stringify({ status: 'success' }) };
    const layer = `sha256:${digest}`;
    const lines = [
      { status: 'pulling manifest' },
      { status: `pulling ${digest.slice(0, 12)}`, digest: layer, total: size, completed: Math.floor(size / 2) },
      { status: `pulling ${digest.slice(0, 12)}`, digest: layer, total: size, completed: size },
      { status: 'verifying sha256 digest' },
      { status: 'writing manifest' },
      { status: 'success' },
    ];
    return { status: 200, contentType: 'application/x-ndjson', body: `${lines.map((l) => JSON.stringify(l)).join('\n')}\n` };
  }
  if (method === 'DELETE' && path === '/api/delete') {
    const req = bodyJson(body);
    const raw = String(req.model ?? req.name ?? '');
    const name = raw ? canonical(raw) : '';
    if (!name || !models.delete(name)) return err(404, `model '${raw}' not found`);
    return { status: 200, body: '' };
  }
  return undefined;
}

/** The answer of an NIM for LLMs server behind a Ready pod, or undefined when the pod is not NIM. */
export function nimAnswer(pod: Json, path: string, method: string): ProxyAnswer | undefined {
  const model = nimModelOf(pod);
  if (!model || method !== 'GET') return undefined;
  if (path === '/v1/health/ready') return { status: 200, contentType: 'application/json', body: '{"object":"health-response","message":"Service is ready."}' };
  if (path === '/v1/health/live') return { status: 200, contentType: 'application/json', body: '{"object":"health-response","message":"Service is live."}' };
  if (path === '/v1/models') return openAiModelList(pod, model, model, 'system', 131072);
  return undefined;
}
