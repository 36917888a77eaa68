/**
 * Serve a model on a self-hosted machine's minikube (dgx, agx) through the local stack, with the
 * same verbs as GKE serving: deploy, status, undeploy. Everything goes through kubectl on the
 * machine's kubeconfig (local-stack's Kubectl), the support matrix (local-stack's matrix.ts) decides
 * before anything changes whether the runtime may run on the node the cluster reports.
 *
 * - ollama: the local stack's Ollama component must be deployed (by local-stack; model-serve never
 *   deploys or removes it, because the component and its model volume are local-stack's, whose
 *   undeploy keeps the data and whose purge asks for confirmation). Deploy pulls the model through
 *   Ollama's /api/pull (streamed progress, local-stack's models.ts) unless Ollama already holds it,
 *   then checks /api/tags and the OpenAI-compatible /v1/models. What deploy did is recorded in a
 *   ConfigMap `model-serve-NAME` in the ollama namespace; undeploy removes the record, and the model's
 *   files only when this deploy pulled them, no other serving record uses them, and purge is confirmed
 *   by repeating the model name (local-stack's data guard).
 * - nim: a Deployment of the model's NIM image (nvcr.io/nim/ORG/MODEL:TAG) with its own NGC Secrets,
 *   a cache volume and a ClusterIP Service, Ready on /v1/health/ready, then /v1/models must list
 *   ORG/MODEL. Undeploy removes the Deployment, Service and Secrets (the cache volume only with
 *   confirmed purge), never the local stack's own `nim` component.
 */
import { ActionError, InputError } from '../errors.js';
import { healthOf } from '../local-stack/health.js';
import type { KubeObject, Kubectl } from '../local-stack/kubectl.js';
import { assess, componentSpecs, nimImage, imageRef, type NodeFacts, supportTable } from '../local-stack/matrix.js';
import { pullModels } from '../local-stack/models.js';
import { readNode, Refusal } from '../local-stack/node.js';
import { type Forward, resultBase, type SshTarget, sshLine } from '../local-stack/results.js';
import { waitForRollout } from '../local-stack/rollout.js';
import { info, setSecret } from '../runner.js';
import { sleep } from '../time.js';

export const LOCAL_RUNTIMES = ['ollama', 'nim'] as const;
export type LocalRuntime = (typeof LOCAL_RUNTIMES)[number];

/** Who made an object: undeploy removes only what carries it. */
export const LOCAL_MANAGER = 'mlabs-model-serve';
export const LOCAL_MODEL_ANNOTATION = 'mlabs.io/local-model';
const CREATED_NAMESPACE_ANNOTATION = 'mlabs.io/created-namespace';
const OLLAMA_NS = 'ollama';
const OLLAMA_PORT = 11434;
const NIM_PORT = 8000;

export interface LocalServeSpec {
  kubeconfig: string;
  name: string;
  /** The namespace of a NIM serving (Ollama's models live in the local stack's ollama namespace). */
  namespace: string;
  runtime: LocalRuntime;
  /** Ollama: the canonical name:tag; NIM: org/model:tag. Empty for status and undeploy (read back). */
  model: string;
  ngcKey: string;
  purge: boolean;
  confirm: string[];
  ssh: SshTarget;
  deadline: number;
}

export interface LocalServeResult {
  endpoint: string;
  model: string;
  readyReplicas: number;
  hourlyCost: string;
  /** The one `ssh -N` line a workstation runs to reach the endpoint on localhost. */
  tunnel: string;
  /** The endpoint as the workstation sees it through the tunnel. */
  localEndpoint: string;
  node?: NodeFacts;
  changed: string[];
  present: boolean;
}

export interface LocalUndeployResult {
  removed: string[];
  kept: string[];
}

const HF = /^(hf\.co|huggingface\.co)\/[A-Za-z0-9][A-Za-z0-9._-]*\/[A-Za-z0-9][A-Za-z0-9._-]*(:[A-Za-z0-9._-]{1,128})?$/;
const OLLAMA_NAME = /^[a-z0-9][a-z0-9._-]*(\/[a-z0-9][a-z0-9._-]*){0,2}(:[A-Za-z0-9._-]{1,128})?$/;
export const NIM_MODEL = /^[a-z0-9][a-z0-9._-]*\/[a-z0-9][a-z0-9._-]*:[A-Za-z0-9._-]+$/;

