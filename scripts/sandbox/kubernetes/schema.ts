// Kubernetes schemas, read at run time from the `kubernetes-models` npm package (generated from the
// official OpenAPI): its compiled validators check types, enums and required fields; its type
// declarations (.d.ts) give every object's field names, from which we build strict decoding
// (unknown fields) and the OpenAPI v3 documents kubectl downloads. Nothing here copies a schema.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';

const require = createRequire(import.meta.url);

export type SchemaNode =
  | { kind: 'primitive'; type: 'string' | 'number' | 'integer' | 'boolean' | 'intOrString' | 'quantity' | 'any' }
  | { kind: 'enum'; values: string[] }
  | { kind: 'array'; items: SchemaNode }
  | { kind: 'map'; values: SchemaNode }
  | { kind: 'ref'; name: string };

export interface ObjectSchema {
  /** OpenAPI definition name, e.g. io.k8s.api.apps.v1.Deployment. */
  name: string;
  properties: Map<string, SchemaNode>;
  required: string[];
  /** An empty interface in the models (FieldsV1, JSON, RawExtension): any JSON. */
  freeForm: boolean;
}

const modelsDir = dirname(require.resolve('kubernetes-models/package.json'));
const machineryDir = dirname(require.resolve('@kubernetes-models/apimachinery/package.json'));

const schemas = new Map<string, ObjectSchema>();
const fileToName = new Map<string, string>();

/** `IIoK8sApiCoreV1Container` -> `io.k8s.api.core.v1.Container` (the definition names of the real spec). */
function definitionName(alias: string): string {
  const s = alias.replace(/^I/, '');
  const known: [string, string][] = [
    ['IoK8sApimachineryPkgApisMetaV1', 'io.k8s.apimachinery.pkg.apis.meta.v1.'],
    ['IoK8sApimachineryPkgApiResource', 'io.k8s.apimachinery.pkg.api.resource.'],
    ['IoK8sApimachineryPkgUtilIntstr', 'io.k8s.apimachinery.pkg.util.intstr.'],
    ['IoK8sApimachineryPkgRuntime', 'io.k8s.apimachinery.pkg.runtime.'],
    ['IoK8sApiextensionsApiserverPkgApisApiextensionsV1', 'io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.'],
  ];
  for (const [p, r] of known) if (s.startsWith(p)) return r + s.slice(p.length);
  const m = /^IoK8sApi([A-Z][a-z0-9]*(?:[A-Z][a-z0-9]*)*?)(V\d+(?:(?:alpha|beta)\d+)?)([A-Z].*)$/.exec(s);
  if (m) {
    const group = (m[1] as string).replace(/^[A-Z]/, (c) => c.toLowerCase()).replace(/[A-Z]/g, (c) => c.toLowerCase());
    return `io.k8s.api.${group}.${(m[2] as string).toLowerCase()}.${m[3] as string}`;
  }
  return s;
}

function stripComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
}

/** Split `text` at top-level occurrences of `sep`. */
function splitTop(text: string, sep: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  let inStr = false;
  for (const ch of text) {
    if (ch === '"') inStr = !inStr;
    if (!inStr) {
      if ('{<(['.includes(ch)) depth++;
      if ('}>)]'.includes(ch)) depth--;
      if (ch === sep && depth === 0) {
        out.push(cur);
        cur = '';
        continue;
      }
    }
    cur += ch;
  }
  if (cur.trim()) out.push(cur);
  return out;
}

interface ParsedFile {
  imports: Map<string, string>;
  localInterface?: string;
  body?: string;
  extendsTypeMeta: boolean;
  alias?: string;
  exportedAlias?: string;
}

