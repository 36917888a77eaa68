// The local GCP + GitHub sandbox: one HTTP server on 127.0.0.1 emulating the Google APIs
// the suite calls, faithfully enough that gcloud cannot tell. See README.md.
import { EventEmitter } from 'node:events';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { bindService, loadContract, missingRequired, readMessage, writeMessage } from './contracts.js';
import type { ApiModule, SandboxContext } from './context.js';
import * as errors from './errors.js';
import { GoogleError } from './errors.js';
import { FaultInjector, type FaultRule } from './faults.js';
import { IamEngine, type IamPolicySeed } from './iam/engine.js';
import { OperationEngine } from './operations.js';
import { QuotaLedger, type QuotaSeed } from './quota.js';
import { Router, type SandboxReply, type SandboxRequest } from './router.js';
import { StateStore, type SeedState } from './state.js';
import { TokenRegistry, bearerOf } from './tokens.js';

export type { SeedState } from './state.js';
export type { FaultRule } from './faults.js';
export type { SandboxContext, ApiModule } from './context.js';

const here = dirname(fileURLToPath(import.meta.url));
export const DEFAULT_SEED_FILE = join(here, 'seed', 'default.json');

export interface SandboxOptions {
  /** 0 (default) = a free port. */
  port?: number;
  /** Seed state, or a path to a JSON file. Default: seed/default.json. */
  seed?: SeedState | string;
  /** How long GKE (and other) operations stay RUNNING, in ms. Default 300. */
  operationMs?: number;
  faults?: FaultRule[];
  /** Print one line per request to stderr. */
  verbose?: boolean;
  /**
   * The checkout whose terraform/ grants the IAM policy (default: the nearest one above the
   * working directory). The seed's `iamPolicy` replaces it.
   */
  checkout?: string;
  /**
   * Who `env`'s token file (CLOUDSDK_AUTH_ACCESS_TOKEN_FILE) stands for: `ci` (default) the CI
   * service account, with exactly the roles the Terraform grants it; `admin` the sandbox's own
   * owner token (`accessToken`).
   */
  caller?: 'ci' | 'admin';
}

export interface RequestLogEntry {
  seq: number;
  /** ISO time the request arrived. */
  time: string;
  method: string;
  path: string;
  query: Record<string, string>;
  /** API id and RPC/route name, when a route matched. */
  api?: string;
  rpc?: string;
  status: number;
}

export interface Sandbox {
  url: string;
  port: number;
  /** The sandbox's own token (valid 24 h): the project's owner, for tests' set-up. */
  accessToken: string;
  /** A token of the CI service account (valid 24 h): what wif-login would obtain. */
  ciToken: string;
  /** The CI service account's email. */
  ciServiceAccount: string;
  /** IAM: the policy in force and the checks (scripts/sandbox/iam/engine.ts). */
  iam: IamEngine;
  /** File holding accessToken, for CLOUDSDK_AUTH_ACCESS_TOKEN_FILE. */
  tokenFile: string;
  /** Every variable that points gcloud and the suite at this sandbox. */
  env: Record<string, string>;
  project: { projectId: string; projectNumber: string; region: string };
  faults: FaultInjector;
  /** Every request, in arrival order. */
  requests: RequestLogEntry[];
  /** Live state sections (mutable). */
  state: Record<string, unknown>;
  ctx: SandboxContext;
  dump(): SeedState;
  stop(): Promise<void>;
}

export function loadSeed(seed: SeedState | string | undefined): SeedState {
  if (seed === undefined) return JSON.parse(readFileSync(DEFAULT_SEED_FILE, 'utf8')) as SeedState;
  if (typeof seed === 'string') return JSON.parse(readFileSync(seed, 'utf8')) as SeedState;
  return structuredClone(seed);
}

