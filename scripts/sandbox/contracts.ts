// Google's contracts, loaded at run time from the protos.json that Google's npm clients ship.
// Routes come from (google.api.http) (incl. additional_bindings and body), field rules from
// (google.api.field_behavior). Nothing here lists a field by hand.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import protobuf from 'protobufjs';
import { GoogleError, badRequest, invalidArgument } from './errors.js';
import type { Router, SandboxReply, SandboxRequest } from './router.js';

const require = createRequire(import.meta.url);
const documents = new Map<string, protobuf.INamespace>();
const roots = new Map<string, protobuf.Root>();

function contractDocument(pkg: string): protobuf.INamespace {
  let doc = documents.get(pkg);
  if (!doc) {
    const pkgJson = require.resolve(`@google-cloud/${pkg}/package.json`);
    const file = join(dirname(pkgJson), 'build', 'protos', 'protos.json');
    doc = JSON.parse(readFileSync(file, 'utf8')) as protobuf.INamespace;
    documents.set(pkg, doc);
  }
  return doc;
}

/**
 * Load (once per process) node_modules/@google-cloud/<pkg>/build/protos/protos.json. With `service`
 * and `rpcs`, only the part of the contract those RPCs reach is built: Compute's file describes
 * every Compute API (11 MB), and building all of it costs seconds at every sandbox start, while the
 * RPCs a sandbox serves reach a few hundred types.
 */
export function loadContract(pkg: string, only?: { service: string; rpcs: string[] }): protobuf.Root {
  const key = only ? `${pkg}:${only.service}:${[...only.rpcs].sort().join(',')}` : pkg;
  let root = roots.get(key);
  if (!root) {
    root = protobuf.Root.fromJSON(only ? prunedDocument(pkg, only.service, only.rpcs) : contractDocument(pkg));
    root.resolveAll();
    roots.set(key, root);
  }
  return root;
}

/**
 * The pruned document, kept in node_modules/.cache so that later starts skip parsing the whole
 * protos.json. The cache key covers the package's version, the RPCs and the pruning code itself.
 */
function prunedDocument(pkg: string, service: string, rpcs: string[]): protobuf.INamespace {
  const pkgJson = require.resolve(`@google-cloud/${pkg}/package.json`);
  const version = (JSON.parse(readFileSync(pkgJson, 'utf8')) as { version: string }).version;
  const digest = createHash('sha256').update(JSON.stringify([pkg, version, service, [...rpcs].sort(), pruneContract.toString()])).digest('hex').slice(0, 24);
  const cacheDir = join(dirname(require.resolve('protobufjs/package.json')), '..', '.cache', 'mlabs-sandbox-contracts');
  const file = join(cacheDir, `${pkg}-${digest}.json`);
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as protobuf.INamespace;
  } catch {
    // not cached yet (or unreadable): prune from the full document
  }
  const pruned = pruneContract(contractDocument(pkg), service, rpcs);
  try {
    mkdirSync(cacheDir, { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(pruned));
    renameSync(tmp, file); // atomic: a concurrent start reads the old file or the new one, never half
  } catch {
    // a read-only node_modules only loses the cache
  }
  return pruned;
}

type JsonNode = protobuf.INamespace & {
  fields?: Record<string, { type: string; keyType?: string }>;
  methods?: Record<string, { requestType: string; responseType: string }>;
  values?: Record<string, number>;
};

const SCALARS = new Set([
  'double', 'float', 'int32', 'int64', 'uint32', 'uint64', 'sint32', 'sint64',
  'fixed32', 'fixed64', 'sfixed32', 'sfixed64', 'bool', 'string', 'bytes',
]);

const indexes = new WeakMap<protobuf.INamespace, Map<string, JsonNode>>();

/** Every named node of a contract document by its full name (built once per document). */
function nameIndex(doc: protobuf.INamespace): Map<string, JsonNode> {
  let index = indexes.get(doc);
  if (!index) {
    const built = new Map<string, JsonNode>();
    const walk = (node: JsonNode, prefix: string): void => {
      for (const [name, child] of Object.entries(node.nested ?? {})) {
        const full = prefix ? `${prefix}.${name}` : name;
        built.set(full, child as JsonNode);
        walk(child as JsonNode, full);
      }
    };
    walk(doc as JsonNode, '');
    indexes.set(doc, built);
    index = built;
  }
  return index;
}

/**
 * The sub-document of `doc` that `service`'s `rpcs` reach: their request and response messages and,
 * transitively, every message and enum their fields name (and the messages enclosing a nested one).
 * Names resolve as protobuf scopes them: innermost scope first, then outwards.
 */