/**
 * The model reference of `local_model`, checked for its runtime. Ollama serves what its /api/pull
 * fetches: a name from its registry (`llama3.2:3b`, `namespace/name:tag`) or a GGUF repository on
 * Hugging Face (`hf.co/USER/REPO[:QUANT]`); a promoted gs:// model, another URL or a .gguf file is
 * refused by name (Ollama cannot pull them). NIM takes the image under nvcr.io/nim as org/model:tag.
 */
export function parseLocalModel(input: string, runtime: LocalRuntime, value: string): string {
  if (runtime === 'nim') {
    if (!NIM_MODEL.test(value)) throw new InputError(input, value, 'for runtime nim, the NIM image under nvcr.io/nim as org/model:tag, e.g. meta/llama-3.1-8b-instruct:1.3.3.');
    return value;
  }
  if (/^gs:\/\//.test(value)) {
    throw new InputError(input, value, 'a promoted gs:// model is served on GKE with vLLM (target: cloud); Ollama on the machine pulls from its registry (llama3.2:3b) or a Hugging Face GGUF repository (hf.co/USER/REPO:QUANT).');
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) {
    throw new InputError(input, value, 'Ollama pulls by model name, not by URL: a registry name such as llama3.2:3b, or a Hugging Face GGUF repository as hf.co/USER/REPO:QUANT.');
  }
  if (/\.gguf$/i.test(value) || value.startsWith('/') || value.startsWith('.')) {
    throw new InputError(input, value, 'a GGUF file is not pulled by Ollama\'s /api/pull: publish it to a Hugging Face repository and use hf.co/USER/REPO:QUANT, or use a registry name such as llama3.2:3b.');
  }
  if (HF.test(value)) return value.includes(':', 6) ? value : `${value}:latest`;
  if (!OLLAMA_NAME.test(value)) throw new InputError(input, value, 'for runtime ollama, an Ollama model name such as llama3.2:3b (or namespace/name:tag), or hf.co/USER/REPO:QUANT for a Hugging Face GGUF.');
  const last = value.split('/').pop() ?? value;
  return last.includes(':') ? value : `${value}:latest`;
}

/** The model id NIM's /v1/models lists for org/model:tag. */
export function nimModelId(model: string): string {
  return model.replace(/:[^:/]+$/, '');
}

const b64 = (s: string): string => Buffer.from(s).toString('base64');

function managedLabels(name: string, runtime: LocalRuntime): Record<string, string> {
  return { 'app.kubernetes.io/managed-by': LOCAL_MANAGER, 'app.kubernetes.io/component': 'model-server', 'app.kubernetes.io/instance': name, 'mlabs.io/runtime': runtime };
}

async function getObject(k: Kubectl, kind: string, namespace: string, name: string): Promise<KubeObject | undefined> {
  const r = await k.run(['get', kind, name, '-n', namespace, '--ignore-not-found', '-o', 'json']);
  if (r.code !== 0) throw new ActionError(`Reading ${kind} ${namespace}/${name} failed: ${(r.stderr || r.stdout).trim()}`);
  return r.stdout.trim() ? (JSON.parse(r.stdout) as KubeObject) : undefined;
}

const ready = (o: KubeObject | undefined): number => Number((o?.status as { readyReplicas?: number } | undefined)?.readyReplicas ?? 0);

/** A GET through the API server's service proxy: status 0 when the proxy refused it (no endpoints). */
async function proxyGet(k: Kubectl, namespace: string, service: string, port: number, path: string): Promise<{ ok: boolean; body: string; error: string }> {
  const r = await k.run(['get', '--raw', `/api/v1/namespaces/${namespace}/services/${service}:${port}/proxy${path}`]);
  return { ok: r.code === 0, body: r.stdout, error: (r.stderr.split('\n').find((l) => l.trim()) ?? '').replace(/^Error from server \(\w+\): /, '').trim() };
}

function modelIds(body: string, key: 'data' | 'models'): string[] {
  try {
    const parsed = JSON.parse(body) as { data?: { id?: string }[]; models?: { name?: string }[] };
    return key === 'data' ? (parsed.data ?? []).map((m) => String(m.id)) : (parsed.models ?? []).map((m) => String(m.name));
  } catch {
    return [];
  }
}

