/**
 * A small typed Kubernetes client for the suite's actions: a kubeconfig's current context (server,
 * CA, bearer token / token file / client certificate / exec plugin such as gke-gcloud-auth-plugin),
 * then get, list (label and field selectors, paged), server-side apply, delete, waitFor and the
 * service proxy, over node's https with the cluster's CA. Errors and retries are http.ts's: a Kubernetes Status
 * becomes a KubeApiError (an ApiError), and 429/500/502/503/504 and network errors are retried with
 * capped exponential backoff and full jitter, honouring Retry-After.
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
// node:https is loaded on first use (and node:child_process by runTool): loading them costs more than the rest of a bundle's start.
import { ActionError, describeError } from '../errors.js';
import { ApiError, defaultRetry, isNotFound, withRetries, type RetryPolicy } from '../http.js';
import { debug, setSecret } from '../runner.js';
import { sleep } from '../time.js';
import { runTool } from '../tools/exec.js';

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string>; uid?: string; resourceVersion?: string; generation?: number; [k: string]: unknown };
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
  [k: string]: unknown;
}

/** Which objects: `{ apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'ml' }` (namespace left out: all, or cluster-scoped). */
export interface ResourceRef {
  apiVersion: string;
  kind: string;
  namespace?: string;
}

export interface KubeConfig {
  /** https://host:port, no trailing slash. */
  server: string;
  /** PEM of the cluster CA; undefined = the system's CAs. */
  caPem?: string;
  /** Client certificate and key (PEM), e.g. minikube's. */
  certPem?: string;
  keyPem?: string;
  /** Bearer token source (static, file or exec plugin); refreshed once on a 401 when `refresh` is set. */
  token?: (refresh?: boolean) => Promise<string>;
  /** The context's default namespace. */
  namespace: string;
  context: string;
}

/** A Kubernetes `Status` answer: httpStatus = code, status = reason = Status.reason (NotFound, Conflict, ...). */
export class KubeApiError extends ApiError {
  constructor(method: string, url: string, httpStatus: number, reason: string, message: string, body?: unknown) {
    super(method, url, httpStatus, reason, message, reason, body);
    this.name = 'KubeApiError';
  }
}

type Json = Record<string, unknown>;

const b64 = (s: string): string => Buffer.from(s, 'base64').toString('utf8');

function readFile(path: string, what: string, kubeconfig: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new ActionError(`Cannot read the ${what} ${path} named by kubeconfig ${kubeconfig}: ${describeError(err)}`, { fix: 'Check the kubeconfig input: its files must exist on the runner.' });
  }
}

/** Run a kubeconfig exec plugin (argument array, through runTool) and read its ExecCredential. */
function execToken(exec: Json, kubeconfig: string): (refresh?: boolean) => Promise<string> {
  const command = String(exec.command ?? '');
  const args = ((exec.args as unknown[] | undefined) ?? []).map(String);
  const env: Record<string, string> = {};
  for (const e of (exec.env as Json[] | undefined) ?? []) env[String(e.name)] = String(e.value ?? '');
  const apiVersion = String(exec.apiVersion ?? 'client.authentication.k8s.io/v1beta1');
  let cached: { token: string; expires: number } | undefined;
  return async (refresh = false) => {
    if (cached && !refresh && cached.expires - Date.now() > 60_000) return cached.token;
    let r: { exitCode: number; stdout: string; stderr: string };
    try {
      r = await runTool(command, args, {
        silent: true,
        env: { ...(process.env as Record<string, string>), ...env, KUBERNETES_EXEC_INFO: JSON.stringify({ apiVersion, kind: 'ExecCredential', spec: { interactive: false } }) },
      });
    } catch (err) {
      throw new ActionError(`The kubeconfig ${kubeconfig} runs ${command} for credentials, which could not be started: ${describeError(err)}`, { fix: `Install ${command} on the runner (gke-gcloud-auth-plugin comes with the Google Cloud SDK).` });
    }
    if (r.exitCode !== 0) throw new ActionError(`${command} (the kubeconfig's credential plugin) failed with exit code ${r.exitCode}: ${r.stderr.trim().slice(0, 500)}`, { fix: 'Make sure the runner is logged in (e.g. the wif-login action) before talking to the cluster.' });
    let cred: { status?: { token?: string; expirationTimestamp?: string } };
    try {
      cred = JSON.parse(r.stdout) as typeof cred;
    } catch {
      throw new ActionError(`${command} did not print an ExecCredential (JSON) on stdout.`);
    }
    const token = cred.status?.token;
    if (!token) throw new ActionError(`${command} printed an ExecCredential without status.token.`, { fix: 'Client-certificate credentials from exec plugins are not supported; use a token-based plugin.' });
    setSecret(token);
    const exp = cred.status?.expirationTimestamp ? Date.parse(cred.status.expirationTimestamp) : NaN;
    cached = { token, expires: Number.isFinite(exp) ? exp : Date.now() + 5 * 60_000 };
    return token;
  };
}

