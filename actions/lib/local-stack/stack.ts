/**
 * Deploy, undeploy and status of the local AI stack on the machine's cluster. Everything goes through
 * kubectl (and helm for NeMo) with argument arrays; objects and secrets go in on stdin.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { kfpMirror, localStackManifests, sshHost } from '../config.js';
import { ActionError } from '../errors.js';
import { info, setSecret, warning } from '../runner.js';
import { installNemo, uninstallNemo } from './helm.js';
import { desiredPart, keyOf, type KubeObject, Kubectl } from './kubectl.js';
import { assess, type Component, type ComponentSpec, componentSpecs, deployOrder, formatRequests, imageRef, KFP, nodeFacts, type NodeFacts, type Requests, supportTable } from './matrix.js';
import { sleep } from '../time.js';

export const MANAGED_BY = 'mlabs-actions';
const FAILING = new Set(['ImagePullBackOff', 'ErrImagePull', 'InvalidImageName', 'CrashLoopBackOff', 'CreateContainerConfigError', 'CreateContainerError', 'ErrImageNeverPull']);

/**
 * The suite's kustomize bases. GitHub checks out the whole repository for `uses:`, so from the bundle
 * (actions/local-stack/dist/index.js) they are at ../../lib/local-stack/manifests; from source
 * (actions/lib/local-stack/stack.ts) at ./manifests.
 */
export function manifestsDir(): string {
  const configured = localStackManifests();
  if (configured) return configured;
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [['..', '..', 'lib', 'local-stack', 'manifests'], ['manifests']].map((p) => resolve(here, ...p));
  const found = candidates.find((c) => existsSync(join(c, 'mlflow', 'kustomization.yaml')));
  if (!found) throw new ActionError(`The local stack's manifests were not found next to the action (looked in ${candidates.join(', ')}).`, { fix: 'Use the action from a full checkout of mlabs-actions (`uses: mlabs/mlabs-actions/actions/local-stack@v1`).' });
  return found;
}

export interface StackOptions {
  kubeconfig: string;
  components: Component[];
  nimModel: string;
  ngcKey: string;
  timeoutMs: number;
  tempDir: string;
  ollamaModels: string[];
}

export interface ComponentResult {
  component: Component;
  namespace: string;
  version: string;
  images: string[];
  architecture: string;
  requests: string;
  /** deployed | unchanged | failed | absent | removed | ready | not-ready */
  status: string;
  health: string;
  url: string;
  tunnel: string;
  changed: string[];
  error?: string;
}

const RUNNER_HOST = (): string => sshHost() ?? hostname();

function endpointOf(spec: ComponentSpec, node: NodeFacts | undefined): { url: string; tunnel: string } {
  const ep = spec.endpoints[0];
  if (!ep) return { url: '', tunnel: '' };
  const url = `http://${ep.service}.${spec.namespace}.svc.cluster.local:${ep.port}`;
  let user: string;
  try {
    user = `${userInfo().username}@`;
  } catch {
    user = '';
  }
  const tunnel = ep.nodePort && node
    ? `ssh -N -L ${ep.port}:${node.internalIp}:${ep.nodePort} ${user}${RUNNER_HOST()}`
    : `ssh -N -L ${ep.port}:127.0.0.1:${ep.port} ${user}${RUNNER_HOST()}  # after: kubectl -n ${spec.namespace} port-forward svc/${ep.service} ${ep.port}:${ep.port}`;
  return { url, tunnel };
}

// ---- the node ------------------------------------------------------------------------------------

function podRequests(p: KubeObject): Requests {
  const spec = (p.spec ?? {}) as { containers?: { resources?: { requests?: Record<string, string>; limits?: Record<string, string> } }[] };
  const r: Requests = { cpuMilli: 0, memory: 0, gpu: 0 };
  for (const c of spec.containers ?? []) {
    const req = { ...(c.resources?.limits ?? {}), ...(c.resources?.requests ?? {}) };
    if (req.cpu) r.cpuMilli += req.cpu.endsWith('m') ? Number(req.cpu.slice(0, -1)) : Number(req.cpu) * 1000;
    if (req.memory) r.memory += parseMem(req.memory);
    r.gpu += Number(c.resources?.limits?.['nvidia.com/gpu'] ?? c.resources?.requests?.['nvidia.com/gpu'] ?? 0);
  }
  return r;
}