/** Refuse, with the support table, a runtime the node cannot run (before anything changes). */
function refuseUnsupported(runtime: LocalRuntime, node: NodeFacts, specs: ReturnType<typeof componentSpecs>, fitToo: boolean): void {
  const a = assess([runtime], node, specs);
  const v = a.verdicts[0];
  if (v && !v.supported) {
    throw new Refusal(`Refused before anything was changed: runtime ${runtime} cannot run on ${node.name}: ${v.reason ?? ''}.`, supportTable(a, node),
      runtime === 'nim' ? 'Serve with runtime: ollama on this machine, or with runtime: nim on the dgx (machine: dgx).' : 'Serve on a machine with an NVIDIA GPU (dgx or agx).');
  }
  if (fitToo && a.misfit.length) {
    throw new Refusal(`Refused before anything was changed: NIM for ${node.name} does not fit (${a.misfit.join('; ')}).`, supportTable(a, node),
      'Free the GPU first: the local stack\'s own nim or ollama component takes it (local-stack-undeploy with those components keeps their data), or another serving does (serve-undeploy).');
  }
}

// ---- Ollama ----------------------------------------------------------------------------------------

const recordName = (name: string): string => `model-serve-${name}`;

interface OllamaRecord {
  model: string;
  pulled: boolean;
}

function readRecord(o: KubeObject | undefined): OllamaRecord | undefined {
  const data = (o as { data?: Record<string, string> } | undefined)?.data;
  return data?.model ? { model: data.model, pulled: data.pulled === 'true' } : undefined;
}

async function requireOllama(k: Kubectl, node: NodeFacts, deadline: number): Promise<KubeObject> {
  const specs = componentSpecs();
  const d = await getObject(k, 'deployment', OLLAMA_NS, 'ollama');
  if (!d) {
    throw new ActionError(`Ollama is not deployed on ${node.name}: there is no Deployment ollama/ollama, so there is nothing to serve the model with. Nothing was changed.`, {
      fix: 'Deploy the local stack\'s Ollama first: workflows/local-stack-deploy.yml with components: ollama (the local-stack action with operation: deploy, components: ollama). model-serve does not deploy it: the component and its model volume are the local stack\'s.',
    });
  }
  await waitForRollout(k, specs.ollama, deadline);
  return (await getObject(k, 'deployment', OLLAMA_NS, 'ollama')) ?? d;
}

function ollamaTunnel(node: NodeFacts | undefined, ssh: SshTarget): string {
  return sshLine(resultBase(componentSpecs().ollama, node).forwards, ssh);
}

async function ollamaLists(k: Kubectl, model: string, deadline: number): Promise<{ tags: string[]; openai: string[] }> {
  let tags = await proxyGet(k, OLLAMA_NS, 'ollama', OLLAMA_PORT, '/api/tags');
  while (!tags.ok && Date.now() < deadline) {
    await sleep(1000);
    tags = await proxyGet(k, OLLAMA_NS, 'ollama', OLLAMA_PORT, '/api/tags');
  }
  if (!tags.ok) throw new ActionError(`Ollama did not answer /api/tags: ${tags.error}`, { fix: 'kubectl -n ollama logs deploy/ollama on the machine.' });
  const v1 = model ? await proxyGet(k, OLLAMA_NS, 'ollama', OLLAMA_PORT, '/v1/models') : { ok: true, body: '{}', error: '' };
  return { tags: modelIds(tags.body, 'models'), openai: v1.ok ? modelIds(v1.body, 'data') : [] };
}

