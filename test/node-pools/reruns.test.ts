/**
 * Re-runs and failures of the node-pool actions, through the bundles: a re-run after an interrupted
 * run waits for the operation that run left, ensure_quota asks for usage plus what the pool adds,
 * a failed delete is retried once and otherwise says what to do, and a second identical expand is a
 * no-op because the live size is read from Compute's instance groups. Every test uses its own pools.
 */
import assert from 'node:assert/strict';
import { afterAll, beforeAll, beforeEach, test } from 'vitest';
import type { ActionRun } from '../harness.js';
import type { Sandbox } from '../../scripts/sandbox/index.js';
import type { NodePool } from '../../actions/lib/google/container.js';
import { BUCKET, L4, describe, errorText, getText, gke, poolPath, pools, run, runWhileHeld, sandbox } from './helpers.js';

let sb: Sandbox;
let env: Record<string, string>;
beforeAll(async () => ({ sb, env } = await sandbox()));
afterAll(async () => sb.stop());
beforeEach(() => {
  sb.faults.clear();
  sb.ctx.operations.resume();
});

const count = (rpc: string, from = 0) => sb.requests.slice(from).filter((q) => q.rpc === rpc).length;
async function expandL4(pool: string, zone: string, extra: Record<string, string | number | boolean> = {}): Promise<ActionRun> {
  const r = await run('node-pool-expand', env, { ...L4, pool, zones: zone, ...extra });
  assert.equal(r.exitCode, 0, errorText(r));
  return r;
}

/** Run an action while `op` is held RUNNING; it finishes only once the action has polled it. */
const runWhileRunning = (op: string, start: () => Promise<ActionRun>): Promise<ActionRun> =>
  runWhileHeld(sb, (q) => q.rpc === 'GetOperation' && q.path.endsWith(`/operations/${op}`), start);

test('restore re-run while the interrupted create still runs: waits until RUNNING and reports created', async () => {
  await expandL4('gpu-rr', 'us-central1-b');
  const snap = await run('node-pool-snapshot', env, { pool: 'gpu-rr', bucket: BUCKET });
  assert.equal(snap.exitCode, 0, errorText(snap));
  const destroy = await run('node-pool-destroy', env, { pool: 'gpu-rr', snapshot: false });
  assert.equal(destroy.exitCode, 0, errorText(destroy));
  // The interrupted run: it sent the create of the snapshot's definition, then was killed.
  const doc = JSON.parse(await getText(sb, BUCKET, (snap.outputs.uri ?? '').replace(`gs://${BUCKET}/`, ''))) as { nodePool: NodePool };
  sb.ctx.operations.pause();
  const op = await gke(sb, 'POST', poolPath(), { parent: poolPath().replace(/\/nodePools$/, ''), nodePool: doc.nodePool });
  assert.equal((await describe(env, 'gpu-rr'))?.status, 'PROVISIONING');
  const creates = count('CreateNodePool');

  const r = await runWhileRunning(String(op.name), () => run('node-pool-restore', env, { pool: 'gpu-rr', bucket: BUCKET }));
  assert.equal(r.exitCode, 0, errorText(r));
  assert.equal(r.outputs.outcome, 'created');
  assert.match(r.main.stdout, new RegExp(`CREATE_NODE_POOL ${String(op.name)} still running`));
  assert.equal(count('CreateNodePool') - creates, 0, 'the re-run did not create the pool again');
  assert.equal((await describe(env, 'gpu-rr'))?.status, 'RUNNING');
  assert.match(r.summary, /was still running; this run waited for it/);
});

test('destroy re-run while the interrupted delete still runs: waits for it and reports the pool deleted', async () => {
  await expandL4('gpu-rd', 'us-central1-c');
  sb.ctx.operations.pause();
  const op = await gke(sb, 'DELETE', poolPath('gpu-rd'));
  const r = await runWhileRunning(String(op.name), () => run('node-pool-destroy', env, { pool: 'gpu-rd', snapshot: false }));
  assert.equal(r.exitCode, 0, errorText(r));
  assert.equal(r.outputs.deleted, 'true');
  assert.match(r.main.stdout, /DELETE_NODE_POOL .* still running/);
  assert.equal(await describe(env, 'gpu-rd'), undefined);
});