export function pruneContract(doc: protobuf.INamespace, service: string, rpcs: string[]): protobuf.INamespace {
  const index = nameIndex(doc);
  const resolveName = (ref: string, scope: string): string | undefined => {
    if (ref.startsWith('.')) return index.has(ref.slice(1)) ? ref.slice(1) : undefined;
    const parts = scope.split('.');
    for (let i = parts.length; i >= 0; i--) {
      const candidate = [...parts.slice(0, i), ref].join('.');
      if (index.has(candidate)) return candidate;
    }
    return undefined;
  };
  const svc = index.get(service);
  if (!svc?.methods) throw new Error(`${service} is not a service of this contract`);
  const keep = new Set<string>([service]);
  const queue: string[] = [];
  const need = (ref: string, scope: string): void => {
    if (SCALARS.has(ref)) return;
    const full = resolveName(ref, scope);
    if (full === undefined || keep.has(full)) return;
    keep.add(full);
    queue.push(full);
  };
  const parentScope = (full: string): string => full.slice(0, Math.max(0, full.lastIndexOf('.')));
  for (const rpc of rpcs) {
    const m = svc.methods[rpc];
    if (!m) continue; // bindService reports a missing RPC by name
    need(m.requestType, parentScope(service));
    need(m.responseType, parentScope(service));
  }
  while (queue.length > 0) {
    const full = queue.pop() as string;
    const node = index.get(full) as JsonNode;
    // A nested message or enum needs the message that encloses it.
    const parent = parentScope(full);
    if (parent && index.get(parent)?.fields) need(`.${parent}`, '');
    for (const f of Object.values(node.fields ?? {})) need(f.type, full);
  }
  // Only the kept names and the namespaces and messages on their way are visited.
  const onPath = new Set<string>();
  for (const full of keep) {
    for (let i = full.indexOf('.'); i !== -1; i = full.indexOf('.', i + 1)) onPath.add(full.slice(0, i));
  }
  const build = (node: JsonNode, prefix: string): protobuf.INamespace | undefined => {
    const nested: Record<string, protobuf.AnyNestedObject> = {};
    for (const [name, child] of Object.entries(node.nested ?? {})) {
      const full = prefix ? `${prefix}.${name}` : name;
      const kept = keep.has(full);
      if (!kept && !onPath.has(full)) continue;
      const inner = build(child as JsonNode, full);
      if (!kept && !inner) continue;
      const copy = kept ? { ...(child as object) } : { ...(child as protobuf.INamespace).options ? { options: (child as protobuf.INamespace).options } : {} };
      delete (copy as JsonNode).nested;
      if (inner?.nested) (copy as JsonNode).nested = inner.nested;
      if (kept && full === service) {
        const methods = (child as JsonNode).methods ?? {};
        (copy as JsonNode).methods = Object.fromEntries(rpcs.filter((r) => r in methods).map((r) => [r, methods[r] as never]));
      }
      nested[name] = copy as protobuf.AnyNestedObject;
    }
    return Object.keys(nested).length > 0 ? { nested } : undefined;
  };
  return { ...(doc.options ? { options: doc.options } : {}), ...(build(doc as JsonNode, '') ?? { nested: {} }) };
}

export const camel = (s: string): string => s.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
export const snake = (s: string): string => s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

export function fieldBehavior(field: protobuf.Field): string[] {
  const v = (field.options as Record<string, unknown> | undefined)?.['(google.api.field_behavior)'];
  if (v === undefined) return [];
  return Array.isArray(v) ? v.map(String) : [String(v)];
}

const INT64 = new Set(['int64', 'uint64', 'sint64', 'fixed64', 'sfixed64']);
const INT64_WRAPPERS = new Set(['google.protobuf.Int64Value', 'google.protobuf.UInt64Value']);
const SYSTEM_QUERY = new Set([
  'alt', 'prettyPrint', 'pp', 'fields', 'key', 'access_token', 'quotaUser', 'userIp', 'callback',
  'upload_protocol', 'uploadType', '$.xgafv', 'oauth_token', '$fields', 'trace',
]);

function typeFullName(t: protobuf.Type | protobuf.Enum): string {
  return t.fullName.replace(/^\./, '');
}

function isOpaque(t: protobuf.Type): boolean {
  // Well-known types travel as plain JSON values (Timestamp, Duration, FieldMask, Struct, wrappers, Any, ...).
  return typeFullName(t).startsWith('google.protobuf.');
}

function fieldIndex(type: protobuf.Type): Map<string, protobuf.Field> {
  const idx = new Map<string, protobuf.Field>();
  for (const f of type.fieldsArray) {
    idx.set(f.name, f);
    idx.set(snake(f.name), f);
  }
  return idx;
}