async function ollamaDeploy(k: Kubectl, s: LocalServeSpec, node: NodeFacts): Promise<LocalServeResult> {
  const deployment = await requireOllama(k, node, s.deadline);
  const changed: string[] = [];
  const prior = readRecord(await getObject(k, 'configmap', OLLAMA_NS, recordName(s.name)));
  if (prior && prior.model !== s.model) {
    throw new ActionError(`Serving ${s.name} on ${node.name} already serves ${prior.model} with Ollama; nothing was changed.`, { fix: `Undeploy it first (verb: undeploy, name: ${s.name}), or pick another name.` });
  }
  const before = await ollamaLists(k, '', s.deadline);
  const present = before.tags.includes(s.model);
  // The record is written before the pull, so that undeploy can also clean a pull that failed half-way.
  const pulled = prior?.pulled ?? !present;
  if (!prior) {
    await k.apply(JSON.stringify({
      apiVersion: 'v1', kind: 'ConfigMap',
      metadata: { name: recordName(s.name), namespace: OLLAMA_NS, labels: managedLabels(s.name, 'ollama'), annotations: { [LOCAL_MODEL_ANNOTATION]: s.model } },
      data: { model: s.model, pulled: String(pulled) },
    }), `Recording serving ${s.name}`);
    changed.push(`ConfigMap/${recordName(s.name)}`);
  }
  if (present) info(`ollama: ${s.model} is already on ${node.name} (not pulled; undeploy keeps it)`);
  else {
    await pullModels(k, [s.model]);
    changed.push(`model ${s.model} (pulled)`);
  }
  const after = await ollamaLists(k, s.model, s.deadline);
  if (!after.tags.includes(s.model)) throw new ActionError(`Ollama on ${node.name} does not list ${s.model} in /api/tags after the pull (it lists ${after.tags.join(', ') || 'nothing'}).`, { fix: 'kubectl -n ollama logs deploy/ollama on the machine.' });
  if (!after.openai.includes(s.model)) throw new ActionError(`Ollama's OpenAI-compatible /v1/models does not list ${s.model} (it lists ${after.openai.join(', ') || 'nothing'}).`, { fix: 'Ollama 0.1.33 or later serves /v1/models; check the image of the local stack\'s Ollama.' });
  return {
    endpoint: `http://ollama.${OLLAMA_NS}.svc.cluster.local:${OLLAMA_PORT}/v1`,
    model: s.model,
    readyReplicas: ready(deployment),
    hourlyCost: '0',
    tunnel: ollamaTunnel(node, s.ssh),
    localEndpoint: `http://127.0.0.1:${OLLAMA_PORT}/v1`,
    node,
    changed,
    present: true,
  };
}

async function ollamaStatus(k: Kubectl, s: LocalServeSpec, node: NodeFacts): Promise<LocalServeResult> {
  const rec = readRecord(await getObject(k, 'configmap', OLLAMA_NS, recordName(s.name)));
  const d = await getObject(k, 'deployment', OLLAMA_NS, 'ollama');
  const listed = rec && d && ready(d) > 0 ? (await ollamaLists(k, rec.model, Date.now())).openai.includes(rec.model) : false;
  return {
    endpoint: rec && listed ? `http://ollama.${OLLAMA_NS}.svc.cluster.local:${OLLAMA_PORT}/v1` : '',
    model: rec?.model ?? '',
    readyReplicas: listed ? ready(d) : 0,
    hourlyCost: rec ? '0' : '',
    tunnel: rec ? ollamaTunnel(node, s.ssh) : '',
    localEndpoint: rec ? `http://127.0.0.1:${OLLAMA_PORT}/v1` : '',
    node,
    changed: [],
    present: Boolean(rec),
  };
}

function checkConfirm(s: LocalServeSpec, model: string, what: string): void {
  if (s.confirm.length !== 1 || s.confirm[0] !== model) {
    throw new InputError('confirm', s.confirm.join(','), `purge deletes ${what}; confirm must repeat the model name exactly. Nothing was deleted.`, `Set confirm: ${model}`);
  }
}

async function ollamaUndeploy(k: Kubectl, s: LocalServeSpec): Promise<LocalUndeployResult> {
  const rec = readRecord(await getObject(k, 'configmap', OLLAMA_NS, recordName(s.name)));
  if (!rec) return { removed: [], kept: [] };
  const others = (await k.list('configmaps', OLLAMA_NS, 'Reading the serving records', `app.kubernetes.io/managed-by=${LOCAL_MANAGER}`))
    .filter((o) => o.metadata.name !== recordName(s.name) && readRecord(o)?.model === rec.model)
    .map((o) => o.metadata.name.replace(/^model-serve-/, ''));
  const kept: string[] = [];
  const removed: string[] = [];
  let remove = false;
  if (!rec.pulled) kept.push(`model ${rec.model}: it was on the machine before this deploy`);
  else if (others.length) kept.push(`model ${rec.model}: still served by ${others.join(', ')}`);
  else if (!s.purge) kept.push(`model ${rec.model}: its files stay on the Ollama volume (set purge: true and confirm: ${rec.model} to delete them)`);
  else {
    checkConfirm(s, rec.model, `the files of ${rec.model} that deploy pulled`);
    remove = true;
  }
  if (remove) {
    const r = await k.run(['delete', '--raw', `/api/v1/namespaces/${OLLAMA_NS}/services/ollama:${OLLAMA_PORT}/proxy/api/delete`, '-f', '-'], { input: JSON.stringify({ model: rec.model }) });
    if (r.code !== 0 && !/not found/.test(r.stderr + r.stdout)) throw new ActionError(`ollama: deleting ${rec.model} failed: ${(r.stderr || r.stdout).trim()}`, { fix: 'Check that the local stack\'s Ollama is up (local-stack status), then re-run the undeploy.' });
    removed.push(`model ${rec.model} (deleted from Ollama)`);
  }
  await k.must(['delete', 'configmap', recordName(s.name), '-n', OLLAMA_NS, '--ignore-not-found'], `Removing the serving record of ${s.name}`);
  removed.push(`ConfigMap/${recordName(s.name)}`);
  return { removed, kept };
}