test('expand and snapshot re-runs wait for a resize still running on the pool', async () => {
  await expandL4('gpu-rs', 'us-central1-a');
  sb.ctx.operations.pause();
  const op = await gke(sb, 'POST', `${poolPath('gpu-rs')}:setSize`, { name: poolPath('gpu-rs'), nodeCount: 2 });
  const sizes = count('SetNodePoolSize');
  // The same request as the interrupted run's: once its resize has ended, nothing is left to do.
  const r = await runWhileRunning(String(op.name), () => run('node-pool-expand', env, { ...L4, pool: 'gpu-rs', zones: 'us-central1-a', node_count: 2 }));
  assert.equal(r.exitCode, 0, errorText(r));
  assert.equal(r.outputs.outcome, 'unchanged');
  assert.equal(count('SetNodePoolSize') - sizes, 0);
  assert.equal(r.outputs.gpus, '2');

  sb.ctx.operations.pause();
  const op2 = await gke(sb, 'POST', `${poolPath('gpu-rs')}:setSize`, { name: poolPath('gpu-rs'), nodeCount: 3 });
  const s = await runWhileRunning(String(op2.name), () => run('node-pool-snapshot', env, { pool: 'gpu-rs', bucket: BUCKET }));
  assert.equal(s.exitCode, 0, errorText(s));
  const doc = JSON.parse(await getText(sb, BUCKET, (s.outputs.uri ?? '').replace(`gs://${BUCKET}/`, ''))) as { nodeCount: number; nodeCountSource: string };
  assert.deepEqual([doc.nodeCount, doc.nodeCountSource], [3, 'instance-groups']);
});

test('ensure_quota with the quota full asks for usage plus the pool, and for the growth only when it exists', async () => {
  await expandL4('gpu-qa', 'us-central1-a');
  const regional = sb.ctx.quota.find('NVIDIA_L4_GPUS', 'us-central1');
  const global = sb.ctx.quota.find('GPUS_ALL_REGIONS');
  assert.ok(regional && global);
  const limits = [regional.limit, global.limit] as const;
  try {
    await ensureQuotaRuns(regional, global);
  } finally {
    // Give the GPUs and the quota back, for the other tests.
    for (const pool of ['gpu-qa', 'gpu-qb']) await run('node-pool-destroy', env, { pool, snapshot: false });
    sb.ctx.quota.setLimit(regional, limits[0]);
    sb.ctx.quota.setLimit(global, limits[1]);
  }
});

type QuotaEntry = NonNullable<ReturnType<Sandbox['ctx']['quota']['find']>>;

async function ensureQuotaRuns(regional: QuotaEntry, global: QuotaEntry): Promise<void> {
  const fill = () => {
    sb.ctx.quota.setLimit(regional, sb.ctx.quota.usage(regional));
    sb.ctx.quota.setLimit(global, sb.ctx.quota.usage(global));
    return [sb.ctx.quota.usage(regional), sb.ctx.quota.usage(global)] as const;
  };
  const preferred = (id: string) => {
    const prefs = (sb.state.cloudquotas as { preferences: Array<{ name: string; quotaConfig: { preferredValue: string | number } }> }).preferences;
    return Number(prefs.find((p) => p.name.endsWith(`/quotaPreferences/${id}`))?.quotaConfig.preferredValue);
  };
  const quotaInputs = { ensure_quota: true, quota_contact_email: 'gpu-admins@example.com' };

  const [r0, g0] = fill();
  const created = await run('node-pool-expand', env, { ...L4, pool: 'gpu-qb', zones: 'us-central1-a', ...quotaInputs });
  assert.equal(created.exitCode, 0, errorText(created));
  assert.equal(created.outputs.outcome, 'created');
  assert.equal(preferred('mlabs-nvidia-l4-gpus-us-central1'), r0 + 1);
  assert.equal(preferred('mlabs-gpus-all-regions'), g0 + 1);

  // gpu-qb grows from 1 to 3 nodes: 2 more GPUs, on top of what runs now.
  const [r1, g1] = fill();
  const grown = await run('node-pool-expand', env, { ...L4, pool: 'gpu-qb', zones: 'us-central1-a', node_count: 3, ...quotaInputs });
  assert.equal(grown.exitCode, 0, errorText(grown));
  assert.equal(grown.outputs.outcome, 'resized');
  assert.equal(grown.outputs.gpus, '3');
  assert.equal(preferred('mlabs-nvidia-l4-gpus-us-central1'), r1 + 2);
  assert.equal(preferred('mlabs-gpus-all-regions'), g1 + 2);
}