async function readKubeconfig(path: string): Promise<Json> {
  try {
    // The YAML parser is most of this client's weight: loaded only when a kubeconfig is read.
    const { parse: parseYaml } = await import('yaml');
    return (parseYaml(readFileSync(path, 'utf8')) ?? {}) as Json;
  } catch (err) {
    throw new ActionError(`Cannot read kubeconfig ${path}: ${describeError(err)}`, { fix: 'Pass the path of a readable kubeconfig file.' });
  }
}

/** Read a kubeconfig file: its current context (or `context`). */
export async function loadKubeconfig(path: string, opts: { context?: string } = {}): Promise<KubeConfig> {
  return configOf(await readKubeconfig(path), path, opts);
}

/**
 * Several kubeconfig files merged as kubectl merges `KUBECONFIG`: missing files are skipped, the first
 * file that sets `current-context` sets it, and a context, cluster or user named in more than one file
 * is the first file's.
 */
export async function loadKubeconfigs(paths: string[], opts: { context?: string } = {}): Promise<KubeConfig> {
  const present = paths.filter((p) => existsSync(p));
  if (present.length === 0) {
    throw new ActionError(`No kubeconfig: ${paths.join(', ') || '(none given)'} ${paths.length > 1 ? 'do' : 'does'} not exist.`, { fix: 'Point KUBECONFIG at a kubeconfig file (minikube, kind and gcloud container clusters get-credentials write ~/.kube/config).' });
  }
  if (present.length === 1) return loadKubeconfig(present[0] as string, opts);
  const merged: Json = { contexts: [], clusters: [], users: [] };
  for (const p of present) {
    const doc = await readKubeconfig(p);
    if (!merged['current-context'] && doc['current-context']) merged['current-context'] = doc['current-context'];
    for (const k of ['contexts', 'clusters', 'users']) (merged[k] as Json[]).push(...((doc[k] as Json[] | undefined) ?? []));
  }
  return configOf(merged, present.join(', '), opts);
}

/** The kubeconfig files kubectl reads: `KUBECONFIG` (a list, `:`-separated), else ~/.kube/config. */
export function kubeconfigPaths(env: Record<string, string | undefined> = process.env): string[] {
  const listed = (env.KUBECONFIG ?? '').split(delimiter).filter(Boolean);
  return listed.length ? listed : [join(homedir(), '.kube', 'config')];
}

/** The context's server, CA and credentials (`path` names the kubeconfig in errors). */
function configOf(doc: Json, path: string, opts: { context?: string }): KubeConfig {
  const named = (list: unknown, name: unknown): Json | undefined => ((list as Json[] | undefined) ?? []).find((x) => x.name === name);
  const contextName = opts.context ?? String(doc['current-context'] ?? '');
  const context = named(doc.contexts, contextName)?.context as Json | undefined;
  if (!context) throw new ActionError(`kubeconfig ${path} has no context ${JSON.stringify(contextName)}.`, { fix: 'Set current-context, or name an existing context.' });
  const cluster = named(doc.clusters, context.cluster)?.cluster as Json | undefined;
  if (!cluster?.server) throw new ActionError(`kubeconfig ${path}: context ${contextName} names no cluster with a server.`);
  const server = String(cluster.server).replace(/\/+$/, '');
  if (!server.startsWith('https://')) throw new ActionError(`kubeconfig ${path}: server ${server} is not https.`, { fix: 'Point the kubeconfig at the API server\'s https endpoint.' });
  const config: KubeConfig = { server, namespace: String(context.namespace ?? 'default'), context: contextName };
  if (cluster['certificate-authority-data']) config.caPem = b64(String(cluster['certificate-authority-data']));
  else if (cluster['certificate-authority']) config.caPem = readFile(String(cluster['certificate-authority']), 'CA file', path);
  else if (cluster['insecure-skip-tls-verify'] === true) {
    throw new ActionError(`kubeconfig ${path} turns TLS verification off (insecure-skip-tls-verify) and carries no CA.`, { fix: 'Add certificate-authority-data for the cluster; the suite does not talk to unverified API servers.' });
  }
  const user = (named(doc.users, context.user)?.user ?? {}) as Json;
  if (user.token) {
    const t = String(user.token);
    setSecret(t);
    config.token = () => Promise.resolve(t);
  } else if (user.tokenFile) {
    const f = String(user.tokenFile);
    config.token = () => Promise.resolve(readFile(f, 'token file', path).trim());
  } else if (user.exec) config.token = execToken(user.exec as Json, path);
  if (user['client-certificate-data']) config.certPem = b64(String(user['client-certificate-data']));
  else if (user['client-certificate']) config.certPem = readFile(String(user['client-certificate']), 'client certificate', path);
  if (user['client-key-data']) config.keyPem = b64(String(user['client-key-data']));
  else if (user['client-key']) config.keyPem = readFile(String(user['client-key']), 'client key', path);
  return config;
}

interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

export interface ListOptions {
  labelSelector?: string;
  fieldSelector?: string;
}

export interface WaitOptions {
  /** Give up after this long (ms). */
  timeoutMs: number;
  /** First pause between polls (ms, default 500), doubled up to maxIntervalMs (default 5000). */
  intervalMs?: number;
  maxIntervalMs?: number;
  /** Named in the timeout error, e.g. `deployment ml/mlflow to be available`. */
  what?: string;
}

export class KubeClient {
  private readonly resources = new Map<string, Promise<Map<string, { name: string; namespaced: boolean }>>>();

  constructor(
    readonly config: KubeConfig,
    private readonly retry: RetryPolicy | false = defaultRetry(),
  ) {}

  static async fromKubeconfig(path: string, opts: { context?: string; retry?: RetryPolicy | false } = {}): Promise<KubeClient> {
    return new KubeClient(await loadKubeconfig(path, opts), opts.retry);
  }

  /** One request, no retries. */
  private async once(method: string, path: string, body: string | undefined, headers: Record<string, string>, refresh: boolean, timeoutMs: number): Promise<RawResponse> {
    const token = this.config.token ? await this.config.token(refresh) : undefined;
    const { request: httpsRequest } = await import('node:https');
    return new Promise((resolve, reject) => {
      const req = httpsRequest(`${this.config.server}${path}`, {
        method,
        headers: { accept: 'application/json', 'user-agent': 'mlabs-actions', ...headers, ...(token ? { authorization: `Bearer ${token}` } : {}) },
        ca: this.config.caPem,
        cert: this.config.certPem,
        key: this.config.keyPem,
        timeout: timeoutMs,
      }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(Object.assign(new Error(`no answer within ${Math.round(timeoutMs / 1000)} s`), { name: 'TimeoutError' })));
      req.on('error', reject);
      req.end(body);
    });
  }

