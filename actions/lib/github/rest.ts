/**
 * A small GitHub REST client on the suite's transport (lib/http.ts: retries, timeouts, the action's
 * deadline). Base URL from GITHUB_API_URL (the runner sets it; https://api.github.com otherwise).
 * GitHub's `{message, documentation_url}` errors stay ApiErrors; `githubMessage` reads their text.
 */
import { ApiError, request, type RetryPolicy } from '../http.js';

export function githubApiBase(): string {
  return (process.env.GITHUB_API_URL || 'https://api.github.com').replace(/\/+$/, '');
}

export const GITHUB_HEADERS: Readonly<Record<string, string>> = { accept: 'application/vnd.github+json', 'x-github-api-version': '2022-11-28' };

/** The text of a GitHub error answer (its `message`), else the transport's message. */
export function githubMessage(err: ApiError): string {
  const body = err.body as { message?: unknown; errors?: Array<{ message?: string; code?: string; field?: string }> } | undefined;
  if (!body || typeof body !== 'object' || typeof body.message !== 'string') return err.message;
  const details = (body.errors ?? []).map((e) => e.message ?? [e.field, e.code].filter(Boolean).join(' ')).filter(Boolean);
  return details.length ? `${body.message} (${details.join('; ')})` : body.message;
}

/** The `rel="next"` URL of a Link header. */
export function nextLink(link: string | null): string | undefined {
  return link ? /<([^>]+)>;\s*rel="next"/.exec(link)?.[1] : undefined;
}

export interface GithubRest {
  get<T>(path: string): Promise<T>;
  post<T>(path: string, body: unknown, opts?: { idempotent?: boolean }): Promise<T>;
  put<T>(path: string, body: unknown): Promise<T>;
  patch<T>(path: string, body: unknown): Promise<T>;
  del(path: string): Promise<void>;
  /** Every page of a list answer; `field` names the array in an object answer (undefined: the answer is the array). */
  list<T>(path: string, field?: string, max?: number): Promise<T[]>;
}

/** A client for one token. Paths are GitHub's own (`/repos/o/r`), appended to the API base. */
export function githubRest(token: string, retry?: RetryPolicy): GithubRest {
  const base = githubApiBase();
  const send = async <T>(method: string, path: string, body?: unknown, idempotent?: boolean): Promise<T> => {
    const res = await request(path.startsWith('http') ? path : base + path, {
      method,
      token,
      headers: { ...GITHUB_HEADERS },
      ...(body !== undefined ? { body } : {}),
      ...(idempotent !== undefined ? { idempotent } : {}),
      ...(retry ? { retry } : {}),
    });
    const text = res.status === 204 ? '' : await res.text();
    return (text ? JSON.parse(text) : {}) as T;
  };
  return {
    get: (path) => send('GET', path),
    post: (path, body, opts) => send('POST', path, body, opts?.idempotent),
    put: (path, body) => send('PUT', path, body),
    patch: (path, body) => send('PATCH', path, body),
    del: async (path) => {
      await send('DELETE', path);
    },
    list: async <T>(path: string, field?: string, max = Infinity): Promise<T[]> => {
      const out: T[] = [];
      let next: string | undefined = `${base}${path}${path.includes('?') ? '&' : '?'}per_page=100`;
      while (next && out.length < max) {
        const res = await request(next, { token, headers: { ...GITHUB_HEADERS }, ...(retry ? { retry } : {}) });
        const page = (await res.json()) as unknown;
        const items = field === undefined ? (page as T[]) : ((page as Record<string, unknown>)[field] as T[] | undefined);
        out.push(...(items ?? []));
        next = nextLink(res.headers.get('link'));
      }
      return out.slice(0, max);
    },
  };
}

export { ApiError };
