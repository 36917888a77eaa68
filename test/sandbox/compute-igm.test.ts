// The managed instance groups behind GKE node pools, read with real gcloud: the size a pool runs
// per zone, and what its groups are doing while GKE creates or deletes the pool.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, test } from 'vitest';
import { startSandbox, type Sandbox } from '../../scripts/sandbox/index.js';
import { runProgram } from '../harness.js';

let sb: Sandbox;
let config: string;
beforeAll(async () => {
  sb = await startSandbox({ operationMs: 0 });
  config = mkdtempSync(join(tmpdir(), 'gcloud-config-'));
});
afterAll(async () => {
  await sb?.stop();
  if (config) rmSync(config, { recursive: true, force: true });
});

type Json = Record<string, unknown>;

async function gcloud(args: string[]): Promise<unknown> {
  const r = await runProgram('gcloud', [...args, '--format=json'], { ...(process.env as Record<string, string>), ...sb.env, CLOUDSDK_CONFIG: config }).catch((err: Error) => {
    throw new Error(`gcloud is not runnable (install the Google Cloud CLI): ${err.message}`);
  });
  if (r.code !== 0) throw new Error(`gcloud ${args.join(' ')} failed: ${r.stderr}`);
  return JSON.parse(r.stdout || 'null');
}

async function gke(method: string, path: string, body?: unknown): Promise<Json> {
  const res = await fetch(`${sb.url}/container/v1/projects/mlabs-demo/locations/us-central1/clusters/mlabs/${path}`, {
    method,
    headers: { authorization: `Bearer ${sb.accessToken}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  assert.ok(res.ok, `${method} ${path}: ${res.status}`);
  return (await res.json()) as Json;
}

const pool = async (name: string): Promise<Json> => gke('GET', `nodePools/${name}`);

test('gcloud compute instance-groups managed describe: the groups GKE lists for a pool, with their size', async () => {
  const system = await pool('system');
  const urls = system.instanceGroupUrls as string[];
  assert.equal(urls.length, 3);
  const url = urls[0] as string;
  const [, zone, name] = /\/zones\/([^/]+)\/instanceGroupManagers\/([^/]+)$/.exec(url) as unknown as [string, string, string];
  const igm = (await gcloud(['compute', 'instance-groups', 'managed', 'describe', name, '--zone', zone])) as Json;
  assert.equal(igm.name, name);
  assert.match(String(igm.zone), new RegExp(`/zones/${zone}$`));
  assert.equal(igm.targetSize, 1);
  assert.equal((igm.currentActions as Json).none, 1);
  assert.equal((igm.status as Json).isStable, true);
  assert.match(String(igm.instanceGroup), new RegExp(`/zones/${zone}/instanceGroups/${name}$`));
  await assert.rejects(gcloud(['compute', 'instance-groups', 'managed', 'describe', 'no-such-group', '--zone', 'us-central1-a']), /was not found/);
});

test('gcloud compute instance-groups managed list --zones: sizes follow a resize, groups follow the pool', async () => {
  sb.ctx.operations.pause();
  await gke('POST', 'nodePools', {
    nodePool: { name: 'gpu-igm', initialNodeCount: 2, locations: ['us-central1-b'], config: { machineType: 'g2-standard-4', accelerators: [{ acceleratorType: 'nvidia-l4', acceleratorCount: '1' }] } },
  });
  const creating = (await gcloud(['compute', 'instance-groups', 'managed', 'list', '--zones', 'us-central1-b'])) as Json[];
  const group = creating.find((g) => g.name === 'gke-mlabs-gpu-igm-grp');
  assert.ok(group, JSON.stringify(creating.map((g) => g.name)));
  assert.equal(group.targetSize, 2);
  assert.equal((group.currentActions as Json).creating, 2);
  assert.equal((group.status as Json).isStable, false);
  assert.equal(group.autoscaled, 'no');
  sb.ctx.operations.resume();
  await waitDone();

  await gke('POST', 'nodePools/gpu-igm:setSize', { nodeCount: 3 });
  await waitDone();
  const resized = (await gcloud(['compute', 'instance-groups', 'managed', 'list', '--zones', 'us-central1-b'])) as Json[];
  const after = resized.find((g) => g.name === 'gke-mlabs-gpu-igm-grp');
  assert.equal(after?.targetSize, 3);
  assert.equal(after?.size, '3');
  assert.equal((after?.status as Json).isStable, true);

  await gke('DELETE', 'nodePools/gpu-igm');
  await waitDone();
  const gone = (await gcloud(['compute', 'instance-groups', 'managed', 'list', '--zones', 'us-central1-b'])) as Json[];
  assert.deepEqual(gone.map((g) => g.name), ['gke-mlabs-system-grp']);
});

/** Until no GKE operation is RUNNING (operationMs is 0: each ends on the next timer tick). */
async function waitDone(): Promise<void> {
  const ops = () => (sb.state.container as { operations: Json[] }).operations;
  while (ops().some((o) => o.status !== 'DONE')) await new Promise((r) => setTimeout(r, 5));
}
