/**
 * The one transport: every client (Google, GitHub, registries, Kubernetes) sends through the retry
 * policy here. 429 / 5xx / network errors are retried with capped exponential backoff and full
 * jitter, honouring Retry-After; a request that may have changed something (POST, PATCH) is
 * retried only when it certainly did not land (429, or the connection was refused); every attempt
 * has a timeout, bounded by the action's own deadline. Google's two error shapes become ApiError.
 */
import { retryBaseMs } from './config.js';
import { ActionError, describeError } from './errors.js';
import { debug, warning } from './runner.js';
import { getDeadline, sleep } from './time.js';

export { setDeadline } from './time.js';

export interface RetryPolicy {
  /** Total attempts including the first. */
  attempts: number;
  baseMs: number;
  capMs: number;
}

/** Six attempts, 500 ms base (config.ts's retryBaseMs shortens it), 15 s cap. */
export function defaultRetry(): RetryPolicy {
  return { attempts: 6, baseMs: retryBaseMs() ?? 500, capMs: 15000 };
}

const NO_RETRY: RetryPolicy = { attempts: 1, baseMs: 0, capMs: 0 };

/** One attempt's limit when the caller sets none. */
export const DEFAULT_ATTEMPT_TIMEOUT_MS = 60_000;

/** Milliseconds an attempt may take: its own limit, cut to what is left before the deadline. */
export function attemptBudget(timeoutMs = DEFAULT_ATTEMPT_TIMEOUT_MS, now = Date.now()): number {
  const deadline = getDeadline();
  return deadline === undefined ? timeoutMs : Math.max(0, Math.min(timeoutMs, deadline - now));
}

/** Statuses worth another try: throttled, or a server-side failure. */
export const RETRYABLE_STATUS: ReadonlySet<number> = new Set([429, 500, 502, 503, 504]);

/** GET, HEAD, PUT, DELETE and OPTIONS mean the same when sent twice; POST and PATCH may not. */
export function isIdempotent(method: string): boolean {
  return ['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS'].includes(method.toUpperCase());
}

/** Network failures that happen before a request reaches the server: safe to repeat any request. */
const NOT_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN']);