function atPath(path: string): string {
  return path ? ` at '${path}'` : '';
}

/**
 * Validate and normalise JSON input against a message type, in place semantics but returning a
 * fresh object: keys become lowerCamelCase, OUTPUT_ONLY fields are dropped, unknown names and
 * unknown enum values are refused with Google's wording. `path` is the snake_case path of `value`.
 */
export function readMessage(type: protobuf.Type, value: unknown, path: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw invalidArgument(
      `Invalid value${atPath(path)} (type.googleapis.com/${typeFullName(type)}), ${JSON.stringify(value)}`,
      [badRequest(path, `Invalid value (${JSON.stringify(value)})`)],
    );
  }
  const idx = fieldIndex(type);
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    const field = idx.get(key);
    if (!field) {
      throw invalidArgument(`Invalid JSON payload received. Unknown name ${JSON.stringify(key)}${atPath(path)}: Cannot find field.`, [
        badRequest(path, `Invalid JSON payload received. Unknown name ${JSON.stringify(key)}${atPath(path)}: Cannot find field.`),
      ]);
    }
    if (fieldBehavior(field).includes('OUTPUT_ONLY')) continue;
    const childPath = path ? `${path}.${snake(field.name)}` : snake(field.name);
    out[field.name] = readField(field, v, childPath);
  }
  return out;
}

function readField(field: protobuf.Field, v: unknown, path: string): unknown {
  if (v === null) return undefined;
  const f = field as protobuf.Field & { map?: boolean };
  if (f.map) {
    if (typeof v !== 'object' || Array.isArray(v)) throw invalidArgument(`Invalid value at '${path}', ${JSON.stringify(v)}`);
    const out: Record<string, unknown> = {};
    for (const [k, item] of Object.entries(v as Record<string, unknown>)) out[k] = readScalarOrMessage(field, item, `${path}[${JSON.stringify(k)}]`);
    return out;
  }
  if (field.repeated) {
    if (!Array.isArray(v)) {
      throw invalidArgument(`Invalid value at '${path}', ${JSON.stringify(v)}`, [badRequest(path, 'Expected a list')]);
    }
    return v.map((item, i) => readScalarOrMessage(field, item, `${path}[${i}]`));
  }
  return readScalarOrMessage(field, v, path);
}

function readScalarOrMessage(field: protobuf.Field, v: unknown, path: string): unknown {
  const rt = field.resolvedType;
  if (rt instanceof protobuf.Type) return isOpaque(rt) ? v : readMessage(rt, v, path);
  if (rt instanceof protobuf.Enum) {
    if (typeof v === 'number' && Object.values(rt.values).includes(v)) return rt.valuesById[v] ?? v;
    if (typeof v === 'string' && v in rt.values) return v;
    throw invalidArgument(`Invalid value${atPath(path)} (type.googleapis.com/${typeFullName(rt)}), ${JSON.stringify(v)}`, [
      badRequest(path, `Invalid value (${JSON.stringify(v)}), unknown enum value`),
    ]);
  }
  return v;
}

/** REQUIRED fields missing from a (normalised) message, as snake_case paths. Recurses into present sub-messages. */
export function missingRequired(type: protobuf.Type, value: Record<string, unknown>, path = '', skip = new Set<string>()): string[] {
  const missing: string[] = [];
  for (const field of type.fieldsArray) {
    const childPath = path ? `${path}.${snake(field.name)}` : snake(field.name);
    const v = value[field.name];
    if (fieldBehavior(field).includes('REQUIRED') && !skip.has(field.name)) {
      if (v === undefined || v === '' || (Array.isArray(v) && v.length === 0)) missing.push(childPath);
    }
    const rt = field.resolvedType;
    if (rt instanceof protobuf.Type && !isOpaque(rt) && v !== undefined && !(field as { map?: boolean }).map) {
      const items = field.repeated && Array.isArray(v) ? v : [v];
      items.forEach((item, i) => {
        if (item && typeof item === 'object') {
          missing.push(...missingRequired(rt, item as Record<string, unknown>, field.repeated ? `${childPath}[${i}]` : childPath));
        }
      });
    }
  }
  return missing;
}

/** Shape a handler's result as the response message: drops names the contract lacks, int64 as strings. */
export function writeMessage(type: protobuf.Type, value: unknown): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  if (isOpaque(type)) return INT64_WRAPPERS.has(typeFullName(type)) && typeof value === 'number' ? String(value) : value;
  const idx = fieldIndex(type);
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    if (v === undefined) continue;
    const field = idx.get(key);
    if (!field) continue;
    if (field.repeated && Array.isArray(v) && v.length === 0) continue; // proto3 JSON omits empty lists
    out[field.name] = writeField(field, v);
  }
  return out;
}