  /** A request with retries on 429/5xx and network errors; non-2xx answers become KubeApiError unless `raw`. */
  async request(method: string, path: string, opts: { body?: unknown; contentType?: string; query?: Record<string, string | boolean | number | undefined>; raw?: boolean; retry?: boolean; idempotent?: boolean } = {}): Promise<RawResponse> {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined) q.set(k, String(v));
    const qs = q.toString();
    const full = qs ? `${path}?${qs}` : path;
    const body = opts.body === undefined ? undefined : typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
    const headers: Record<string, string> = body === undefined ? {} : { 'content-type': opts.contentType ?? 'application/json' };
    const where = `${this.config.server}${path}`;
    let refreshed = false;
    // Server-side apply and the reads are idempotent; a create (POST) is retried only when it certainly did not land.
    const idempotent = opts.idempotent ?? (method !== 'POST' && !(method === 'PATCH' && headers['content-type'] !== 'application/apply-patch+yaml'));
    return withRetries<RawResponse>({ method, where, policy: this.retry === false || opts.retry === false ? false : this.retry, idempotent }, async (budget) => {
      let res = await this.once(method, full, body, headers, refreshed, budget);
      debug(`${method} ${where} -> ${res.status}`);
      if (res.status === 401 && this.config.token && !refreshed) {
        // An expired token: refresh it once (an exec plugin mints a new one) and send again.
        refreshed = true;
        res = await this.once(method, full, body, headers, refreshed, budget);
        debug(`${method} ${where} -> ${res.status}`);
      }
      if (opts.raw || (res.status >= 200 && res.status < 300)) return { ok: true, value: res };
      const ra = res.headers['retry-after'];
      return { ok: false, error: this.toError(method, path, res), retryAfter: Array.isArray(ra) ? ra[0] : ra };
    });
  }

  private toError(method: string, path: string, res: RawResponse): KubeApiError {
    let body: unknown = res.text;
    try {
      body = JSON.parse(res.text);
    } catch {
      /* not JSON */
    }
    const s = (body && typeof body === 'object' ? body : {}) as { kind?: string; reason?: string; message?: string };
    const message = s.kind === 'Status' && s.message ? s.message : typeof body === 'string' && body.trim() ? body.trim().slice(0, 300) : `HTTP ${res.status}`;
    return new KubeApiError(method, `${this.config.server}${path}`, res.status, s.kind === 'Status' && s.reason ? s.reason : String(res.status), message, body);
  }

  private async json<T>(method: string, path: string, opts: Parameters<KubeClient['request']>[2] = {}): Promise<T> {
    const res = await this.request(method, path, opts);
    return (res.text ? JSON.parse(res.text) : {}) as T;
  }

  /** The plural resource name of a kind, from the group-version's discovery document (cached). */
  private async resourceOf(apiVersion: string, kind: string): Promise<{ name: string; namespaced: boolean }> {
    let table = this.resources.get(apiVersion);
    if (!table) {
      table = this.json<{ resources?: { name: string; kind: string; namespaced: boolean }[] }>('GET', apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`).then((list) => {
        const m = new Map<string, { name: string; namespaced: boolean }>();
        for (const r of list.resources ?? []) if (!r.name.includes('/')) m.set(r.kind, { name: r.name, namespaced: r.namespaced });
        return m;
      });
      this.resources.set(apiVersion, table);
      table.catch(() => this.resources.delete(apiVersion));
    }
    const r = (await table).get(kind);
    if (!r) throw new ActionError(`The cluster at ${this.config.server} does not serve ${kind} in ${apiVersion}.`, { fix: 'Check the apiVersion and kind (or install the CustomResourceDefinition first).' });
    return r;
  }

  /** Whether the cluster serves this kind (a CustomResourceDefinition installed, e.g. JobSet or RayJob). */
  async serves(apiVersion: string, kind: string): Promise<boolean> {
    try {
      await this.resourceOf(apiVersion, kind);
      return true;
    } catch (err) {
      if (isNotFound(err) || err instanceof ActionError) return false;
      throw err;
    }
  }

  private async pathOf(ref: ResourceRef, name?: string): Promise<string> {
    const r = await this.resourceOf(ref.apiVersion, ref.kind);
    const base = ref.apiVersion.includes('/') ? `/apis/${ref.apiVersion}` : `/api/${ref.apiVersion}`;
    const ns = r.namespaced && ref.namespace ? `/namespaces/${encodeURIComponent(ref.namespace)}` : '';
    return `${base}${ns}/${r.name}${name === undefined ? '' : `/${encodeURIComponent(name)}`}`;
  }

  /** The object, or undefined when it does not exist (404). */
  async get<T extends KubeObject = KubeObject>(ref: ResourceRef, name: string): Promise<T | undefined> {
    try {
      return await this.json<T>('GET', await this.pathOf(ref, name));
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** Every object (all pages), filtered by label and field selectors. */
  async list<T extends KubeObject = KubeObject>(ref: ResourceRef, opts: ListOptions = {}): Promise<T[]> {
    const path = await this.pathOf(ref);
    const out: T[] = [];
    let cont: string | undefined;
    do {
      const page = await this.json<{ items?: T[]; metadata?: { continue?: string } }>('GET', path, { query: { labelSelector: opts.labelSelector, fieldSelector: opts.fieldSelector, limit: 500, continue: cont } });
      out.push(...(page.items ?? []));
      cont = page.metadata?.continue || undefined;
    } while (cont);
    return out;
  }

  /** Server-side apply (creates or updates); `force` takes fields other managers own. */
  async apply<T extends KubeObject = KubeObject>(obj: KubeObject, opts: { fieldManager: string; force?: boolean; dryRun?: boolean }): Promise<T> {
    const namespace = obj.metadata.namespace ?? this.config.namespace;
    const ref = { apiVersion: obj.apiVersion, kind: obj.kind, namespace };
    const { namespaced } = await this.resourceOf(obj.apiVersion, obj.kind);
    const body = namespaced ? { ...obj, metadata: { ...obj.metadata, namespace } } : obj;
    return this.json<T>('PATCH', await this.pathOf(ref, obj.metadata.name), {
      body: JSON.stringify(body), // JSON is YAML
      contentType: 'application/apply-patch+yaml',
      query: { fieldManager: opts.fieldManager, force: opts.force ? true : undefined, dryRun: opts.dryRun ? 'All' : undefined },
    });
  }

  /** Delete; false when it was already gone. */
  async delete(ref: ResourceRef, name: string, opts: { propagationPolicy?: 'Foreground' | 'Background' | 'Orphan' } = {}): Promise<boolean> {
    try {
      await this.request('DELETE', await this.pathOf(ref, name), { query: { propagationPolicy: opts.propagationPolicy } });
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  /** JSON merge patch (RFC 7386) of an object or its `status` subresource. */
  async mergePatch<T extends KubeObject = KubeObject>(ref: ResourceRef, name: string, patch: Record<string, unknown>, opts: { fieldManager?: string } = {}): Promise<T> {
    return this.json<T>('PATCH', await this.pathOf(ref, name), { body: patch, contentType: 'application/merge-patch+json', query: { fieldManager: opts.fieldManager } });
  }

  /**
   * A streaming GET (a pod's `log?follow=true`): `onLine` gets each complete line as it arrives. Resolves
   * when the server ends the stream or `signal` aborts it; a non-2xx answer is thrown as a KubeApiError.
   * No retries: the caller reconnects (e.g. with `sinceTime`).
   */
  async streamLines(path: string, query: Record<string, string | boolean | number | undefined>, onLine: (line: string) => void, signal?: AbortSignal): Promise<void> {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined) q.set(k, String(v));
    const full = `${path}?${q.toString()}`;
    const token = this.config.token ? await this.config.token(false) : undefined;
    const { request: httpsRequest } = await import('node:https');
    await new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return resolve();
      const req = httpsRequest(`${this.config.server}${full}`, {
        method: 'GET',
        headers: { accept: '*/*', 'user-agent': 'mlabs-actions', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        ca: this.config.caPem,
        cert: this.config.certPem,
        key: this.config.keyPem,
      }, (res) => {
        const status = res.statusCode ?? 0;
        if (status < 200 || status >= 300) {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => reject(this.toError('GET', path, { status, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') })));
          return;
        }
        let buf = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          buf += c;
          let i: number;
          while ((i = buf.indexOf('\n')) >= 0) {
            onLine(buf.slice(0, i));
            buf = buf.slice(i + 1);
          }
        });
        res.on('end', () => {
          if (buf) onLine(buf);
          resolve();
        });
        res.on('error', reject);
        res.on('aborted', () => resolve());
      });
      const abort = (): void => {
        req.destroy();
        resolve();
      };
      signal?.addEventListener('abort', abort, { once: true });
      req.on('error', (err) => (signal?.aborted ? resolve() : reject(err)));
      req.end();
    });
  }

  /** Poll the object with backoff until `predicate` holds (it also sees undefined: not found); returns what it accepted. */
  async waitFor<T extends KubeObject = KubeObject>(ref: ResourceRef, name: string, predicate: (obj: T | undefined) => boolean, opts: WaitOptions): Promise<T | undefined> {
    const deadline = Date.now() + opts.timeoutMs;
    let interval = opts.intervalMs ?? 500;
    for (;;) {
      const obj = await this.get<T>(ref, name);
      if (predicate(obj)) return obj;
      const left = deadline - Date.now();
      if (left <= 0) {
        const what = opts.what ?? `${ref.kind} ${ref.namespace ? `${ref.namespace}/` : ''}${name}`;
        throw new ActionError(`Timed out after ${opts.timeoutMs / 1000} s waiting for ${what}${obj ? '' : ' (it does not exist)'}.`, { fix: `Look at it with kubectl describe ${ref.kind.toLowerCase()} ${name}${ref.namespace ? ` -n ${ref.namespace}` : ''}.` });
      }
      await sleep(Math.min(interval, left));
      interval = Math.min(interval * 2, opts.maxIntervalMs ?? 5000);
    }
  }

  /** GET through the API server's service proxy; the service's own answer (a 503 when no pod is ready) is returned, not thrown. */
  async proxyGet(namespace: string, service: string, port: number | string, path: string): Promise<{ status: number; body: string }> {
    const p = `/api/v1/namespaces/${encodeURIComponent(namespace)}/services/${encodeURIComponent(service)}:${encodeURIComponent(String(port))}/proxy/${path.replace(/^\/+/, '')}`;
    const res = await this.request('GET', p, { raw: true, retry: false });
    return { status: res.status, body: res.text };
  }
}