// ---- NIM ---------------------------------------------------------------------------------------------

const nimSecret = (name: string, kind: 'registry' | 'api'): string => `${name}-ngc-${kind}`;
const nimCache = (name: string): string => `${name}-nim-cache`;

function nimObjects(s: LocalServeSpec, createdNamespace: boolean): KubeObject[] {
  const labels = managedLabels(s.name, 'nim');
  const specs = componentSpecs(s.model);
  const res = specs.nim.containers.nim as { cpu: string; memory: string };
  const auth = b64(`$oauthtoken:${s.ngcKey}`);
  const dockerconfig = JSON.stringify({ auths: { 'nvcr.io': { username: '$oauthtoken', password: s.ngcKey, auth } } });
  for (const v of [auth, dockerconfig, b64(dockerconfig), b64(s.ngcKey)]) setSecret(v);
  const meta = (name: string): KubeObject['metadata'] => ({ name, namespace: s.namespace, labels });
  return [
    { apiVersion: 'v1', kind: 'Secret', type: 'kubernetes.io/dockerconfigjson', metadata: meta(nimSecret(s.name, 'registry')), data: { '.dockerconfigjson': b64(dockerconfig) } },
    { apiVersion: 'v1', kind: 'Secret', type: 'Opaque', metadata: meta(nimSecret(s.name, 'api')), data: { NGC_API_KEY: b64(s.ngcKey) } },
    { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: meta(nimCache(s.name)), spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '100Gi' } } } },
    {
      apiVersion: 'apps/v1', kind: 'Deployment',
      metadata: { ...meta(s.name), annotations: { [LOCAL_MODEL_ANNOTATION]: s.model, ...(createdNamespace ? { [CREATED_NAMESPACE_ANNOTATION]: 'true' } : {}) } },
      spec: {
        replicas: 1,
        strategy: { type: 'Recreate' },
        selector: { matchLabels: { 'app.kubernetes.io/name': s.name } },
        template: {
          metadata: { labels: { ...labels, 'app.kubernetes.io/name': s.name } },
          spec: {
            imagePullSecrets: [{ name: nimSecret(s.name, 'registry') }],
            containers: [{
              name: 'nim',
              image: imageRef(nimImage(s.model)),
              env: [{ name: 'NGC_API_KEY', valueFrom: { secretKeyRef: { name: nimSecret(s.name, 'api'), key: 'NGC_API_KEY' } } }, { name: 'NIM_CACHE_PATH', value: '/opt/nim/.cache' }],
              ports: [{ name: 'http', containerPort: NIM_PORT }],
              resources: { requests: { cpu: res.cpu, memory: res.memory, 'nvidia.com/gpu': '1' }, limits: { memory: res.memory, 'nvidia.com/gpu': '1' } },
              readinessProbe: { httpGet: { path: '/v1/health/ready', port: NIM_PORT }, periodSeconds: 10 },
              startupProbe: { httpGet: { path: '/v1/health/ready', port: NIM_PORT }, periodSeconds: 10, failureThreshold: 180 },
              volumeMounts: [{ name: 'cache', mountPath: '/opt/nim/.cache' }],
            }],
            volumes: [{ name: 'cache', persistentVolumeClaim: { claimName: nimCache(s.name) } }],
          },
        },
      },
    },
    { apiVersion: 'v1', kind: 'Service', metadata: meta(s.name), spec: { type: 'ClusterIP', selector: { 'app.kubernetes.io/name': s.name }, ports: [{ name: 'http', port: NIM_PORT, targetPort: NIM_PORT }] } },
  ];
}

