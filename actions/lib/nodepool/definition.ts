/**
 * A node pool's create-able definition: what GKE returned, minus every field Google's contract
 * marks OUTPUT_ONLY (contract.generated.ts, derived from @google-cloud/container's protos.json),
 * minus the two server-set fields the contract leaves unmarked (`etag`, `conditions`). What is
 * left can be sent back in CreateNodePool and gives the same pool.
 */
import type { NodePool } from '../google/container.js';
import { NODE_POOL_TYPES, ROOT_TYPE } from './contract.generated.js';

/** Server-set NodePool fields that protos.json does not mark OUTPUT_ONLY (see shared reference real-clients.md). */
export const SERVER_SET_UNMARKED: readonly string[] = ['etag', 'conditions'];

type Json = Record<string, unknown>;

function strip(value: unknown, type: string): unknown {
  if (Array.isArray(value)) return value.map((v) => strip(v, type));
  if (value === null || typeof value !== 'object') return value;
  const shape = NODE_POOL_TYPES[type];
  if (!shape) return value;
  const out: Json = {};
  for (const [k, v] of Object.entries(value as Json)) {
    if (shape.outputOnly.includes(k)) continue;
    if (type === ROOT_TYPE && SERVER_SET_UNMARKED.includes(k)) continue;
    const child = shape.messages[k];
    out[k] = child ? strip(v, child) : v;
  }
  return out;
}

/** The create-able definition of `pool` (a fresh object). */
export function createableDefinition(pool: NodePool): NodePool {
  return strip(structuredClone(pool), ROOT_TYPE) as NodePool;
}

/** JSON with object keys sorted at every level: the form checksums and comparisons use. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== 'object') return value;
  const out: Json = {};
  for (const k of Object.keys(value as Json).sort()) {
    const v = (value as Json)[k];
    if (v !== undefined) out[k] = sortKeys(v);
  }
  return out;
}

export function sha256(text: string): string {
  return process.getBuiltinModule('node:crypto').createHash('sha256').update(text).digest('hex');
}

export interface DiffEntry {
  path: string;
  /** JSON text, or undefined when absent on that side. */
  expected?: string;
  actual?: string;
}

function flatten(value: unknown, prefix: string, out: Map<string, string>): void {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const keys = Object.keys(value as Json);
    if (keys.length === 0 && prefix) out.set(prefix, '{}');
    for (const k of keys) {
      const v = (value as Json)[k];
      if (v !== undefined) flatten(v, prefix ? `${prefix}.${k}` : k, out);
    }
    return;
  }
  out.set(prefix, JSON.stringify(sortKeys(value)));
}

/**
 * Field-by-field differences between two definitions (dotted paths; arrays compared whole).
 * int64 values GKE sends as strings compare equal to the same number.
 */
export function diffDefinitions(expected: unknown, actual: unknown, ignore: readonly string[] = []): DiffEntry[] {
  const a = new Map<string, string>();
  const b = new Map<string, string>();
  flatten(expected, '', a);
  flatten(actual, '', b);
  const norm = (s: string | undefined) => (s !== undefined && /^"-?\d+"$/.test(s) ? s.slice(1, -1) : s);
  const out: DiffEntry[] = [];
  for (const path of [...new Set([...a.keys(), ...b.keys()])].sort()) {
    if (ignore.some((i) => path === i || path.startsWith(`${i}.`))) continue;
    const x = a.get(path);
    const y = b.get(path);
    if (norm(x) !== norm(y)) out.push({ path, expected: x, actual: y });
  }
  return out;
}

export function formatDiff(diff: DiffEntry[], labels: [string, string] = ['snapshot', 'cluster']): string {
  return diff.map((d) => `  ${d.path}: ${labels[0]} ${d.expected ?? '(absent)'} / ${labels[1]} ${d.actual ?? '(absent)'}`).join('\n');
}