function parseFile(file: string): ParsedFile {
  const raw = stripComments(readFileSync(file, 'utf8'));
  const imports = new Map<string, string>();
  for (const m of raw.matchAll(/import \{ (\w+) \} from "([^"]+)";/g)) {
    const spec = m[2] as string;
    let target: string;
    if (spec.startsWith('.')) target = resolve(dirname(file), `${spec}.d.ts`);
    else if (spec.startsWith('@kubernetes-models/apimachinery/')) target = join(machineryDir, `${spec.slice('@kubernetes-models/apimachinery/'.length)}.d.ts`);
    else continue;
    imports.set(m[1] as string, target);
  }
  const exp = /export \{ (\w+) as (\w+)/.exec(raw);
  const iface = /export interface (\w+)( extends TypeMeta)? \{/.exec(raw);
  if (iface) {
    const start = (iface.index ?? 0) + iface[0].length;
    let depth = 1;
    let i = start;
    for (; i < raw.length && depth > 0; i++) {
      if (raw[i] === '{') depth++;
      else if (raw[i] === '}') depth--;
    }
    return { imports, localInterface: iface[1], body: raw.slice(start, i - 1), extendsTypeMeta: !!iface[2], exportedAlias: exp?.[2] };
  }
  const alias = /export declare type \w+ = ([^;]+);/.exec(raw);
  return { imports, extendsTypeMeta: false, alias: alias?.[1]?.trim(), exportedAlias: exp?.[2] };
}

function parseType(t: string, file: ParsedFile, self: string): SchemaNode {
  t = t.trim();
  if (t === 'string') return { kind: 'primitive', type: 'string' };
  if (t === 'number') return { kind: 'primitive', type: 'number' };
  if (t === 'boolean') return { kind: 'primitive', type: 'boolean' };
  if (t === 'any' || t === 'object' || t === '{}' || t === 'unknown') return { kind: 'primitive', type: 'any' };
  if (/^"[^"]*"(\s*\|\s*"[^"]*")*$/.test(t)) return { kind: 'enum', values: [...t.matchAll(/"([^"]*)"/g)].map((m) => m[1] as string) };
  const arr = /^Array<([\s\S]+)>$/.exec(t);
  if (arr) return { kind: 'array', items: parseType(arr[1] as string, file, self) };
  const map = /^\{\s*\[key: string\]:\s*([\s\S]+?);?\s*\}$/.exec(t);
  if (map) return { kind: 'map', values: parseType(map[1] as string, file, self) };
  if (/^\w+$/.test(t)) {
    if (t === file.localInterface) return { kind: 'ref', name: self };
    const target = file.imports.get(t);
    if (target) return refFor(target);
  }
  if (t.includes('|')) return { kind: 'primitive', type: 'any' };
  return { kind: 'primitive', type: 'any' };
}

/** Load the schema in a .d.ts file; returns a node (ref for objects, primitive for aliases). */
function refFor(file: string): SchemaNode {
  const known = fileToName.get(file);
  if (known) return { kind: 'ref', name: known };
  const parsed = parseFile(file);
  if (parsed.alias !== undefined) {
    const a = parsed.alias.replace(/\s/g, '');
    if (a === 'string') return { kind: 'primitive', type: 'string' };
    if (a === 'number|string') return { kind: 'primitive', type: 'quantity' };
    if (a === 'string|number') return { kind: 'primitive', type: 'intOrString' };
    return { kind: 'primitive', type: 'any' };
  }
  const name = definitionName(parsed.exportedAlias ?? parsed.localInterface ?? file);
  fileToName.set(file, name);
  const schema: ObjectSchema = { name, properties: new Map(), required: [], freeForm: false };
  schemas.set(name, schema);
  const props = splitTop(parsed.body ?? '', ';');
  for (const p of props) {
    const m = /^\s*"([^"]+)"(\?)?:\s*([\s\S]+)$/.exec(p);
    if (!m) continue;
    const key = m[1] as string;
    if (parsed.extendsTypeMeta && (key === 'apiVersion' || key === 'kind')) {
      schema.properties.set(key, { kind: 'primitive', type: 'string' });
      continue;
    }
    schema.properties.set(key, parseType(m[3] as string, parsed, name));
    if (!m[2]) schema.required.push(key);
  }
  if (parsed.extendsTypeMeta) {
    schema.properties.set('apiVersion', { kind: 'primitive', type: 'string' });
    schema.properties.set('kind', { kind: 'primitive', type: 'string' });
  }
  schema.freeForm = schema.properties.size === 0;
  return { kind: 'ref', name };
}