function nimForward(s: LocalServeSpec): Forward {
  return { localPort: NIM_PORT, targetHost: '127.0.0.1', targetPort: NIM_PORT, portForward: `kubectl -n ${s.namespace} port-forward svc/${s.name} ${NIM_PORT}:${NIM_PORT}` };
}

function isOurs(o: KubeObject | undefined): boolean {
  return o?.metadata.labels?.['app.kubernetes.io/managed-by'] === LOCAL_MANAGER;
}

async function nimDeploy(k: Kubectl, s: LocalServeSpec, node: NodeFacts): Promise<LocalServeResult> {
  const existing = await getObject(k, 'deployment', s.namespace, s.name);
  if (existing && !isOurs(existing)) {
    throw new ActionError(`Deployment ${s.namespace}/${s.name} exists and was not made by model-serve; nothing was changed.`, { fix: 'Pick another name or namespace.' });
  }
  const nsExists = (await k.run(['get', 'namespace', s.namespace, '--ignore-not-found', '-o', 'name'])).stdout.trim() !== '';
  const createdNamespace = existing ? existing.metadata.annotations?.[CREATED_NAMESPACE_ANNOTATION] === 'true' : !nsExists;
  const changed: string[] = [];
  if (!nsExists) {
    await k.apply(JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: s.namespace, labels: { 'app.kubernetes.io/managed-by': LOCAL_MANAGER } } }), `Creating namespace ${s.namespace}`);
    changed.push(`Namespace/${s.namespace}`);
  }
  const objects = nimObjects(s, createdNamespace);
  changed.push(...(await k.applyChanges(objects.map((o) => JSON.stringify(o)).join('\n'), `Applying the NIM serving ${s.namespace}/${s.name}`)));
  const specs = componentSpecs(s.model);
  await waitForRollout(k, { ...specs.nim, name: 'nim', namespace: s.namespace }, s.deadline);
  const health = await healthOf(k, { ...specs.nim, namespace: s.namespace, health: [{ service: s.name, port: NIM_PORT, path: '/v1/health/ready' }] }, s.deadline);
  if (!health.ok) throw new ActionError(`NIM ${s.namespace}/${s.name} is not ready: ${health.text}`, { fix: `kubectl -n ${s.namespace} logs deploy/${s.name} on the machine.` });
  const id = nimModelId(s.model);
  const models = await proxyGet(k, s.namespace, s.name, NIM_PORT, '/v1/models');
  const ids = models.ok ? modelIds(models.body, 'data') : [];
  if (!ids.includes(id)) {
    throw new ActionError(`NIM ${s.namespace}/${s.name} is ready but /v1/models does not list ${id} (it lists ${ids.join(', ') || 'nothing'}).`, { fix: `Check the image nvcr.io/nim/${s.model}: kubectl -n ${s.namespace} logs deploy/${s.name}` });
  }
  return {
    endpoint: `http://${s.name}.${s.namespace}.svc.cluster.local:${NIM_PORT}/v1`,
    model: id,
    readyReplicas: ready(await getObject(k, 'deployment', s.namespace, s.name)),
    hourlyCost: '0',
    tunnel: sshLine([nimForward(s)], s.ssh),
    localEndpoint: `http://127.0.0.1:${NIM_PORT}/v1`,
    node,
    changed,
    present: true,
  };
}

async function nimStatus(k: Kubectl, s: LocalServeSpec, node: NodeFacts): Promise<LocalServeResult> {
  const d = await getObject(k, 'deployment', s.namespace, s.name);
  const model = d?.metadata.annotations?.[LOCAL_MODEL_ANNOTATION] ?? '';
  return {
    endpoint: d ? `http://${s.name}.${s.namespace}.svc.cluster.local:${NIM_PORT}/v1` : '',
    model: model ? nimModelId(model) : '',
    readyReplicas: ready(d),
    hourlyCost: d ? '0' : '',
    tunnel: d ? sshLine([nimForward(s)], s.ssh) : '',
    localEndpoint: d ? `http://127.0.0.1:${NIM_PORT}/v1` : '',
    node,
    changed: [],
    present: Boolean(d),
  };
}

