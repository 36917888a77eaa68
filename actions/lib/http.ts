/**
 * The one HTTP client: JSON over fetch, with retries on 429 / 5xx / network
 * errors (capped exponential backoff with full jitter, honouring Retry-After),
 * and Google's two error shapes turned into ApiError.
 */
import { debug, warning } from './runner.js';
import { sleep } from './time.js';

export interface RetryPolicy {
  /** Total attempts including the first. */
  attempts: number;
  baseMs: number;
  capMs: number;
}

/** MLABS_RETRY_BASE_MS shortens the backoff (tests and the demo); never needed in production. */
export function defaultRetry(): RetryPolicy {
  const base = Number(process.env.MLABS_RETRY_BASE_MS);
  return { attempts: 6, baseMs: Number.isFinite(base) && base >= 0 && process.env.MLABS_RETRY_BASE_MS ? base : 500, capMs: 15000 };
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

const RETRYABLE = new Set([429, 500, 502, 503, 504]);

/** The API answered 404: the thing asked for does not exist. */
export function isNotFound(err: unknown): err is ApiError {
  return err instanceof ApiError && err.httpStatus === 404;
}

export function withQuery(url: string, query: RequestOptions['query']): string {
  if (!query) return url;
  const u = new URL(url);
  for (const [k, v] of Object.entries(query)) if (v !== undefined) u.searchParams.set(k, String(v));
  return u.toString();
}

/** Strip the query string (it may carry tokens) before a URL is logged. */
function forLog(url: string): string {
  const i = url.indexOf('?');
  return i < 0 ? url : url.slice(0, i);
}

function parseError(method: string, url: string, res: Response, text: string): ApiError {
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
      return new ApiError(method, url, res.status, e, description, undefined, body);
    }
    if (e && typeof e === 'object') {
      const g = e as { message?: string; status?: string; details?: Array<{ '@type'?: string; reason?: string }> };
      const info = g.details?.find((d) => d['@type']?.endsWith('google.rpc.ErrorInfo'));
      return new ApiError(method, url, res.status, g.status ?? String(res.status), g.message ?? res.statusText, info?.reason, body);
    }
  }
  const snippet = typeof body === 'string' ? body.slice(0, 300) : '';
  return new ApiError(method, url, res.status, String(res.status), snippet || res.statusText, undefined, body);
}

function delayFor(attempt: number, policy: RetryPolicy, retryAfter: string | null): number {
  const after = retryAfter ? Number(retryAfter) : NaN;
  if (Number.isFinite(after) && after >= 0) return Math.min(after * 1000, policy.capMs);
  const ceiling = Math.min(policy.capMs, policy.baseMs * 2 ** attempt);
  return Math.random() * ceiling;
}

/** Send a request and return the raw Response (2xx only); errors become ApiError. */
export async function request(url: string, opts: RequestOptions = {}): Promise<Response> {
  const method = opts.method ?? 'GET';
  const full = withQuery(url, opts.query);
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
  const policy = opts.retry === false ? { attempts: 1, baseMs: 0, capMs: 0 } : (opts.retry ?? defaultRetry());
  for (let attempt = 0; ; attempt++) {
    let res: Response;
    try {
      res = await fetch(full, { method, headers, body: body as RequestInit['body'] });
    } catch (err) {
      if (attempt + 1 >= policy.attempts) {
        throw new ApiError(method, forLog(full), 0, 'NETWORK', `${method} ${forLog(full)} failed: ${(err as Error).message}`);
      }
      const wait = delayFor(attempt, policy, null);
      warning(`${method} ${forLog(full)} failed (${(err as Error).message}); retrying in ${Math.round(wait)} ms`);
      await sleep(wait);
      continue;
    }
    debug(`${method} ${forLog(full)} -> ${res.status}`);
    if (res.ok) return res;
    const text = await res.text();
    const error = parseError(method, forLog(full), res, text);
    if (!RETRYABLE.has(res.status) || attempt + 1 >= policy.attempts) throw error;
    const wait = delayFor(attempt, policy, res.headers.get('retry-after'));
    warning(`${method} ${forLog(full)} answered ${res.status} ${error.status}; retry ${attempt + 1} of ${policy.attempts - 1} in ${Math.round(wait)} ms`);
    await sleep(wait);
  }
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