export function getSchema(name: string): ObjectSchema | undefined {
  return schemas.get(name);
}

/** Directory in kubernetes-models of a group/version ('' group = core: v1). */
function modelPath(group: string, version: string, kind: string): string {
  return group === '' ? join(modelsDir, version, kind) : join(modelsDir, group, version, kind);
}

export function hasModel(group: string, version: string, kind: string): boolean {
  return existsSync(`${modelPath(group, version, kind)}.d.ts`);
}

/** The root schema of a kind (undefined when kubernetes-models has no such kind, e.g. a custom resource). */
export function kindSchema(group: string, version: string, kind: string): ObjectSchema | undefined {
  if (!hasModel(group, version, kind)) return undefined;
  const node = refFor(`${modelPath(group, version, kind)}.d.ts`);
  return node.kind === 'ref' ? schemas.get(node.name) : undefined;
}

export interface ValidationProblem {
  /** `spec.template.spec.containers[0].name` */
  field: string;
  kind: 'unknown' | 'required' | 'type' | 'enum';
  detail: string;
}

function fieldPath(base: string, seg: string | number): string {
  if (typeof seg === 'number') return `${base}[${seg}]`;
  return base ? `${base}.${seg}` : seg;
}

/** Fields present in `value` that the schema does not declare (strict decoding). */
export function unknownFields(schema: ObjectSchema, value: unknown, path = ''): string[] {
  if (schema.freeForm || value === null || typeof value !== 'object' || Array.isArray(value)) return [];
  const out: string[] = [];
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    const node = schema.properties.get(k);
    const p = fieldPath(path, k);
    if (!node) {
      out.push(p);
      continue;
    }
    out.push(...unknownIn(node, v, p));
  }
  return out;
}

function unknownIn(node: SchemaNode, v: unknown, p: string): string[] {
  if (v === null || v === undefined) return [];
  switch (node.kind) {
    case 'ref': {
      const s = schemas.get(node.name);
      return s ? unknownFields(s, v, p) : [];
    }
    case 'array':
      return Array.isArray(v) ? v.flatMap((item, i) => unknownIn(node.items, item, fieldPath(p, i))) : [];
    case 'map':
      return v && typeof v === 'object' && !Array.isArray(v)
        ? Object.entries(v as Record<string, unknown>).flatMap(([k, x]) => unknownIn(node.values, x, `${p}[${k}]`))
        : [];
    default:
      return [];
  }
}

/** Quantity fields whose value is not a Kubernetes quantity (decoding such a body fails in the API server). */
export function badQuantities(schema: ObjectSchema, value: unknown, path = ''): { field: string; value: unknown }[] {
  if (schema.freeForm || value === null || typeof value !== 'object' || Array.isArray(value)) return [];
  const out: { field: string; value: unknown }[] = [];
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    const node = schema.properties.get(k);
    if (node) out.push(...quantitiesIn(node, v, fieldPath(path, k)));
  }
  return out;
}

const QUANTITY = /^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$/;

function quantitiesIn(node: SchemaNode, v: unknown, p: string): { field: string; value: unknown }[] {
  if (v === null || v === undefined) return [];
  switch (node.kind) {
    case 'primitive':
      return node.type === 'quantity' && !(typeof v === 'number' || (typeof v === 'string' && QUANTITY.test(v) && /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+|E[+-]?\d+|[numkMGTPE]|[KMGTPE]i)?$/.test(v))) ? [{ field: p, value: v }] : [];
    case 'ref': {
      const s = schemas.get(node.name);
      return s ? badQuantities(s, v, p) : [];
    }
    case 'array':
      return Array.isArray(v) ? v.flatMap((item, i) => quantitiesIn(node.items, item, fieldPath(p, i))) : [];
    case 'map':
      return v && typeof v === 'object' && !Array.isArray(v) ? Object.entries(v as Record<string, unknown>).flatMap(([k, x]) => quantitiesIn(node.values, x, `${p}[${k}]`)) : [];
    default:
      return [];
  }
}