async function nimUndeploy(k: Kubectl, s: LocalServeSpec): Promise<LocalUndeployResult> {
  const d = await getObject(k, 'deployment', s.namespace, s.name);
  if (!d) return { removed: [], kept: [] };
  if (!isOurs(d)) throw new ActionError(`Deployment ${s.namespace}/${s.name} was not made by model-serve; nothing was removed.`, { fix: 'The local stack\'s own nim component is removed with local-stack-undeploy (components: nim).' });
  const model = d.metadata.annotations?.[LOCAL_MODEL_ANNOTATION] ?? '';
  if (s.purge) checkConfirm(s, model, `the NIM cache volume ${nimCache(s.name)} (the downloaded ${model})`);
  const removed: string[] = [];
  const kept: string[] = [];
  const timeout = `--timeout=${Math.max(10, Math.ceil((s.deadline - Date.now()) / 1000))}s`;
  const selector = `app.kubernetes.io/managed-by=${LOCAL_MANAGER},app.kubernetes.io/instance=${s.name}`;
  const kinds = s.purge ? 'deployments,services,secrets,persistentvolumeclaims' : 'deployments,services,secrets';
  const out = await k.must(['delete', kinds, '-n', s.namespace, '-l', selector, '--ignore-not-found', '--wait=true', timeout], `Removing the NIM serving ${s.namespace}/${s.name}`, { log: true });
  removed.push(...out.split('\n').filter((l) => /\bdeleted\b/.test(l)));
  if (!s.purge) kept.push(`PersistentVolumeClaim/${nimCache(s.name)}: the downloaded model (set purge: true and confirm: ${model} to delete it)`);
  for (;;) {
    const left = await k.run(['get', 'pods', '-n', s.namespace, '-l', selector, '-o', 'name']);
    if (!left.stdout.trim() || left.code !== 0) break;
    if (Date.now() > s.deadline) throw new ActionError(`Pods of ${s.namespace}/${s.name} still present after the timeout: ${left.stdout.trim().split('\n').join(', ')}`);
    await sleep(500);
  }
  if (d.metadata.annotations?.[CREATED_NAMESPACE_ANNOTATION] === 'true') {
    const rest = await k.list('deployments,statefulsets,persistentvolumeclaims', s.namespace, `Reading what is left in ${s.namespace}`);
    if (!rest.length) {
      await k.must(['delete', 'namespace', s.namespace, '--ignore-not-found', '--wait=true', timeout], `Removing namespace ${s.namespace}`, { log: true });
      removed.push(`namespace/${s.namespace} deleted`);
    } else kept.push(`Namespace/${s.namespace}: it still holds ${rest.map((o) => `${o.kind}/${o.metadata.name}`).join(', ')}`);
  }
  return { removed, kept };
}

// ---- the verbs -------------------------------------------------------------------------------------------

/** The machine's node, and the refusal of a runtime it cannot run, before anything changes. */
async function checkedNode(k: Kubectl, s: LocalServeSpec, forDeploy: boolean): Promise<NodeFacts> {
  const specs = componentSpecs(s.runtime === 'nim' && s.model ? s.model : undefined);
  const ours = s.runtime === 'nim' && forDeploy ? await getObject(k, 'deployment', s.namespace, s.name) : undefined;
  const node = await readNode(k, ours ? [s.namespace] : []);
  const fits = s.runtime === 'nim' && forDeploy && !ours;
  refuseUnsupported(s.runtime, node, specs, fits);
  return node;
}

export async function deployLocal(k: Kubectl, s: LocalServeSpec): Promise<LocalServeResult> {
  const node = await checkedNode(k, s, true);
  info(`${s.runtime} on ${node.name} (${node.platform}, ${node.arch}): serving ${s.model} as ${s.name}`);
  return s.runtime === 'ollama' ? ollamaDeploy(k, s, node) : nimDeploy(k, s, node);
}

export async function statusLocal(k: Kubectl, s: LocalServeSpec): Promise<LocalServeResult> {
  const node = await readNode(k, []);
  return s.runtime === 'ollama' ? ollamaStatus(k, s, node) : nimStatus(k, s, node);
}

export async function undeployLocal(k: Kubectl, s: LocalServeSpec): Promise<LocalUndeployResult> {
  return s.runtime === 'ollama' ? ollamaUndeploy(k, s) : nimUndeploy(k, s);
}