function networkCode(err: unknown): string | undefined {
  let e: unknown = err;
  for (let i = 0; i < 4 && e && typeof e === 'object'; i++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/** The wait before attempt `attempt + 1`: Retry-After when given, else full jitter under an exponential ceiling. */
export function retryDelay(attempt: number, policy: RetryPolicy, retryAfter?: string | null): number {
  const after = retryAfter ? Number(retryAfter) : NaN;
  if (Number.isFinite(after) && after >= 0) return Math.min(after * 1000, policy.capMs);
  return Math.random() * Math.min(policy.capMs, policy.baseMs * 2 ** attempt);
}

/** An HTTP error from an API, with Google's status string and ErrorInfo reason when given. */
export class ApiError extends Error {
  constructor(
    readonly method: string,
    readonly url: string,
    readonly httpStatus: number,
    /** Google's status (e.g. NOT_FOUND) or the OAuth error code (e.g. invalid_grant). */
    readonly status: string,
    message: string,
    readonly reason?: string,
    readonly body?: unknown,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** The API answered 404: the thing asked for does not exist. */
export function isNotFound(err: unknown): err is ApiError {
  return err instanceof ApiError && err.httpStatus === 404;
}

/** The API answered 409: it exists already, or another change holds it. */
export function isConflict(err: unknown): err is ApiError {
  return err instanceof ApiError && err.httpStatus === 409;
}

/** `fn()`, or undefined when it fails with 404: for reads where absence is a normal answer. */
export async function findOrUndefined<T>(fn: () => Promise<T>): Promise<T | undefined> {
  try {
    return await fn();
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/** What one attempt gave: a value, or an HTTP error with the server's Retry-After. */
export type AttemptResult<T> = { ok: true; value: T } | { ok: false; error: ApiError; retryAfter?: string | null };

export interface RetryContext {
  method: string;
  /** The URL without its query (queries may carry tokens), as logged and put in errors. */
  where: string;
  policy: RetryPolicy | false;
  /** Whether sending twice is harmless; default: by method. */
  idempotent?: boolean;
}

/**
 * Run `send` until it succeeds, a failure is not worth retrying, or the attempts or the deadline
 * run out. `send` gets the attempt's time budget in ms and throws on network errors.
 */
export async function withRetries<T>(ctx: RetryContext, send: (budgetMs: number, attempt: number) => Promise<AttemptResult<T>>, timeoutMs?: number): Promise<T> {
  const policy = ctx.policy === false ? NO_RETRY : ctx.policy;
  const idempotent = ctx.idempotent ?? isIdempotent(ctx.method);
  const label = `${ctx.method} ${ctx.where}`;
  for (let attempt = 0; ; attempt++) {
    const budget = attemptBudget(timeoutMs);
    if (budget <= 0) throw new ApiError(ctx.method, ctx.where, 0, 'DEADLINE_EXCEEDED', `${label} was not sent: the action's timeout has run out.`);
    let result: AttemptResult<T>;
    try {
      result = await send(budget, attempt);
    } catch (err) {
      // An API's answer or a condition the caller raised (say, a credential plugin that failed) is final.
      if (err instanceof ApiError || err instanceof ActionError) throw err;
      const code = networkCode(err);
      const timedOut = (err as { name?: string }).name === 'TimeoutError' || (err as { name?: string }).name === 'AbortError';
      const said = describeError(err);
      const message = timedOut ? `no answer within ${budget < 10_000 ? (budget / 1000).toFixed(1) : Math.round(budget / 1000)} s` : said + (code && !said.includes(code) ? ` (${code})` : '');
      const retryable = idempotent || (code !== undefined && NOT_SENT.has(code));
      if (!retryable || attempt + 1 >= policy.attempts || attemptBudget() <= 0) {
        throw new ApiError(ctx.method, ctx.where, 0, timedOut ? 'DEADLINE_EXCEEDED' : 'NETWORK', `${label} failed: ${message}`);
      }
      const wait = Math.min(retryDelay(attempt, policy), attemptBudget());
      warning(`${label} failed (${message}); retrying in ${Math.round(wait)} ms`);
      await sleep(wait);
      continue;
    }
    if (result.ok) return result.value;
    const { error } = result;
    const retryable = RETRYABLE_STATUS.has(error.httpStatus) && (idempotent || error.httpStatus === 429);
    if (!retryable || attempt + 1 >= policy.attempts || attemptBudget() <= 0) throw error;
    const wait = Math.min(retryDelay(attempt, policy, result.retryAfter), attemptBudget());
    warning(`${label} answered ${error.httpStatus} ${error.status}; retry ${attempt + 1} of ${policy.attempts - 1} in ${Math.round(wait)} ms`);
    await sleep(wait);
  }
}

export interface RequestOptions {
  method?: string;
  /** Query parameters; undefined values are left out. */
  query?: Record<string, string | number | boolean | undefined>;
  headers?: Record<string, string>;
  /** A plain object is sent as JSON; a string or bytes as they are. */
  body?: unknown;
  /** Sent as `Authorization: Bearer <token>`. */
  token?: string;
  retry?: RetryPolicy | false;
  /** Sending twice is harmless (a POST that only reads or exchanges, a create guarded by a precondition). Default: by method. */
  idempotent?: boolean;
  /** One attempt's limit in ms (default 60 s), never past the action's deadline. */
  timeoutMs?: number;
  /**
   * A create that was retried and then answered 409 may have landed on an earlier attempt whose
   * answer was lost: this reads the resource back and returns it as the create's answer.
   */
  adoptOnConflict?: () => Promise<Response>;
  /** Statuses the caller reads itself (a registry's 401 challenge): answered as the Response, not an ApiError. */
  answers?: number[];
}

export function withQuery(url: string, query: RequestOptions['query']): string {
  if (!query) return url;
  const u = new URL(url);
  for (const [k, v] of Object.entries(query)) if (v !== undefined) u.searchParams.set(k, String(v));
  return u.toString();
}

/** Strip the query string (it may carry tokens) before a URL is logged. */
export function forLog(url: string): string {
  const i = url.indexOf('?');
  return i < 0 ? url : url.slice(0, i);
}

export function parseError(method: string, url: string, status: number, statusText: string, text: string): ApiError {
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  if (body && typeof body === 'object' && 'error' in body) {
    const e = (body as { error: unknown; error_description?: string }).error;
    if (typeof e === 'string') {
      // OAuth shape (STS): {"error": "invalid_grant", "error_description": "..."}
      const description = (body as { error_description?: string }).error_description ?? e;
      return new ApiError(method, url, status, e, description, undefined, body);
    }
    if (e && typeof e === 'object') {
      const g = e as { message?: string; status?: string; details?: Array<{ '@type'?: string; reason?: string }> };
      const info = g.details?.find((d) => d['@type']?.endsWith('google.rpc.ErrorInfo'));
      return new ApiError(method, url, status, g.status ?? String(status), g.message ?? statusText, info?.reason, body);
    }
  }
  const snippet = typeof body === 'string' ? body.slice(0, 300) : '';
  return new ApiError(method, url, status, String(status), snippet || statusText, undefined, body);
}

/** Send a request and return the raw Response (2xx, or a status in `answers`); errors become ApiError. */
export async function request(url: string, opts: RequestOptions = {}): Promise<Response> {
  const method = opts.method ?? 'GET';
  const full = withQuery(url, opts.query);
  const where = forLog(full);
  const headers: Record<string, string> = { 'user-agent': 'mlabs-actions', ...opts.headers };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  let body: string | Uint8Array | undefined;
  if (opts.body !== undefined) {
    if (typeof opts.body === 'string' || opts.body instanceof Uint8Array) body = opts.body;
    else {
      body = JSON.stringify(opts.body);
      headers['content-type'] ??= 'application/json';
    }
  }
  let retried = false;
  const ctx: RetryContext = { method, where, policy: opts.retry ?? defaultRetry(), ...(opts.idempotent !== undefined ? { idempotent: opts.idempotent } : {}) };
  return withRetries<Response>(ctx, async (budget, attempt) => {
    retried = attempt > 0;
    const res = await fetch(full, { method, headers, body: body as RequestInit['body'], signal: AbortSignal.timeout(budget) });
    debug(`${method} ${where} -> ${res.status}`);
    if (res.ok || opts.answers?.includes(res.status)) return { ok: true, value: res };
    const error = parseError(method, where, res.status, res.statusText, await res.text());
    if (retried && res.status === 409 && opts.adoptOnConflict) return { ok: true, value: await opts.adoptOnConflict() };
    return { ok: false, error, retryAfter: res.headers.get('retry-after') };
  }, opts.timeoutMs);
}

/** Send a request and parse the JSON answer (an empty body gives {}). */
export async function requestJson<T>(url: string, opts: RequestOptions = {}): Promise<T> {
  const res = await request(url, opts);
  const text = await res.text();
  return (text ? JSON.parse(text) : {}) as T;
}

/** Follow `nextPageToken` through every page and concatenate `field`. */
export async function listAll<T>(url: string, field: string, opts: RequestOptions = {}): Promise<T[]> {
  const out: T[] = [];
  let pageToken: string | undefined;
  do {
    const page = await requestJson<Record<string, unknown>>(url, { ...opts, query: { ...opts.query, pageToken } });
    out.push(...((page[field] as T[] | undefined) ?? []));
    pageToken = page.nextPageToken as string | undefined;
  } while (pageToken);
  return out;
}
