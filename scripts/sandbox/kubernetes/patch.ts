// Patches as the API server applies them: JSON merge patch (RFC 7386), JSON patch (RFC 6902),
// strategic merge patch (list merge keys from schema.ts), and server-side apply's field ownership.
import { childSchema, isSetList, mergeKeyOf, type ObjectSchema } from './schema.js';

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);
const clone = <T>(v: T): T => structuredClone(v);

export class PatchError extends Error {}

export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObj(patch)) return clone(patch);
  const out: Json = isObj(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

function pointer(path: string): string[] {
  if (path === '') return [];
  if (!path.startsWith('/')) throw new PatchError(`invalid JSON pointer ${JSON.stringify(path)}`);
  return path.slice(1).split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

export function jsonPatch(doc: unknown, ops: unknown): unknown {
  if (!Array.isArray(ops)) throw new PatchError('json patch must be an array of operations');
  let root = clone(doc);
  const parentOf = (segs: string[]): [unknown, string] => {
    let cur = root;
    for (const s of segs.slice(0, -1)) {
      cur = Array.isArray(cur) ? cur[Number(s)] : isObj(cur) ? cur[s] : undefined;
      if (cur === undefined) throw new PatchError(`doc is missing path: /${segs.join('/')}`);
    }
    return [cur, segs[segs.length - 1] as string];
  };
  const get = (segs: string[]): unknown => {
    let cur = root;
    for (const s of segs) {
      cur = Array.isArray(cur) ? cur[Number(s)] : isObj(cur) ? cur[s] : undefined;
      if (cur === undefined) throw new PatchError(`doc is missing path: /${segs.join('/')}`);
    }
    return cur;
  };
  const remove = (segs: string[]): unknown => {
    const [p, last] = parentOf(segs);
    const v = get(segs);
    if (Array.isArray(p)) p.splice(Number(last), 1);
    else delete (p as Json)[last];
    return v;
  };
  const add = (segs: string[], value: unknown): void => {
    if (segs.length === 0) {
      root = value;
      return;
    }
    const [p, last] = parentOf(segs);
    if (Array.isArray(p)) {
      const i = last === '-' ? p.length : Number(last);
      if (!(i >= 0 && i <= p.length)) throw new PatchError(`unable to access invalid index: ${last}`);
      p.splice(i, 0, value);
    } else if (isObj(p)) p[last] = value;
    else throw new PatchError(`doc is missing path: /${segs.join('/')}`);
  };
  for (const raw of ops) {
    const op = raw as { op?: string; path?: string; from?: string; value?: unknown };
    const path = pointer(op.path ?? '');
    switch (op.op) {
      case 'add':
        add(path, clone(op.value));
        break;
      case 'remove':
        remove(path);
        break;
      case 'replace':
        remove(path);
        add(path, clone(op.value));
        break;
      case 'move':
        add(path, remove(pointer(op.from ?? '')));
        break;
      case 'copy':
        add(path, clone(get(pointer(op.from ?? ''))));
        break;
      case 'test':
        if (JSON.stringify(get(path)) !== JSON.stringify(op.value)) throw new PatchError(`testing value /${path.join('/')} failed`);
        break;
      default:
        throw new PatchError(`Unexpected kind: ${String(op.op)}`);
    }
  }
  return root;
}

function stripDirectives(v: unknown): unknown {
  if (Array.isArray(v)) return v.filter((x) => !(isObj(x) && x.$patch === 'delete')).map(stripDirectives);
  if (!isObj(v)) return v;
  const out: Json = {};
  for (const [k, x] of Object.entries(v)) if (!k.startsWith('$')) out[k] = stripDirectives(x);
  return out;
}

/** Strategic merge patch: like a merge patch, but lists with a merge key merge item by item. */
export function strategicMerge(original: unknown, patch: unknown, schema: ObjectSchema | undefined): unknown {
  if (!isObj(patch)) return clone(patch);
  if (patch.$patch === 'replace') return stripDirectives(patch);
  if (patch.$patch === 'delete') return undefined;
  const out: Json = isObj(original) ? { ...original } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (k.startsWith('$setElementOrder/') || k === '$retainKeys' || k === '$patch') continue;
    if (k.startsWith('$deleteFromPrimitiveList/')) {
      const f = k.slice('$deleteFromPrimitiveList/'.length);
      const cur = out[f];
      if (Array.isArray(cur) && Array.isArray(v)) out[f] = cur.filter((x) => !v.includes(x));
      continue;
    }
    if (v === null) {
      delete out[k];
      continue;
    }
    const child = childSchema(schema, k);
    const key = mergeKeyOf(schema, k);
    if (Array.isArray(v) && key) {
      out[k] = mergeList(Array.isArray(out[k]) ? (out[k] as unknown[]) : [], v, key, child);
    } else if (Array.isArray(v) && isSetList(schema, k)) {
      const cur = Array.isArray(out[k]) ? (out[k] as unknown[]) : [];
      out[k] = [...cur, ...v.filter((x) => !cur.includes(x))];
    } else if (isObj(v) && v.$patch === 'delete') {
      delete out[k];
    } else if (isObj(v)) {
      const merged = strategicMerge(out[k], v, child);
      if (merged === undefined) delete out[k];
      else out[k] = merged;
    } else {
      out[k] = stripDirectives(v);
    }
  }
  return out;
}

function mergeList(cur: unknown[], patch: unknown[], key: string, schema: ObjectSchema | undefined): unknown[] {
  const out = cur.map((x) => clone(x));
  for (const item of patch) {
    if (!isObj(item)) continue;
    if (item.$patch === 'replace') return patch.filter(isObj).map(stripDirectives);
    const i = out.findIndex((x) => isObj(x) && x[key] === item[key]);
    if (item.$patch === 'delete') {
      if (i >= 0) out.splice(i, 1);
      continue;
    }
    if (i >= 0) out[i] = strategicMerge(out[i], item, schema);
    else out.push(stripDirectives(item));
  }
  return out;
}

// ---- server-side apply ----------------------------------------------------------------------------
// A field path is a list of segments: a name, or for list items `{key: value}` (merge-keyed lists),
// `{value}` (sets). Ownership is tracked per manager as a set of leaf paths.

export type Seg = string | { k: string; v: unknown } | { value: unknown };
export type FieldPath = Seg[];

const IGNORED_META = new Set(['name', 'namespace', 'uid', 'resourceVersion', 'generation', 'creationTimestamp', 'managedFields', 'selfLink', 'deletionTimestamp', 'deletionGracePeriodSeconds']);

/** Every owned leaf of an object (status and identity fields excluded). */
export function leafPaths(obj: unknown, schema: ObjectSchema | undefined, top = true): [FieldPath, unknown][] {
  const out: [FieldPath, unknown][] = [];
  if (!isObj(obj)) return out;
  for (const [k, v] of Object.entries(obj)) {
    if (top && (k === 'apiVersion' || k === 'kind' || k === 'status')) continue;
    if (v === null || v === undefined) continue;
    const child = childSchema(schema, k);
    const key = mergeKeyOf(schema, k);
    if (top && k === 'metadata' && isObj(v)) {
      for (const [mk, mv] of Object.entries(v)) {
        if (IGNORED_META.has(mk)) continue;
        if ((mk === 'labels' || mk === 'annotations') && isObj(mv)) {
          for (const [lk, lv] of Object.entries(mv)) out.push([['metadata', mk, lk], lv]);
        } else if (mk === 'finalizers' && Array.isArray(mv)) {
          for (const f of mv) out.push([['metadata', mk, { value: f }], f]);
        } else out.push([['metadata', mk], mv]);
      }
      continue;
    }
    if (Array.isArray(v) && key) {
      for (const item of v) {
        if (!isObj(item)) continue;
        const seg: Seg = { k: key, v: item[key] };
        out.push([[k, seg, key], item[key]]);
        for (const [p, x] of leafPaths(item, child, false)) if (!(p.length === 1 && p[0] === key)) out.push([[k, seg, ...p], x]);
      }
    } else if (Array.isArray(v) && isSetList(schema, k)) {
      for (const x of v) out.push([[k, { value: x }], x]);
    } else if (isObj(v) && Object.keys(v).length > 0 && !(child?.freeForm ?? false)) {
      for (const [p, x] of leafPaths(v, child, false)) out.push([[k, ...p], x]);
    } else {
      out.push([[k], v]);
    }
  }
  return out;
}

export function pathString(p: FieldPath): string {
  return p
    .map((s) => (typeof s === 'string' ? `.${s}` : 'k' in s ? `[${s.k}=${JSON.stringify(s.v)}]` : `[=${JSON.stringify(s.value)}]`))
    .join('');
}

/** managedFields' fieldsV1 for a set of paths. */
export function fieldsV1(paths: FieldPath[]): Json {
  const root: Json = {};
  for (const p of paths) {
    let cur = root;
    for (const s of p) {
      const key = typeof s === 'string' ? `f:${s}` : 'k' in s ? `k:${JSON.stringify({ [s.k]: s.v })}` : `v:${JSON.stringify(s.value)}`;
      cur = (cur[key] ??= {}) as Json;
    }
  }
  return root;
}

export function valueAt(obj: unknown, p: FieldPath): unknown {
  let cur: unknown = obj;
  for (const s of p) {
    if (typeof s === 'string') cur = isObj(cur) ? cur[s] : undefined;
    else if ('k' in s) cur = Array.isArray(cur) ? cur.find((x) => isObj(x) && x[s.k] === s.v) : undefined;
    else cur = Array.isArray(cur) && cur.includes(s.value) ? s.value : undefined;
    if (cur === undefined) return undefined;
  }
  return cur;
}

/** Remove one leaf; removing a list item's key removes the item; empty parents are pruned. */
export function removePath(obj: Json, p: FieldPath): void {
  const chain: unknown[] = [obj];
  let cur: unknown = obj;
  for (const s of p.slice(0, -1)) {
    if (typeof s === 'string') cur = isObj(cur) ? cur[s] : undefined;
    else if ('k' in s) cur = Array.isArray(cur) ? cur.find((x) => isObj(x) && x[s.k] === s.v) : undefined;
    else return;
    if (cur === undefined) return;
    chain.push(cur);
  }
  const last = p[p.length - 1];
  const parent = chain[chain.length - 1];
  const keyed = p[p.length - 2];
  if (typeof last === 'string' && isObj(parent)) {
    if (keyed && typeof keyed !== 'string' && 'k' in keyed && keyed.k === last) {
      const list = chain[chain.length - 2];
      if (Array.isArray(list)) list.splice(list.indexOf(parent), 1);
    } else delete parent[last];
  } else if (last && typeof last !== 'string' && 'value' in last && Array.isArray(parent)) {
    const i = parent.indexOf(last.value);
    if (i >= 0) parent.splice(i, 1);
  }
  // prune empty maps/lists left behind (not the root)
  for (let i = chain.length - 1; i >= 1; i--) {
    const node = chain[i];
    const empty = (isObj(node) && Object.keys(node).length === 0) || (Array.isArray(node) && node.length === 0);
    if (!empty) break;
    const up = chain[i - 1];
    if (isObj(up)) for (const [k, v] of Object.entries(up)) if (v === node) delete up[k];
    if (Array.isArray(up)) up.splice(up.indexOf(node), 1);
  }
}

export interface ManagerEntry {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion: string;
  time: string;
  paths: Map<string, FieldPath>;
}

export interface Conflict {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion: string;
  field: string;
}

/**
 * Server-side apply of `applied` by `manager` onto `current` (undefined when creating).
 * Returns the new object and the new manager table, or the conflicts when not forced.
 */
export function serverSideApply(
  current: Json | undefined,
  applied: Json,
  manager: string,
  managers: ManagerEntry[],
  schema: ObjectSchema | undefined,
  opts: { force: boolean; apiVersion: string },
): { object: Json; managers: ManagerEntry[] } | { conflicts: Conflict[] } {
  const paths = leafPaths(applied, schema);
  const base = current ? clone(current) : {};
  const conflicts: Conflict[] = [];
  for (const [p, v] of paths) {
    const ps = pathString(p);
    for (const m of managers) {
      if (m.manager === manager && m.operation === 'Apply') continue;
      if (!m.paths.has(ps)) continue;
      if (JSON.stringify(valueAt(base, p)) === JSON.stringify(v)) continue;
      conflicts.push({ manager: m.manager, operation: m.operation, apiVersion: m.apiVersion, field: ps });
    }
  }
  if (conflicts.length && !opts.force) return { conflicts };
  const next = managers.map((m) => ({ ...m, paths: new Map(m.paths) }));
  const mine = next.find((m) => m.manager === manager && m.operation === 'Apply');
  const previous = mine ? [...mine.paths.values()] : [];
  const newSet = new Map(paths.map(([p]) => [pathString(p), p] as const));
  // forced: take the conflicting fields away from their owners
  for (const c of conflicts) for (const m of next) if (m !== mine) m.paths.delete(c.field);
  // fields this manager applied before and no longer does, and nobody else owns: removed
  let obj = base;
  for (const p of previous) {
    const ps = pathString(p);
    if (newSet.has(ps)) continue;
    if (next.some((m) => m !== mine && m.paths.has(ps))) continue;
    removePath(obj, p);
  }
  obj = strategicMerge(obj, stripNulls(applied), schema) as Json;
  const entry: ManagerEntry = { manager, operation: 'Apply', apiVersion: opts.apiVersion, time: new Date().toISOString(), paths: newSet };
  const rest = next.filter((m) => m !== mine && m.paths.size > 0);
  return { object: obj, managers: [...rest, entry] };
}

function stripNulls(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(stripNulls);
  if (!isObj(v)) return v;
  const out: Json = {};
  for (const [k, x] of Object.entries(v)) if (x !== null) out[k] = stripNulls(x);
  return out;
}

/** After a non-apply write: `manager` owns every leaf whose value it set or changed. */
export function recordUpdate(
  before: Json | undefined,
  after: Json,
  manager: string,
  managers: ManagerEntry[],
  schema: ObjectSchema | undefined,
  apiVersion: string,
): ManagerEntry[] {
  const changed: [string, FieldPath][] = [];
  for (const [p] of leafPaths(after, schema)) {
    if (before && JSON.stringify(valueAt(before, p)) === JSON.stringify(valueAt(after, p))) continue;
    changed.push([pathString(p), p]);
  }
  if (!changed.length) return managers;
  const next = managers.map((m) => ({ ...m, paths: new Map(m.paths) }));
  for (const m of next) if (!(m.manager === manager && m.operation === 'Update')) for (const [ps] of changed) m.paths.delete(ps);
  let mine = next.find((m) => m.manager === manager && m.operation === 'Update');
  if (!mine) {
    mine = { manager, operation: 'Update', apiVersion, time: '', paths: new Map() };
    next.push(mine);
  }
  mine.time = new Date().toISOString();
  for (const [ps, p] of changed) mine.paths.set(ps, p);
  return next.filter((m) => m.paths.size > 0);
}