type Validator = new (data: unknown) => { validate(): void };
const validators = new Map<string, Validator | null>();

/** Type, enum and required-field problems found by kubernetes-models' compiled validator. */
export function validateKind(group: string, version: string, kind: string, obj: unknown): ValidationProblem[] {
  const key = `${group}/${version}/${kind}`;
  let cls = validators.get(key);
  if (cls === undefined) {
    try {
      const mod = require(modelPath(group, version, kind)) as Record<string, Validator>;
      cls = mod[kind] ?? null;
    } catch {
      cls = null;
    }
    validators.set(key, cls);
  }
  if (!cls) return [];
  try {
    new cls(obj).validate();
    return [];
  } catch (err) {
    const errs = (err as { errors?: { instancePath: string; keyword: string; params: Record<string, unknown>; message?: string }[] }).errors ?? [];
    const problems: ValidationProblem[] = [];
    for (const e of errs) {
      const segs = e.instancePath.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
      let p = '';
      for (const s of segs) p = /^\d+$/.test(s) ? `${p}[${s}]` : fieldPath(p, s);
      if (e.keyword === 'required') problems.push({ field: fieldPath(p, String(e.params.missingProperty)), kind: 'required', detail: 'Required value' });
      else if (e.keyword === 'enum')
        problems.push({ field: p, kind: 'enum', detail: `Unsupported value: ${JSON.stringify(getAt(obj, segs))}: supported values: ${((e.params.allowedValues as string[]) ?? []).map((v) => `"${v}"`).join(', ')}` });
      else if (e.keyword === 'type') problems.push({ field: p, kind: 'type', detail: `must be ${String(e.params.type)}` });
    }
    // anyOf/oneOf noise (quantity, int-or-string) is reported as 'type' on the same field; keep one per field.
    const seen = new Set<string>();
    return problems.filter((x) => (seen.has(x.field + x.kind) ? false : (seen.add(x.field + x.kind), true)));
  }
}

function getAt(obj: unknown, segs: string[]): unknown {
  let cur = obj;
  for (const s of segs) cur = cur && typeof cur === 'object' ? (cur as Record<string, unknown>)[s] : undefined;
  return cur;
}

// ---- strategic merge patch metadata -------------------------------------------------------------
// The patch strategy of list fields is a Go struct tag in Kubernetes (`patchStrategy:"merge"
// patchMergeKey:"name"`), not part of the JSON schema kubernetes-models ships; these are those tags.
export const MERGE_KEYS: Record<string, Record<string, string>> = {
  'io.k8s.api.core.v1.PodSpec': { containers: 'name', initContainers: 'name', ephemeralContainers: 'name', volumes: 'name', imagePullSecrets: 'name', hostAliases: 'ip', topologySpreadConstraints: 'topologyKey', resourceClaims: 'name' },
  'io.k8s.api.core.v1.Container': { env: 'name', ports: 'containerPort', volumeMounts: 'mountPath', volumeDevices: 'devicePath' },
  'io.k8s.api.core.v1.EphemeralContainer': { env: 'name', ports: 'containerPort', volumeMounts: 'mountPath', volumeDevices: 'devicePath' },
  'io.k8s.api.core.v1.ServiceSpec': { ports: 'port' },
  'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta': { ownerReferences: 'uid' },
  'io.k8s.api.core.v1.NodeStatus': { addresses: 'type', conditions: 'type' },
  'io.k8s.api.core.v1.PodStatus': { conditions: 'type', podIPs: 'ip' },
  'io.k8s.api.apps.v1.DeploymentStatus': { conditions: 'type' },
  'io.k8s.api.apps.v1.StatefulSetStatus': { conditions: 'type' },
  'io.k8s.api.batch.v1.JobStatus': { conditions: 'type' },
  'io.k8s.api.core.v1.NodeSpec': { podCIDRs: '' },
};
/** List fields merged as sets of primitives (`patchStrategy:"merge"` without a key). */
export const SET_LISTS: Record<string, string[]> = {
  'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta': ['finalizers'],
  'io.k8s.api.core.v1.NodeSpec': ['podCIDRs'],
};

