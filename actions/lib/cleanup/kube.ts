/**
 * The little of the Kubernetes API cost-cleanup reads: nodes and pods (GET, JSON), over HTTPS with
 * the cluster's own CA. Credentials come from a kubeconfig file (token, token file, client
 * certificate, or an exec plugin such as gke-gcloud-auth-plugin, for which the Google token is
 * used), or from the GKE cluster itself: `https://` + `endpoint`, `masterAuth.clusterCaCertificate`
 * and the Google access token, which is what `gcloud container clusters get-credentials` sets up.
 * (actions/lib/kubernetes/client.ts did not exist when this was written; move there when it does.)
 */
import { readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { parse as parseYaml } from 'yaml';
import { ActionError } from '../errors.js';
import { ApiError, defaultRetry } from '../http.js';
import { getAccessToken } from '../google/auth.js';
import { getCluster, type ClusterRef } from '../google/container.js';
import { debug, warning } from '../runner.js';

export interface KubeAccess {
  server: string;
  caPem?: string;
  insecure?: boolean;
  token?: () => Promise<string>;
  cert?: string;
  key?: string;
}

type Json = Record<string, unknown>;

export interface KubeNode {
  name: string;
  labels: Record<string, string>;
  creationTimestamp: string;
}

export interface KubePod {
  namespace: string;
  name: string;
  nodeName?: string;
  phase: string;
  gpus: number;
  /** Last time a container of the pod stopped (finished pods), else undefined. */
  finishedAt?: string;
  startTime?: string;
}

const b64 = (s: string): string => Buffer.from(s, 'base64').toString('utf8');

/** Read a kubeconfig file's current context. */
export function accessFromKubeconfig(path: string): KubeAccess {
  let doc: Json;
  try {
    doc = parseYaml(readFileSync(path, 'utf8')) as Json;
  } catch (err) {
    throw new ActionError(`Cannot read kubeconfig ${path}: ${(err as Error).message}`, { fix: 'Pass a readable kubeconfig file, or leave kubeconfig empty to use the GKE cluster endpoint.' });
  }
  const named = (list: unknown, name: unknown): Json | undefined => ((list as Json[] | undefined) ?? []).find((x) => x.name === name);
  const contextName = doc['current-context'];
  const context = (named(doc.contexts, contextName)?.context ?? ((doc.contexts as Json[] | undefined)?.[0]?.context)) as Json | undefined;
  const cluster = (named(doc.clusters, context?.cluster)?.cluster ?? {}) as Json;
  const user = (named(doc.users, context?.user)?.user ?? {}) as Json;
  if (!cluster.server) throw new ActionError(`kubeconfig ${path} names no server for context ${String(contextName)}.`);
  const access: KubeAccess = { server: String(cluster.server).replace(/\/+$/, '') };
  if (cluster['certificate-authority-data']) access.caPem = b64(String(cluster['certificate-authority-data']));
  else if (cluster['certificate-authority']) access.caPem = readFileSync(String(cluster['certificate-authority']), 'utf8');
  if (cluster['insecure-skip-tls-verify'] === true) access.insecure = true;
  if (user.token) {
    const t = String(user.token);
    access.token = () => Promise.resolve(t);
  } else if (user.tokenFile) {
    const f = String(user.tokenFile);
    access.token = () => Promise.resolve(readFileSync(f, 'utf8').trim());
  } else if (user.exec) {
    // gke-gcloud-auth-plugin and friends: what they return is the Google access token.
    access.token = getAccessToken;
  }
  if (user['client-certificate-data']) access.cert = b64(String(user['client-certificate-data']));
  if (user['client-key-data']) access.key = b64(String(user['client-key-data']));
  return access;
}

/** The GKE cluster's endpoint and CA, with the Google token. */
export async function accessFromGke(ref: ClusterRef): Promise<KubeAccess> {
  const cluster = await getCluster(ref);
  const endpoint = String(cluster.endpoint ?? '');
  const ca = (cluster.masterAuth as { clusterCaCertificate?: string } | undefined)?.clusterCaCertificate;
  if (!endpoint) {
    throw new ActionError(`Cluster ${ref.cluster} has no endpoint (status ${cluster.status ?? 'unknown'}).`, { fix: 'Wait until the cluster is RUNNING, or pass a kubeconfig.' });
  }
  return { server: `https://${endpoint}`, caPem: ca ? b64(ca) : undefined, token: getAccessToken };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function getOnce(access: KubeAccess, path: string): Promise<{ status: number; text: string }> {
  const token = access.token ? await access.token() : undefined;
  const url = new URL(access.server + path);
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      url,
      {
        method: 'GET',
        headers: { accept: 'application/json', 'user-agent': 'mlabs-actions', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        ca: access.caPem,
        cert: access.cert,
        key: access.key,
        rejectUnauthorized: !access.insecure,
        timeout: 60_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end();
  });
}

/** GET a Kubernetes path as JSON, retrying 429/5xx and network errors like http.ts does. */
export async function kubeGet<T>(access: KubeAccess, path: string): Promise<T> {
  const policy = defaultRetry();
  for (let attempt = 0; ; attempt++) {
    let res: { status: number; text: string };
    try {
      res = await getOnce(access, path);
    } catch (err) {
      if (attempt + 1 >= policy.attempts) {
        throw new ActionError(`Kubernetes API ${access.server} unreachable: ${(err as Error).message}`, { fix: 'Check the kubeconfig input, or that the runner can reach the cluster endpoint (authorized networks).' });
      }
      await sleep(Math.random() * Math.min(policy.capMs, policy.baseMs * 2 ** attempt));
      continue;
    }
    debug(`GET ${path} -> ${res.status}`);
    if (res.status >= 200 && res.status < 300) return JSON.parse(res.text) as T;
    let message = res.text.slice(0, 300);
    try {
      message = String((JSON.parse(res.text) as { message?: string }).message ?? message);
    } catch {
      /* not JSON */
    }
    if ([429, 500, 502, 503, 504].includes(res.status) && attempt + 1 < policy.attempts) {
      warning(`Kubernetes GET ${path} answered ${res.status}; retrying`);
      await sleep(Math.random() * Math.min(policy.capMs, policy.baseMs * 2 ** attempt));
      continue;
    }
    if (res.status === 401 || res.status === 403) {
      throw new ActionError(`Kubernetes API refused GET ${path} (${res.status}): ${message}`, { fix: 'The identity needs read access to nodes and pods (roles/container.viewer, or a ClusterRole with get/list on nodes and pods).' });
    }
    throw new ApiError('GET', access.server + path, res.status, String(res.status), message);
  }
}

async function listAllKube(access: KubeAccess, path: string): Promise<Json[]> {
  const out: Json[] = [];
  let cont: string | undefined;
  do {
    const page = await kubeGet<{ items?: Json[]; metadata?: { continue?: string } }>(access, `${path}?limit=500${cont ? `&continue=${encodeURIComponent(cont)}` : ''}`);
    out.push(...(page.items ?? []));
    cont = page.metadata?.continue || undefined;
  } while (cont);
  return out;
}

export async function listNodes(access: KubeAccess): Promise<KubeNode[]> {
  return (await listAllKube(access, '/api/v1/nodes')).map((n) => {
    const m = (n.metadata ?? {}) as Json;
    return { name: String(m.name), labels: (m.labels as Record<string, string> | undefined) ?? {}, creationTimestamp: String(m.creationTimestamp ?? '') };
  });
}

/** GPUs a pod asks for: the larger of requests and limits of nvidia.com/gpu, summed over containers (init containers: the max). */
export function podGpus(pod: Json): number {
  const spec = (pod.spec ?? {}) as Json;
  const of = (c: Json): number => {
    const r = (c.resources ?? {}) as { requests?: Record<string, string>; limits?: Record<string, string> };
    return Math.max(Number(r.requests?.['nvidia.com/gpu'] ?? 0), Number(r.limits?.['nvidia.com/gpu'] ?? 0));
  };
  const main = ((spec.containers as Json[] | undefined) ?? []).reduce((a, c) => a + of(c), 0);
  const init = ((spec.initContainers as Json[] | undefined) ?? []).reduce((a, c) => Math.max(a, of(c)), 0);
  return Math.max(main, init);
}

export async function listPods(access: KubeAccess): Promise<KubePod[]> {
  return (await listAllKube(access, '/api/v1/pods')).map((p) => {
    const m = (p.metadata ?? {}) as Json;
    const spec = (p.spec ?? {}) as Json;
    const status = (p.status ?? {}) as Json;
    const finished = ((status.containerStatuses as Json[] | undefined) ?? [])
      .map((c) => ((c.state as Json | undefined)?.terminated as Json | undefined)?.finishedAt)
      .filter((t): t is string => typeof t === 'string')
      .sort();
    return {
      namespace: String(m.namespace ?? ''),
      name: String(m.name ?? ''),
      nodeName: spec.nodeName ? String(spec.nodeName) : undefined,
      phase: String(status.phase ?? 'Pending'),
      gpus: podGpus(p),
      finishedAt: finished[finished.length - 1],
      startTime: status.startTime ? String(status.startTime) : undefined,
    };
  });
}