function writeField(field: protobuf.Field, v: unknown): unknown {
  if ((field as { map?: boolean }).map && v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, item] of Object.entries(v as Record<string, unknown>)) out[k] = writeOne(field, item);
    return out;
  }
  if (field.repeated && Array.isArray(v)) return v.map((item) => writeOne(field, item));
  return writeOne(field, v);
}

function writeOne(field: protobuf.Field, v: unknown): unknown {
  const rt = field.resolvedType;
  if (rt instanceof protobuf.Type) {
    if (INT64_WRAPPERS.has(typeFullName(rt)) && typeof v === 'number') return String(v);
    return writeMessage(rt, v);
  }
  if (INT64.has(field.type) && typeof v === 'number') return String(v);
  return v;
}

export interface HttpBinding {
  httpMethod: string;
  template: string;
  body?: string;
}

/** The REST bindings of an RPC: the main (google.api.http) rule and its additional_bindings. */
export function httpBindings(method: protobuf.Method): HttpBinding[] {
  const opts = (method.options ?? {}) as Record<string, unknown>;
  const out: HttpBinding[] = [];
  const verbs = ['get', 'post', 'put', 'patch', 'delete'];
  for (const prefix of ['(google.api.http)', '(google.api.http).additional_bindings']) {
    for (const verb of verbs) {
      const t = opts[`${prefix}.${verb}`];
      if (typeof t === 'string') {
        const body = opts[`${prefix}.body`];
        out.push({ httpMethod: verb.toUpperCase(), template: t, ...(typeof body === 'string' ? { body } : {}) });
      }
    }
  }
  // Options may also be parsed into a nested object by protobufjs.
  const parsed = (method.parsedOptions ?? []) as Record<string, unknown>[];
  for (const p of parsed) {
    const rule = p['(google.api.http)'] as Record<string, unknown> | undefined;
    if (!rule) continue;
    const extra = (rule.additional_bindings ?? rule.additionalBindings ?? []) as Record<string, unknown> | Record<string, unknown>[];
    const rules = [rule, ...(Array.isArray(extra) ? extra : [extra])];
    for (const r of rules) {
      for (const verb of verbs) {
        const t = r[verb];
        if (typeof t === 'string' && !out.some((o) => o.template === t && o.httpMethod === verb.toUpperCase())) {
          out.push({ httpMethod: verb.toUpperCase(), template: t, ...(typeof r.body === 'string' ? { body: r.body } : {}) });
        }
      }
    }
  }
  return out;
}

function setPath(obj: Record<string, unknown>, dotted: string, value: unknown): void {
  const parts = dotted.split('.').map(camel);
  let cur = obj;
  for (const p of parts.slice(0, -1)) {
    if (typeof cur[p] !== 'object' || cur[p] === null) cur[p] = {};
    cur = cur[p] as Record<string, unknown>;
  }
  cur[parts[parts.length - 1] as string] = value;
}

function queryValue(field: protobuf.Field, raw: string, name: string): unknown {
  const rt = field.resolvedType;
  if (rt instanceof protobuf.Enum) {
    if (!(raw in rt.values)) throw invalidArgument(`Invalid value at '${snake(name)}' (type.googleapis.com/${typeFullName(rt)}), "${raw}"`);
    return raw;
  }
  switch (field.type) {
    case 'bool':
      if (/^true$/i.test(raw)) return true;
      if (/^false$/i.test(raw)) return false;
      throw invalidArgument(`Invalid value at '${snake(name)}' (TYPE_BOOL), "${raw}"`);
    case 'int32': case 'uint32': case 'sint32': case 'fixed32': case 'sfixed32': case 'double': case 'float': {
      const n = Number(raw);
      if (!Number.isFinite(n)) throw invalidArgument(`Invalid value at '${snake(name)}' (TYPE_${field.type.toUpperCase()}), "${raw}"`);
      return n;
    }
    default:
      return raw;
  }
}

/** Context a contract handler receives besides the decoded request message. */
export interface ContractCall {
  http: SandboxRequest;
  rpc: string;
  binding: HttpBinding;
}

export type ContractHandler = (request: Record<string, unknown>, call: ContractCall) => Promise<unknown> | unknown;