function parseMem(q: string): number {
  const m = /^([0-9.]+)([A-Za-z]*)$/.exec(q);
  const u: Record<string, number> = { '': 1, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, Ti: 1024 ** 4, k: 1e3, M: 1e6, G: 1e9, T: 1e12 };
  return m ? Number(m[1]) * (u[m[2] as string] ?? 1) : 0;
}

/** The machine's node and what pods outside `exclude` namespaces already request on it. */
export async function readNode(k: Kubectl, excludeNamespaces: string[]): Promise<NodeFacts> {
  const nodes = await k.list('nodes', undefined, 'Reading the cluster nodes');
  const node = nodes.find((n) => ((n.status as { conditions?: { type: string; status: string }[] } | undefined)?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True')) ?? nodes[0];
  if (!node) throw new ActionError('The cluster reports no node.', { fix: 'Check `minikube status` on the machine.' });
  const pods = await k.list('pods', undefined, 'Reading the pods on the node');
  const used: Requests = { cpuMilli: 0, memory: 0, gpu: 0 };
  for (const p of pods) {
    const phase = String((p.status as { phase?: string } | undefined)?.phase ?? '');
    if (['Succeeded', 'Failed'].includes(phase) || excludeNamespaces.includes(p.metadata.namespace ?? '')) continue;
    if ((p.spec as { nodeName?: string } | undefined)?.nodeName !== node.metadata.name) continue;
    const r = podRequests(p);
    used.cpuMilli += r.cpuMilli;
    used.memory += r.memory;
    used.gpu += r.gpu;
  }
  return nodeFacts(node as unknown as Parameters<typeof nodeFacts>[0], used);
}

/** Wait (bounded) for the NVIDIA device plugin to make nvidia.com/gpu allocatable. */
async function waitForGpu(k: Kubectl, node: NodeFacts, exclude: string[], deadline: number): Promise<NodeFacts> {
  let n = node;
  while (n.allocatable.gpu < 1 && Date.now() < deadline) {
    info(`waiting for the NVIDIA device plugin: node ${n.name} has no allocatable nvidia.com/gpu yet`);
    await sleep(3000);
    n = await readNode(k, exclude);
  }
  return n;
}

// ---- rendering -----------------------------------------------------------------------------------

/** An overlay in the temp dir: the suite's base, the node's images, the matrix's requests. */
export function overlay(spec: ComponentSpec, images: ComponentSpec['images'][keyof ComponentSpec['images']], base: string, dir: string): string {
  mkdirSync(dir, { recursive: true });
  const patches = Object.entries(spec.containers).map(([container, c]) => ({
    target: { kind: c.kind, name: c.workload },
    patch: JSON.stringify({
      apiVersion: 'apps/v1', kind: c.kind, metadata: { name: c.workload },
      spec: { template: { spec: { containers: [{ name: container, resources: {
        requests: { cpu: c.cpu, memory: c.memory, ...(c.gpu ? { 'nvidia.com/gpu': String(c.gpu) } : {}) },
        limits: { memory: c.memory, ...(c.gpu ? { 'nvidia.com/gpu': String(c.gpu) } : {}) },
      } }] } } },
    }),
  }));
  const k = {
    apiVersion: 'kustomize.config.k8s.io/v1beta1',
    kind: 'Kustomization',
    resources: [relative(dir, base)],
    images: (images ?? []).filter((i) => i.placeholder.startsWith('mlabs/')).map((i) => ({ name: i.placeholder, newName: i.name, newTag: i.tag })),
    ...(patches.length ? { patches } : {}),
  };
  writeFileSync(join(dir, 'kustomization.yaml'), JSON.stringify(k, null, 2));
  return dir;
}

// ---- secrets -------------------------------------------------------------------------------------

const b64 = (s: string): string => Buffer.from(s).toString('base64');

function secretObject(namespace: string, name: string, component: Component, data: Record<string, string>, type = 'Opaque'): string {
  const encoded: Record<string, string> = {};
  for (const [k, v] of Object.entries(data)) {
    encoded[k] = b64(v);
    setSecret(encoded[k]);
  }
  return JSON.stringify({
    apiVersion: 'v1', kind: 'Secret', type,
    metadata: { name, namespace, labels: { 'app.kubernetes.io/managed-by': MANAGED_BY, 'app.kubernetes.io/part-of': 'mlabs-local-stack', 'mlabs.dev/component': component, 'mlabs.dev/keep': 'true' } },
    data: encoded,
  });
}

async function ensureNamespace(k: Kubectl, spec: ComponentSpec): Promise<void> {
  await k.apply(JSON.stringify({
    apiVersion: 'v1', kind: 'Namespace',
    metadata: { name: spec.namespace, labels: { 'app.kubernetes.io/managed-by': MANAGED_BY, 'app.kubernetes.io/part-of': 'mlabs-local-stack', 'mlabs.dev/component': spec.name } },
  }), `${spec.name}: creating namespace ${spec.namespace}`);
}

/** Secrets a component needs; generated credentials are created once and then reused (the data behind them depends on them). */
async function ensureSecrets(k: Kubectl, spec: ComponentSpec, ngcKey: string): Promise<string[]> {
  const made: string[] = [];
  if (spec.name === 'mlflow') {
    const have = await k.run(['get', 'secret', 'mlflow-minio', '-n', spec.namespace, '--ignore-not-found', '-o', 'name']);
    if (!have.stdout.trim()) {
      const user = `mlflow-${randomBytes(4).toString('hex')}`;
      const password = randomBytes(24).toString('base64url');
      setSecret(password);
      await k.apply(secretObject(spec.namespace, 'mlflow-minio', spec.name, { MINIO_ROOT_USER: user, MINIO_ROOT_PASSWORD: password }), 'mlflow: creating the MinIO credentials Secret');
      made.push('Secret/mlflow-minio (generated)');
    }
  }
  if (spec.needsNgcKey) {
    const auth = b64(`$oauthtoken:${ngcKey}`);
    setSecret(auth);
    const dockerconfig = JSON.stringify({ auths: { 'nvcr.io': { username: '$oauthtoken', password: ngcKey, auth } } });
    setSecret(dockerconfig);
    const before = await k.current([secretObject(spec.namespace, 'ngc-registry', spec.name, { '.dockerconfigjson': dockerconfig }, 'kubernetes.io/dockerconfigjson'), secretObject(spec.namespace, 'ngc-api', spec.name, { NGC_API_KEY: ngcKey })].join('\n'));
    const want = {
      'ngc-registry': secretObject(spec.namespace, 'ngc-registry', spec.name, { '.dockerconfigjson': dockerconfig }, 'kubernetes.io/dockerconfigjson'),
      'ngc-api': secretObject(spec.namespace, 'ngc-api', spec.name, { NGC_API_KEY: ngcKey }),
    };
    for (const [name, obj] of Object.entries(want)) {
      const cur = before.find((o) => o.metadata.name === name) as (KubeObject & { data?: Record<string, string> }) | undefined;
      const wantData = (JSON.parse(obj) as { data: Record<string, string> }).data;
      if (cur && JSON.stringify(cur.data) === JSON.stringify(wantData)) continue;
      await k.apply(obj, `${spec.name}: writing the NGC Secret ${name}`);
      made.push(`Secret/${name}`);
    }
  }
  return made;
}

// ---- apply, wait, check --------------------------------------------------------------------------

async function applyManifest(k: Kubectl, manifest: string, what: string): Promise<string[]> {
  const before = new Map((await k.current(manifest)).map((o) => [keyOf(o), desiredPart(o)]));
  await k.apply(manifest, what);
  const after = await k.current(manifest);
  return after.filter((o) => before.get(keyOf(o)) !== desiredPart(o)).map((o) => `${o.kind}/${o.metadata.name}${before.has(keyOf(o)) ? ' (changed)' : ' (created)'}`);
}

async function applyComponent(k: Kubectl, spec: ComponentSpec, node: NodeFacts, opts: StackOptions): Promise<string[]> {
  const changed: string[] = [];
  const base = join(manifestsDir(), spec.name);
  await ensureNamespace(k, spec);
  changed.push(...(await ensureSecrets(k, spec, opts.ngcKey)));
  if (spec.install === 'kustomize') {
    const dir = overlay(spec, spec.images[node.platform], base, join(opts.tempDir, 'overlays', spec.name));
    const manifest = await k.must(['kustomize', dir], `${spec.name}: kubectl kustomize`);
    changed.push(...(await applyManifest(k, manifest, `${spec.name}: kubectl apply --server-side`)));
  } else if (spec.install === 'helm') {
    const manifest = await k.must(['kustomize', base], `${spec.name}: kubectl kustomize`);
    changed.push(...(await applyManifest(k, manifest, `${spec.name}: kubectl apply --server-side`)));
    const r = await installNemo(opts.kubeconfig, opts.ngcKey, opts.tempDir, Math.ceil(opts.timeoutMs / 1000));
    if (r.action !== 'unchanged') changed.push(`helm release nemo (${r.action})`);
  } else {
    const manifest = await k.must(['kustomize', base], `${spec.name}: kubectl kustomize`);
    changed.push(...(await applyManifest(k, manifest, `${spec.name}: kubectl apply --server-side`)));
    const mirror = kfpMirror();
    for (const [i, src] of KFP.sources.entries()) {
      const from = mirror ? join(mirror, i === 0 ? 'cluster-scoped-resources' : 'env/platform-agnostic') : src;
      const tree = await k.must(['kustomize', from], `kfp: kubectl kustomize ${from}`);
      changed.push(...(await applyManifest(k, tree, `kfp: kubectl apply --server-side (${from})`)));
      if (i === 0) await k.run(['wait', '--for', 'condition=established', '--timeout=60s', 'crd', '--all'], { log: true });
    }
  }
  return changed;
}

interface PodJson extends KubeObject {
  status?: { phase?: string; conditions?: { type: string; status: string; reason?: string; message?: string }[]; containerStatuses?: { name: string; state?: { waiting?: { reason?: string; message?: string } } }[]; initContainerStatuses?: { name: string; state?: { waiting?: { reason?: string; message?: string } } }[] };
}

/** Wait until every Deployment/StatefulSet of the component is rolled out; fail fast on a pod that cannot start. */
export async function waitForRollout(k: Kubectl, spec: ComponentSpec, deadline: number): Promise<void> {
  let last = '';
  for (;;) {
    const items = await k.list('deployments,statefulsets,pods', spec.namespace, `${spec.name}: reading workloads`);
    const pods = items.filter((o) => o.kind === 'Pod') as PodJson[];
    for (const p of pods) {
      for (const cs of [...(p.status?.initContainerStatuses ?? []), ...(p.status?.containerStatuses ?? [])]) {
        const w = cs.state?.waiting;
        if (w?.reason && FAILING.has(w.reason)) {
          throw new ActionError(`${spec.name}: pod ${p.metadata.name} cannot start: ${w.reason}${w.message ? ` (${w.message})` : ''}.`, {
            fix: w.reason.includes('Image') ? 'Check the image exists for this architecture and that the pull secret (NGC key) can read it.' : 'Check the pod with `kubectl describe pod` and `kubectl logs` on the machine.',
          });
        }
      }
    }
    const pending: string[] = [];
    for (const o of items) {
      if (o.kind === 'Pod') continue;
      const want = Number((o.spec as { replicas?: number } | undefined)?.replicas ?? 1);
      const st = (o.status ?? {}) as { observedGeneration?: number; updatedReplicas?: number; availableReplicas?: number; readyReplicas?: number; replicas?: number };
      const done = o.kind === 'Deployment'
        ? (st.observedGeneration ?? 0) >= (o.metadata.generation ?? 0) && (st.updatedReplicas ?? 0) >= want && (st.availableReplicas ?? 0) >= want && (st.replicas ?? 0) <= want
        : (st.readyReplicas ?? 0) >= want && (st.updatedReplicas ?? st.readyReplicas ?? 0) >= want;
      if (!done) pending.push(`${o.kind.toLowerCase()}/${o.metadata.name} ${st.readyReplicas ?? 0}/${want} ready`);
    }
    if (!pending.length) return;
    const unsched = pods.flatMap((p) => (p.status?.conditions ?? []).filter((c) => c.type === 'PodScheduled' && c.status === 'False').map((c) => `pod ${p.metadata.name}: ${c.reason ?? ''} ${c.message ?? ''}`.trim()));
    const podStates = pods.length
      ? pods.map((p) => `pod ${p.metadata.name} ${p.status?.phase ?? 'Pending'}${(p.status?.containerStatuses ?? []).map((c) => (c.state?.waiting?.reason ? ` ${c.state.waiting.reason}` : '')).join('')}`)
      : ['no pods yet'];
    const now = [...pending, ...(unsched.length ? unsched : podStates)].join('; ');
    if (now !== last) info(`${spec.name}: waiting for ${now}`);
    last = now;
    if (Date.now() > deadline) throw new ActionError(`${spec.name}: not rolled out before the timeout: ${now}.`, { fix: 'Raise `timeout`, or check the pods on the machine.' });
    await sleep(500);
  }
}

/** Health through the API server's service proxy: one line per check. */
export async function healthOf(k: Kubectl, spec: ComponentSpec, deadline: number): Promise<{ ok: boolean; text: string }> {
  const parts: string[] = [];
  let ok = true;
  for (const h of spec.health) {
    const path = `/api/v1/namespaces/${spec.namespace}/services/${h.service}:${h.port}/proxy${h.path}`;
    let r = await k.run(['get', '--raw', path]);
    while (r.code !== 0 && Date.now() < deadline) {
      await sleep(1000);
      r = await k.run(['get', '--raw', path]);
    }
    if (r.code === 0) parts.push(`${h.service} ${h.path} ok`);
    else {
      ok = false;
      parts.push(`${h.service} ${h.path} failing: ${(r.stderr.split('\n').find((l) => l.trim()) ?? '').replace(/^Error from server \(\w+\): /, '').trim()}`);
    }
  }
  return { ok, text: parts.join('; ') };
}

async function pullModels(k: Kubectl, models: string[]): Promise<void> {
  for (const model of models) {
    info(`ollama: pulling ${model}`);
    const r = await k.run(['create', '--raw', '/api/v1/namespaces/ollama/services/ollama:11434/proxy/api/pull', '-f', '-'], { input: JSON.stringify({ model, stream: true }) });
    if (r.code !== 0) throw new ActionError(`ollama: pulling ${model} failed: ${r.stderr.trim()}`);
    let lastStatus = '';
    for (const line of r.stdout.split('\n').filter(Boolean)) {
      try {
        const ev = JSON.parse(line) as { status?: string; completed?: number; total?: number; error?: string };
        if (ev.error) throw new ActionError(`ollama: pulling ${model} failed: ${ev.error}`);
        const pct = ev.total ? ` ${Math.floor(((ev.completed ?? 0) / ev.total) * 100)}%` : '';
        const s = `${ev.status ?? ''}${pct}`;
        if (s !== lastStatus) info(`ollama ${model}: ${s}`);
        lastStatus = s;
      } catch (err) {
        if (err instanceof ActionError) throw err;
      }
    }
    if (lastStatus !== 'success') throw new ActionError(`ollama: pulling ${model} did not finish (last status: ${lastStatus || 'none'}).`);
  }
}

function resultBase(spec: ComponentSpec, node: NodeFacts | undefined): ComponentResult {
  const imgs = node ? (spec.images[node.platform] ?? []) : [];
  return {
    component: spec.name, namespace: spec.namespace, version: spec.version,
    images: imgs.map(imageRef), architecture: node ? `${node.platform} (${node.arch})` : '', requests: formatRequests(spec.requests),
    status: '', health: '', ...endpointOf(spec, node), changed: [],
  };
}

export class Refusal extends ActionError {
  constructor(message: string, readonly table: string, fix: string) {
    super(`${message}\n${table}`, { fix });
  }
}

/** Assess the asked components against the node; refuse with the table before anything is applied. */
export async function assessOrRefuse(k: Kubectl, components: Component[], nimModel: string, timeoutMs: number): Promise<NodeFacts> {
  const specs = componentSpecs(nimModel);
  const exclude = components.map((c) => specs[c].namespace);
  let node = await readNode(k, exclude);
  const wantsGpu = components.some((c) => specs[c].requests.gpu > 0 || specs[c].needsGpuNode);
  if (wantsGpu && node.allocatable.gpu < 1 && node.arch !== 'unknown' && /nvidia/i.test(node.gpuProduct || 'nvidia')) {
    node = await waitForGpu(k, node, exclude, Date.now() + Math.min(timeoutMs, 120_000));
  }
  const a = assess(components, node, specs);
  info(supportTable(a, node));
  if (!a.ok) {
    const refused = a.verdicts.filter((v) => !v.supported).map((v) => v.component);
    throw new Refusal(
      refused.length ? `Refused before anything was applied: ${refused.join(', ')} cannot run on ${node.name}.` : `Refused before anything was applied: the components' requests do not fit on ${node.name} (${a.misfit.join('; ')}).`,
      supportTable(a, node),
      'Ask only for components the table marks supported, and fewer at once when they do not fit (GPU components each take a whole GPU).',
    );
  }
  return node;
}

export async function deploy(opts: StackOptions): Promise<{ node: NodeFacts; results: ComponentResult[] }> {
  const k = new Kubectl(opts.kubeconfig);
  const specs = componentSpecs(opts.nimModel);
  const deadline = Date.now() + opts.timeoutMs;
  const node = await assessOrRefuse(k, opts.components, opts.nimModel, opts.timeoutMs);
  const results: ComponentResult[] = [];
  for (const c of deployOrder(opts.components)) {
    const spec = specs[c];
    const res = resultBase(spec, node);
    results.push(res);
    try {
      res.changed = await applyComponent(k, spec, node, opts);
      info(`${c}: ${res.changed.length ? `applied (${res.changed.join(', ')})` : 'no changes'}`);
    } catch (err) {
      res.status = 'failed';
      res.error = (err as Error).message;
      warning(res.error);
    }
  }
  for (const res of results) {
    if (res.status === 'failed') continue;
    const spec = specs[res.component];
    try {
      await waitForRollout(k, spec, deadline);
      const h = await healthOf(k, spec, Math.min(deadline, Date.now() + 30_000));
      res.health = h.text;
      res.status = h.ok ? (res.changed.length ? 'deployed' : 'unchanged') : 'unhealthy';
      if (!h.ok) res.error = `${res.component}: health check failing: ${h.text}`;
      if (h.ok && res.component === 'ollama' && opts.ollamaModels.length) await pullModels(k, opts.ollamaModels);
    } catch (err) {
      res.status = 'failed';
      res.error = (err as Error).message;
    }
  }
  return { node, results };
}

export async function undeploy(opts: StackOptions & { purge: boolean }): Promise<ComponentResult[]> {
  const k = new Kubectl(opts.kubeconfig);
  const specs = componentSpecs(opts.nimModel);
  const deadline = Date.now() + opts.timeoutMs;
  const results: ComponentResult[] = [];
  const timeoutArg = `--timeout=${Math.ceil(opts.timeoutMs / 1000)}s`;
  for (const c of deployOrder(opts.components).reverse()) {
    const spec = specs[c];
    const res = resultBase(spec, undefined);
    results.push(res);
    const ns = await k.run(['get', 'namespace', spec.namespace, '--ignore-not-found', '-o', 'name']);
    if (!ns.stdout.trim()) {
      res.status = 'absent';
      continue;
    }
    if (spec.install === 'helm' && (await uninstallNemo(opts.kubeconfig, Math.ceil(opts.timeoutMs / 1000)))) res.changed.push('helm release nemo (uninstalled)');
    if (opts.purge) {
      await k.must(['delete', 'namespace', spec.namespace, '--ignore-not-found', '--wait=true', timeoutArg], `${c}: deleting namespace ${spec.namespace}`, { log: true });
      res.changed.push(`Namespace/${spec.namespace} with its PersistentVolumeClaims (purged)`);
    } else {
      const selector = spec.install === 'kustomize' ? ['-l', `app.kubernetes.io/managed-by=${MANAGED_BY}`] : ['--all'];
      const out = await k.must(['delete', 'deployments,statefulsets,daemonsets,jobs,services', '-n', spec.namespace, ...selector, '--ignore-not-found', '--wait=true', timeoutArg], `${c}: deleting workloads`, { log: true });
      // kubectl prints `kind/name deleted` per object, and "No resources found" when there was none.
      res.changed.push(...out.split('\n').filter((l) => /\bdeleted\b/.test(l)));
    }
    // Gone means gone: no pod of the component is left.
    for (;;) {
      const left = await k.run(['get', 'pods', '-n', spec.namespace, '-o', 'name']);
      if (!left.stdout.trim() || left.code !== 0) break;
      if (Date.now() > deadline) throw new ActionError(`${c}: pods still present after the timeout: ${left.stdout.trim().split('\n').join(', ')}`);
      await sleep(500);
    }
    const pvcs = opts.purge ? [] : (await k.list('persistentvolumeclaims', spec.namespace, `${c}: listing kept volumes`)).map((p) => p.metadata.name);
    res.status = 'removed';
    res.health = opts.purge ? 'data purged' : pvcs.length ? `kept PVCs: ${pvcs.join(', ')}` : 'no PVCs';
  }
  return results;
}

export async function status(opts: StackOptions): Promise<{ node: NodeFacts; results: ComponentResult[] }> {
  const k = new Kubectl(opts.kubeconfig);
  const specs = componentSpecs(opts.nimModel);
  const node = await readNode(k, []);
  const results: ComponentResult[] = [];
  for (const c of deployOrder(opts.components)) {
    const spec = specs[c];
    const res = resultBase(spec, node);
    results.push(res);
    const ns = await k.run(['get', 'namespace', spec.namespace, '--ignore-not-found', '-o', 'name']);
    if (!ns.stdout.trim()) {
      res.status = 'absent';
      continue;
    }
    const items = await k.list('deployments,statefulsets', spec.namespace, `${c}: reading workloads`);
    const notReady = items.filter((o) => Number((o.status as { readyReplicas?: number } | undefined)?.readyReplicas ?? 0) < Number((o.spec as { replicas?: number } | undefined)?.replicas ?? 1));
    const running = items.flatMap((o) => ((o.spec as { template?: { spec?: { containers?: { image: string }[] } } } | undefined)?.template?.spec?.containers ?? []).map((x) => x.image));
    if (running.length) res.images = running;
    if (!items.length) {
      res.status = 'absent';
      res.health = 'not deployed (namespace and data kept)';
      continue;
    }
    res.status = notReady.length ? 'not-ready' : 'ready';
    res.health = (await healthOf(k, spec, Date.now())).text;
  }
  return { node, results };
}