/** API modules: every scripts/sandbox/apis/*.ts (or .js) exporting `default: ApiModule`, in name order. */
async function discoverModules(): Promise<ApiModule[]> {
  const dir = join(here, 'apis');
  const files = readdirSync(dir)
    .filter((f) => /\.(ts|js|mjs)$/.test(f) && !f.endsWith('.d.ts') && !f.startsWith('_'))
    .sort();
  const mods: ApiModule[] = [];
  for (const f of files) {
    const m = (await import(pathToFileURL(join(dir, f)).href)) as { default?: ApiModule };
    if (m.default && typeof m.default.register === 'function') mods.push(m.default);
  }
  return mods;
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function faultError(status: number, message: string | undefined, api: string, projectNumber: string): GoogleError {
  if (status === 429) {
    return new GoogleError(
      'RESOURCE_EXHAUSTED',
      message ??
        `Quota exceeded for quota metric 'Requests' and limit 'Requests per minute' of service '${api}.googleapis.com' for consumer 'project_number:${projectNumber}'.`,
      [errors.errorInfo('RATE_LIMIT_EXCEEDED', 'googleapis.com', { service: `${api}.googleapis.com`, consumer: `projects/${projectNumber}` })],
    );
  }
  if (status === 503) return errors.unavailable(message);
  const name = (Object.entries(errors.HTTP_STATUS).find(([, code]) => code === status)?.[0] ?? 'INTERNAL') as errors.GoogleStatus;
  return new GoogleError(name, message ?? `Injected fault (${status}).`, [], { httpStatus: status });
}

export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const seed = loadSeed(options.seed);
  const state = new StateStore(seed);
  const projectSeed = state.section('project', () => ({ projectId: 'mlabs-demo', projectNumber: '123456789012', region: 'us-central1' }));
  const project = {
    projectId: String(projectSeed.projectId),
    projectNumber: String(projectSeed.projectNumber),
    region: String(projectSeed.region ?? 'us-central1'),
  };
  const faults = new FaultInjector([...((seed.faults as FaultRule[] | undefined) ?? []), ...(options.faults ?? [])]);
  state.onDump('faults', () => faults.list());
  state.section('faults', () => []);
  const tokens = new TokenRegistry();
  const router = new Router();
  const operations = new OperationEngine(faults, options.operationMs ?? 300);
  const quota = new QuotaLedger(state.section<QuotaSeed>('quotas', () => ({ entries: [] })), faults);
  const events = new EventEmitter();
  const stopHooks: (() => void | Promise<void>)[] = [];
  const requests: RequestLogEntry[] = [];
  const extraEnv: Record<string, string> = {};
  const iam = new IamEngine({
    project,
    ...(options.checkout ? { checkout: options.checkout } : {}),
    ...(seed.iamPolicy ? { seed: seed.iamPolicy as IamPolicySeed } : {}),
  });

  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;

  const ctx: SandboxContext = {
    baseUrl: url,
    port,
    project,
    router,
    contracts: {
      bind: (opts) => bindService(router, opts),
      load: loadContract,
      readMessage,
      writeMessage,
      missingRequired,
    },
    errors,
    tokens,
    faults,
    state,
    operations,
    quota,
    events,
    services: new Map(),
    onStop: (fn) => stopHooks.push(fn),
    mount: async (prefix) => {
      const mounted = createServer((req, res) => {
        req.url = `${prefix}${req.url ?? '/'}`;
        server.emit('request', req, res);
      });
      await new Promise<void>((resolve, reject) => {
        mounted.once('error', reject);
        mounted.listen(0, '127.0.0.1', () => resolve());
      });
      stopHooks.push(async () => {
        mounted.closeAllConnections();
        await new Promise<void>((r) => mounted.close(() => r()));
      });
      const host = `127.0.0.1:${(mounted.address() as AddressInfo).port}`;
      return { host, url: `http://${host}` };
    },
    addEnv: (name, value) => {
      extraEnv[name] = value;
    },
    exportEnv: (vars) => {
      Object.assign(extraEnv, vars);
    },
  };

  ctx.services.set('iam', iam);
  for (const mod of await discoverModules()) await mod.register(ctx);

  const admin = tokens.issue({ subject: `sandbox-admin@${project.projectId}.iam.gserviceaccount.com`, kind: 'sandbox', ttlSeconds: 24 * 3600 });
  const runnerToken = tokens.issue({ subject: 'github-runner', kind: 'github-runner', ttlSeconds: 24 * 3600 });
  const ciServiceAccount = `mlabs-ci@${project.projectId}.iam.gserviceaccount.com`;
  const ci = tokens.issue({ subject: ciServiceAccount, kind: 'iamcredentials', ttlSeconds: 24 * 3600, claims: { serviceAccount: ciServiceAccount } });
  const tmp = mkdtempSync(join(tmpdir(), 'mlabs-sandbox-'));
  const tokenFile = join(tmp, 'access-token');
  writeFileSync(tokenFile, `${options.caller === 'admin' ? admin.token : ci.token}\n`, { mode: 0o600 });

  let seq = 0;
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    void (async () => {
      const u = new URL(req.url ?? '/', url);
      const method = (req.method ?? 'GET').toUpperCase();
      const entry: RequestLogEntry = {
        seq: ++seq,
        time: new Date().toISOString(),
        method,
        path: u.pathname,
        query: Object.fromEntries(u.searchParams),
        status: 0,
      };
      requests.push(entry);
      let reply: SandboxReply;
      try {
        const body = await readBody(req);
        const found = router.match(method, u.pathname);
        if (found === undefined || found === 'method-not-allowed') {
          throw new GoogleError('NOT_FOUND', `Method not found: ${method} ${u.pathname}`, [], { httpStatus: 404 });
        }
        const { route, params } = found;
        entry.api = route.api;
        entry.rpc = route.name;
        const sreq: SandboxRequest = {
          method,
          path: u.pathname,
          query: u.searchParams,
          headers: req.headers,
          params,
          body,
          json() {
            if (body.length === 0) return undefined;
            try {
              return JSON.parse(body.toString('utf8')) as unknown;
            } catch {
              throw errors.invalidArgument(`Invalid JSON payload received. Unexpected token.\n${body.toString('utf8').slice(0, 40)}\n^`);
            }
          },
        };
        if (route.auth !== false) {
          const info = tokens.verify(bearerOf(req.headers.authorization));
          if (!info) throw errors.unauthenticated();
          sreq.token = info;
        }
        const refusal = await iam.check(route, sreq, sreq.token ?? tokens.verify(bearerOf(req.headers.authorization)));
        const call = { api: route.api, method: route.name, httpMethod: method, path: u.pathname };
        const delay = faults.latencyFor(call);
        if (delay > 0) await sleep(delay);
        const injected = faults.errorFor(call);
        if (refusal) reply = refusal;
        else if (injected && route.faultReply) reply = route.faultReply(injected);
        else if (injected) throw faultError(injected.status, injected.message, route.api, project.projectNumber);
        else reply = await route.handler(sreq);
      } catch (err) {
        if (err instanceof GoogleError) {
          reply = { status: err.httpStatus, json: err.toJSON(), headers: err.headers };
        } else {
          console.error('[sandbox] handler crashed:', err);
          const e = new GoogleError('INTERNAL', `Internal error encountered: ${(err as Error).message}`);
          reply = { status: 500, json: e.toJSON() };
        }
      }
      const status = reply.status ?? 200;
      entry.status = status;
      const headers: Record<string, string> = { ...(reply.headers ?? {}) };
      let payload: Buffer | string;
      if (reply.body !== undefined) {
        payload = reply.body;
      } else {
        payload = reply.json === undefined ? '' : `${JSON.stringify(reply.json, null, 2)}\n`;
        if (reply.json !== undefined) headers['content-type'] ??= 'application/json; charset=UTF-8';
      }
      if (options.verbose) console.error(`[sandbox] ${method} ${u.pathname}${u.search} -> ${status}`);
      res.writeHead(status, headers);
      res.end(payload);
    })();
  });

  const env = { ...sandboxEnv(url, tokenFile, project, runnerToken.token), ...extraEnv };

  let stopped = false;
  return {
    url,
    port,
    accessToken: admin.token,
    ciToken: ci.token,
    ciServiceAccount,
    iam,
    tokenFile,
    env,
    project,
    faults,
    requests,
    state: state.view(),
    ctx,
    dump: () => state.dump(),
    async stop() {
      if (stopped) return;
      stopped = true;
      operations.stop();
      for (const h of stopHooks) await h();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      rmSync(tmp, { recursive: true, force: true });
    },
  };
}