export interface BindOptions {
  /** API id for logs and faults, e.g. 'container'. */
  api: string;
  /** npm package under @google-cloud/, e.g. 'container'. */
  pkg: string;
  /** Fully-qualified service, e.g. 'google.container.v1.ClusterManager'. */
  service: string;
  /** Prepended to each template, e.g. '/container' (templates start with '/v1/...'). */
  prefix?: string;
  /** Handlers by RPC name; RPCs without a handler are not routed (they 404 like unknown paths). */
  handlers: Record<string, ContractHandler>;
  /** Route options (auth default true). */
  auth?: boolean;
  /**
   * Top-level request fields the proto marks REQUIRED that the real server does not enforce, by RPC
   * (e.g. GKE's UpdateNodePool takes a labels-only update without node_version and image_type, which
   * is what `gcloud container node-pools update --node-labels` sends). Each entry names the client seen doing it.
   */
  notEnforced?: Record<string, string[]>;
}

/**
 * Register every REST binding of the given RPCs. The handler gets the request message, built
 * from path variables + query parameters + body exactly as Google's transcoding does, validated
 * against the contract; its return value is shaped as the response message.
 */
export function bindService(router: Router, opts: BindOptions): void {
  const root = loadContract(opts.pkg, { service: opts.service, rpcs: Object.keys(opts.handlers) });
  const service = root.lookupService(opts.service);
  for (const [rpc, handler] of Object.entries(opts.handlers)) {
    const method = service.methods[rpc];
    if (!method) throw new Error(`${opts.service} has no RPC ${rpc}`);
    method.resolve();
    const reqType = method.resolvedRequestType;
    const resType = method.resolvedResponseType;
    if (!reqType || !resType) throw new Error(`${opts.service}.${rpc}: unresolved types`);
    const bindings = httpBindings(method);
    if (bindings.length === 0) throw new Error(`${opts.service}.${rpc} has no (google.api.http) binding`);
    for (const binding of bindings) {
      router.add({
        method: binding.httpMethod,
        path: (opts.prefix ?? '') + binding.template,
        api: opts.api,
        name: rpc,
        iamKey: `${opts.api}.${opts.service.split('.').pop() ?? opts.service}.${rpc}`,
        auth: opts.auth ?? true,
        handler: async (http): Promise<SandboxReply> => {
          const request = decodeRequest(reqType, binding, http, new Set(opts.notEnforced?.[rpc] ?? []));
          const result = await handler(request, { http, rpc, binding });
          return { json: writeMessage(resType, result ?? {}) };
        },
      });
    }
  }
}

function decodeRequest(reqType: protobuf.Type, binding: HttpBinding, http: SandboxRequest, skip = new Set<string>()): Record<string, unknown> {
  let request: Record<string, unknown> = {};
  const bound = new Set<string>();
  if (binding.body) {
    const body = http.json() ?? {};
    if (binding.body === '*') {
      request = readMessage(reqType, body, '');
    } else {
      const field = fieldIndex(reqType).get(binding.body);
      if (!field || !(field.resolvedType instanceof protobuf.Type)) throw new Error(`bad body field ${binding.body}`);
      request[field.name] = isOpaque(field.resolvedType) ? body : readMessage(field.resolvedType, body, binding.body);
      bound.add(field.name);
    }
  }
  for (const [name, value] of Object.entries(http.params)) {
    setPath(request, name, value);
    bound.add(camel(name.split('.')[0] as string));
  }
  if (binding.body !== '*') {
    const idx = fieldIndex(reqType);
    for (const name of new Set(http.query.keys())) {
      if (SYSTEM_QUERY.has(name)) continue;
      const top = name.split('.')[0] as string;
      const field = idx.get(top);
      if (!field || bound.has(field.name)) {
        throw invalidArgument(
          `Invalid JSON payload received. Unknown name ${JSON.stringify(name)}: Cannot bind query parameter. Field ${JSON.stringify(name)} could not be found in request message.`,
          [badRequest('', `Invalid JSON payload received. Unknown name ${JSON.stringify(name)}: Cannot bind query parameter. Field ${JSON.stringify(name)} could not be found in request message.`)],
        );
      }
      if (name.includes('.')) {
        setPath(request, name, http.query.get(name));
        continue;
      }
      const raws = http.query.getAll(name);
      request[field.name] = field.repeated
        ? raws.flatMap((r) => r.split(',')).map((r) => queryValue(field, r, name))
        : queryValue(field, raws[raws.length - 1] as string, name);
    }
  }
  const missing = missingRequired(reqType, request, '', skip);
  if (missing.length > 0) {
    const first = missing[0] as string;
    throw new GoogleError('INVALID_ARGUMENT', `Request is missing required field "${first}".`, missing.map((m) => badRequest(m, 'Required field is not set.')));
  }
  return request;
}
