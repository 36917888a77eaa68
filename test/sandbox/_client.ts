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

export function gpuPool(name: string, zone: string, accel = 'nvidia-l4', count = 1, nodes = 1): Record<string, unknown> {
  return {
    nodePool: {
      name,
      initialNodeCount: nodes,
      locations: [zone],
      config: { machineType: 'g2-standard-8', accelerators: [{ acceleratorType: accel, acceleratorCount: String(count) }] },
    },
  };
}
