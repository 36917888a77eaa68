// A tiny client for tests: authenticated JSON calls against a sandbox.
import type { Sandbox } from '../../scripts/sandbox/index.js';

export interface Answer<T = Record<string, unknown>> {
  status: number;
  body: T;
}

export async function call<T = Record<string, unknown>>(
  sb: Sandbox,
  method: string,
  path: string,
  body?: unknown,
  token: string | null = sb.accessToken,
): Promise<Answer<T>> {
  const res = await fetch(`${sb.url}${path}`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : {}) as T };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Poll until fn() returns truthy (bounded number of tries; no timing assertions). */
export async function until<T>(fn: () => Promise<T | undefined | false>, tries = 200, everyMs = 25): Promise<T> {
  for (let i = 0; i < tries; i++) {
    const v = await fn();
    if (v) return v;
    await sleep(everyMs);
  }
  throw new Error('condition not reached');
}

export const CLUSTER = '/container/v1/projects/mlabs-demo/locations/us-central1/clusters/mlabs';
export const OPS = '/container/v1/projects/mlabs-demo/locations/us-central1/operations';

export async function waitOp(sb: Sandbox, name: string): Promise<Record<string, unknown>> {
  return until(async () => {
    const r = await call(sb, 'GET', `${OPS}/${name}`);
    return r.body.status === 'DONE' ? r.body : undefined;
  });
}

/** A machine type that takes `count` GPUs of `accel` (G2 for L4, N1 for the attachable ones). */
export function machineFor(accel: string, count: number): string {
  if (accel === 'nvidia-l4') return ({ 1: 'g2-standard-8', 2: 'g2-standard-24', 4: 'g2-standard-48', 8: 'g2-standard-96' } as Record<number, string>)[count] ?? 'g2-standard-8';
  return count >= 4 ? 'n1-standard-16' : 'n1-standard-8';
}

export function gpuPool(name: string, zone: string, accel = 'nvidia-l4', count = 1, nodes = 1): Record<string, unknown> {
  return {
    nodePool: {
      name,
      initialNodeCount: nodes,
      locations: [zone],
      config: { machineType: machineFor(accel, count), accelerators: [{ acceleratorType: accel, acceleratorCount: String(count) }] },
    },
  };
}