/** The variables that point gcloud and the suite at a sandbox on `url`. Forms: see README.md. */
export function sandboxEnv(
  url: string,
  tokenFile: string,
  project: { projectId: string; region: string },
  runnerToken: string,
): Record<string, string> {
  return {
    CLOUDSDK_API_ENDPOINT_OVERRIDES_CONTAINER: `${url}/container/`,
    CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE: `${url}/compute/v1/`,
    CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDQUOTAS: `${url}/cloudquotas/`,
    CLOUDSDK_API_ENDPOINT_OVERRIDES_STORAGE: `${url}/storage/v1/`,
    CLOUDSDK_API_ENDPOINT_OVERRIDES_IAMCREDENTIALS: `${url}/iamcredentials/`,
    CLOUDSDK_API_ENDPOINT_OVERRIDES_STS: `${url}/sts/`,
    CLOUDSDK_API_ENDPOINT_OVERRIDES_ARTIFACTREGISTRY: `${url}/artifactregistry/`,
    CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDBILLING: `${url}/cloudbilling/`,
    CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDRESOURCEMANAGER: `${url}/cloudresourcemanager/`,
    CLOUDSDK_API_ENDPOINT_OVERRIDES_SERVICEUSAGE: `${url}/serviceusage/`,
    CLOUDSDK_API_ENDPOINT_OVERRIDES_IAM: `${url}/iam/`,
    CLOUDSDK_AUTH_ACCESS_TOKEN_FILE: tokenFile,
    CLOUDSDK_CORE_PROJECT: project.projectId,
    CLOUDSDK_COMPUTE_REGION: project.region,
    CLOUDSDK_CORE_DISABLE_PROMPTS: '1',
    CLOUDSDK_CORE_DISABLE_USAGE_REPORTING: '1',
    CLOUDSDK_COMPONENT_MANAGER_DISABLE_UPDATE_CHECK: '1',
    CLOUDSDK_CORE_CHECK_GCE_METADATA: 'false',
    GITHUB_API_URL: `${url}/github`,
    ACTIONS_ID_TOKEN_REQUEST_URL: `${url}/github/actions/idtoken?api-version=2.0`,
    ACTIONS_ID_TOKEN_REQUEST_TOKEN: runnerToken,
    MLABS_SANDBOX_URL: url,
  };
}