/** Follow a field from a schema to the named schema of its (list item) value. */
export function childSchema(parent: ObjectSchema | undefined, field: string): ObjectSchema | undefined {
  if (!parent) return undefined;
  let node = parent.properties.get(field);
  while (node && (node.kind === 'array' || node.kind === 'map')) node = node.kind === 'array' ? node.items : node.values;
  return node?.kind === 'ref' ? schemas.get(node.name) : undefined;
}

export function mergeKeyOf(parent: ObjectSchema | undefined, field: string): string | undefined {
  if (!parent) return undefined;
  const k = MERGE_KEYS[parent.name]?.[field];
  return k ? k : undefined;
}

export function isSetList(parent: ObjectSchema | undefined, field: string): boolean {
  return !!parent && (SET_LISTS[parent.name] ?? []).includes(field);
}

// ---- OpenAPI v3 --------------------------------------------------------------------------------

function nodeToOpenApi(node: SchemaNode, refs: Set<string>): Record<string, unknown> {
  switch (node.kind) {
    case 'primitive':
      if (node.type === 'intOrString') return { 'x-kubernetes-int-or-string': true };
      if (node.type === 'quantity') return { 'x-kubernetes-int-or-string': true, anyOf: [{ type: 'integer' }, { type: 'string' }] };
      if (node.type === 'any') return { 'x-kubernetes-preserve-unknown-fields': true };
      return { type: node.type === 'number' ? 'integer' : node.type };
    case 'enum':
      return { type: 'string', enum: node.values };
    case 'array':
      return { type: 'array', items: nodeToOpenApi(node.items, refs) };
    case 'map':
      return { type: 'object', additionalProperties: nodeToOpenApi(node.values, refs) };
    case 'ref':
      refs.add(node.name);
      return { allOf: [{ $ref: `#/components/schemas/${node.name}` }] };
  }
}

/** components.schemas for these root definitions and everything they reference. */
export function openApiComponents(
  roots: { schema: ObjectSchema; gvk: { group: string; version: string; kind: string } }[],
): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  const queue = roots.map((r) => r.schema.name);
  const gvkOf = new Map(roots.map((r) => [r.schema.name, r.gvk]));
  while (queue.length) {
    const name = queue.pop() as string;
    if (out[name]) continue;
    const s = schemas.get(name);
    if (!s) continue;
    const refs = new Set<string>();
    const properties: Record<string, unknown> = {};
    for (const [k, node] of s.properties) {
      const p = nodeToOpenApi(node, refs);
      const key = MERGE_KEYS[name]?.[k];
      if (key) Object.assign(p, { 'x-kubernetes-patch-merge-key': key, 'x-kubernetes-patch-strategy': 'merge', 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': [key] });
      else if ((SET_LISTS[name] ?? []).includes(k)) Object.assign(p, { 'x-kubernetes-patch-strategy': 'merge', 'x-kubernetes-list-type': 'set' });
      properties[k] = p;
    }
    const def: Record<string, unknown> = s.freeForm ? { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } : { type: 'object', properties };
    if (s.required.length) def.required = s.required;
    const gvk = gvkOf.get(name);
    if (gvk) def['x-kubernetes-group-version-kind'] = [gvk];
    out[name] = def;
    queue.push(...refs);
  }
  return out;
}
