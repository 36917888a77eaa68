// Path templates in Google's http-rule syntax, compiled to regular expressions.
//   /v1/{parent=projects/*/locations/*}/clusters      ->  parent = "projects/p/locations/l"
//   /v1/projects/{project_id}/zones/{zone}/clusters   ->  projectId, zone
//   /storage/v1/b/{bucket}/o/{object=**}               ->  object may contain '/'
// '*' matches one segment (no '/' and no ':' so a trailing ':verb' stays literal); '**' matches the rest.
import type { IncomingHttpHeaders } from 'node:http';
import type { TokenInfo } from './tokens.js';
import type { ErrorFault } from './faults.js';

export interface SandboxRequest {
  method: string;
  /** Raw (still percent-encoded) path, after the host; no query string. */
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  /** Path variables, decoded, keyed by the template's name as written (e.g. `node_pool_id`, `quota_preference.name`). */
  params: Record<string, string>;
  body: Buffer;
  /** The verified token, when the route requires auth (the default). */
  token?: TokenInfo;
  /** Parsed JSON body (throws INVALID_ARGUMENT on bad JSON); `undefined` when the body is empty. */
  json(): unknown;
}

export interface SandboxReply {
  status?: number;
  headers?: Record<string, string>;
  /** Serialised as JSON unless `body` is given. */
  json?: unknown;
  body?: Buffer | string;
}

export type RouteHandler = (req: SandboxRequest) => Promise<SandboxReply> | SandboxReply;

export interface RouteSpec {
  /** HTTP method, upper case. */
  method: string;
  /** Google path template (see above) or a RegExp with named groups. */
  path: string | RegExp;
  /** API id used in logs and fault matching, e.g. 'storage'. */
  api: string;
  /** Method name used in logs and fault matching, e.g. 'objects.insert'. */
  name: string;
  /** Whether a sandbox-issued bearer token is required (default true). */
  auth?: boolean;
  /** The route's key in scripts/sandbox/iam/rpcs.ts (default `api.name`; contract routes `api.Service.Rpc`). */
  iamKey?: string;
  handler: RouteHandler;
  /**
   * How this API answers an injected `error` fault. Default: Google's error body. APIs that are
   * not Google's (GitHub) give their own shape.
   */
  faultReply?: (fault: ErrorFault) => SandboxReply;
}

interface CompiledRoute extends RouteSpec {
  regex: RegExp;
  vars: string[];
  /** Literal characters in the template: more literal = more specific, tried first. */
  specificity: number;
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function segmentPattern(p: string): string {
  return p
    .split('/')
    .map((seg) => (seg === '**' ? '.+' : seg === '*' ? '[^/:]+' : escapeRe(seg).replace(/\\\*/g, '[^/:]+')))
    .join('/');
}

export function compileTemplate(template: string): { regex: RegExp; vars: string[]; specificity: number } {
  const vars: string[] = [];
  let re = '';
  let literal = 0;
  let i = 0;
  while (i < template.length) {
    const open = template.indexOf('{', i);
    if (open < 0) {
      re += escapeRe(template.slice(i));
      literal += template.length - i;
      break;
    }
    re += escapeRe(template.slice(i, open));
    literal += open - i;
    const close = template.indexOf('}', open);
    const inner = template.slice(open + 1, close);
    const eq = inner.indexOf('=');
    const name = eq < 0 ? inner : inner.slice(0, eq);
    const pattern = eq < 0 ? '*' : inner.slice(eq + 1);
    literal += pattern.replace(/\*+/g, '').length;
    vars.push(name);
    re += `(${segmentPattern(pattern)})`;
    i = close + 1;
  }
  return { regex: new RegExp(`^${re}$`), vars, specificity: literal };
}

export class Router {
  private routes: CompiledRoute[] = [];

  add(spec: RouteSpec): void {
    if (spec.path instanceof RegExp) {
      this.routes.push({ ...spec, regex: spec.path, vars: [], specificity: 1e6 });
    } else {
      this.routes.push({ ...spec, ...compileTemplate(spec.path) });
    }
    this.routes.sort((a, b) => b.specificity - a.specificity);
  }

  /** All registered routes (for the README / debugging). */
  list(): { method: string; path: string; api: string; name: string; iamKey?: string; auth?: boolean }[] {
    return this.routes.map((r) => ({ method: r.method, path: String(r.path), api: r.api, name: r.name, ...(r.iamKey ? { iamKey: r.iamKey } : {}), ...(r.auth === false ? { auth: false } : {}) }));
  }

  match(method: string, path: string): { route: RouteSpec; params: Record<string, string> } | 'method-not-allowed' | undefined {
    let pathMatched = false;
    for (const r of this.routes) {
      const m = r.regex.exec(path);
      if (!m) continue;
      if (r.method !== method) {
        pathMatched = true;
        continue;
      }
      const params: Record<string, string> = {};
      if (r.path instanceof RegExp) {
        for (const [k, v] of Object.entries(m.groups ?? {})) if (v !== undefined) params[k] = decodeURIComponent(v);
      } else {
        r.vars.forEach((v, idx) => {
          params[v] = decodeURIComponent(m[idx + 1] ?? '');
        });
      }
      return { route: r, params };
    }
    return pathMatched ? 'method-not-allowed' : undefined;
  }
}