test('a delete that fails and leaves the pool in ERROR is retried once; twice failed, the error says what to do', async () => {
  await expandL4('gpu-del1', 'us-central1-b');
  sb.faults.add({ kind: 'operationFailure', match: { api: 'container', method: 'DeleteNodePool' }, message: 'Internal error while deleting instances (injected).', count: 1 });
  const d0 = count('DeleteNodePool');
  const once = await run('node-pool-destroy', env, { pool: 'gpu-del1', snapshot: false });
  assert.equal(once.exitCode, 0, errorText(once));
  assert.equal(once.outputs.deleted, 'true');
  assert.match(once.main.stdout, /the pool is in ERROR\. Deleting it once more/);
  assert.equal(count('DeleteNodePool', 0) - d0, 2);
  assert.equal(await describe(env, 'gpu-del1'), undefined);

  await expandL4('gpu-del2', 'us-central1-b');
  sb.faults.add({ kind: 'operationFailure', match: { api: 'container', method: 'DeleteNodePool' }, message: 'Internal error while deleting instances (injected).', count: 2 });
  const twice = await run('node-pool-destroy', env, { pool: 'gpu-del2', snapshot: false });
  assert.equal(twice.exitCode, 1);
  assert.match(errorText(twice), /Deleting node pool gpu-del2 failed 2 times: .*Internal error while deleting instances.*The pool is still there, in ERROR/);
  assert.match(errorText(twice), /Fix: Re-run this step: a pool in ERROR is deleted again/);
  assert.equal(pools(sb).find((p) => p.name === 'gpu-del2')?.status, 'ERROR');
  const again = await run('node-pool-destroy', env, { pool: 'gpu-del2', snapshot: false });
  assert.equal(again.exitCode, 0, errorText(again));
  assert.equal(again.outputs.deleted, 'true');
  assert.equal(await describe(env, 'gpu-del2'), undefined);
});

test('a second identical expand is a no-op: the live size comes from the instance groups, retried; unreadable, nothing changes', async () => {
  await expandL4('gpu-same', 'us-central1-c');
  const sizes = count('SetNodePoolSize');
  const igm = sb.requests.length;
  const again = await run('node-pool-expand', env, { ...L4, pool: 'gpu-same', zones: 'us-central1-c' });
  assert.equal(again.exitCode, 0, errorText(again));
  assert.equal(again.outputs.outcome, 'unchanged');
  assert.ok(sb.requests.slice(igm).some((q) => /instanceGroupManagers\/gke-mlabs-gpu-same-grp$/.test(q.path) && q.status === 200));

  sb.faults.add({ kind: 'error', status: 503, count: 2, match: { api: 'compute', path: 'instanceGroupManagers' } });
  const flaky = await run('node-pool-expand', env, { ...L4, pool: 'gpu-same', zones: 'us-central1-c' });
  assert.equal(flaky.exitCode, 0, errorText(flaky));
  assert.equal(flaky.outputs.outcome, 'unchanged');

  sb.faults.add({ kind: 'error', status: 403, message: "Required 'compute.instanceGroupManagers.get' permission", match: { api: 'compute', path: 'instanceGroupManagers' } });
  const denied = await run('node-pool-expand', env, { ...L4, pool: 'gpu-same', zones: 'us-central1-c', node_count: 2 });
  assert.equal(denied.exitCode, 1);
  assert.match(errorText(denied), /Could not read the live size of node pool gpu-same: instance group \S+\/zones\/us-central1-c\/instanceGroupManagers\/gke-mlabs-gpu-same-grp \(403/);
  assert.match(errorText(denied), /Nothing was changed/);
  assert.equal(count('SetNodePoolSize') - sizes, 0, 'no resize on an unread size');
});
