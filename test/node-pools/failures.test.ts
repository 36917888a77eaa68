/**
 * Zone failover, operation failures, 429 storms and every clear error, through the bundles.
 * Each test works on pools of its own, so each passes alone and in any order.
 */
import assert from 'node:assert/strict';
import { afterAll, beforeAll, beforeEach, test } from 'vitest';
import type { Sandbox } from '../../scripts/sandbox/index.js';
import { BUCKET, L4, errorText, getText, gke, poolPath, pools, putObject, run, runWhileHeld, sandbox } from './helpers.js';

let sb: Sandbox;
let env: Record<string, string>;
beforeAll(async () => ({ sb, env } = await sandbox()));
afterAll(async () => sb.stop());
beforeEach(() => sb.faults.clear());

const creates = () => sb.requests.filter((q) => q.rpc === 'CreateNodePool');
const deletes = () => sb.requests.filter((q) => q.rpc === 'DeleteNodePool' && q.status === 200);

test('stockout in the first two zones: created in the third, nothing left in the first two', async () => {
  sb.faults.add({ kind: 'stockout', zones: ['us-central1-a', 'us-central1-b'] });
  const c0 = creates().length;
  const d0 = deletes().length;
  const r = await run('node-pool-expand', env, { ...L4, pool: 'gpu-fo', zones: 'us-central1-a,us-central1-b,us-central1-c' });
  assert.equal(r.exitCode, 0, errorText(r));
  assert.equal(r.outputs.zones, 'us-central1-c');
  const attempts = JSON.parse(r.outputs.attempts ?? '[]') as Array<{ zone: string; outcome: string; cleanup?: string; message?: string }>;
  assert.deepEqual(attempts.map((a) => [a.zone, a.outcome]), [['us-central1-a', 'stockout'], ['us-central1-b', 'stockout'], ['us-central1-c', 'created']]);
  assert.equal(attempts[0]?.cleanup, 'deleted');
  assert.match(attempts[0]?.message ?? '', /GCE_STOCKOUT/);
  assert.equal(creates().length - c0, 3);
  assert.equal(deletes().length - d0, 2);
  const live = pools(sb).filter((p) => p.name === 'gpu-fo');
  assert.equal(live.length, 1);
  assert.deepEqual(live[0]?.locations, ['us-central1-c']);
  assert.equal(live[0]?.status, 'RUNNING');
  assert.match(r.summary, /us-central1-a \| stockout/);
});

test('stockout everywhere: a clear error with every attempt, and nothing orphaned', async () => {
  sb.faults.add({ kind: 'stockout', zones: ['us-central1-a', 'us-central1-b', 'us-central1-c'] });
  const r = await run('node-pool-expand', env, { ...L4, pool: 'gpu-none', zones: 'us-central1-a,us-central1-b,us-central1-c' });
  assert.equal(r.exitCode, 1);
  assert.match(errorText(r), /No zone could create node pool gpu-none/);
  assert.match(errorText(r), /Nothing was left behind/);
  assert.equal(JSON.parse(r.outputs.attempts ?? '[]').length, 3);
  assert.equal(pools(sb).filter((p) => p.name === 'gpu-none').length, 0);
});

test('zones: auto tries the zones the capacity ranking gives', async () => {
  const r = await run('node-pool-expand', env, { ...L4, pool: 'gpu-auto', zones: 'auto' });
  assert.equal(r.exitCode, 0, errorText(r));
  assert.match(r.main.stdout, /zones: auto -> us-central1-/);
  assert.equal(pools(sb).filter((p) => p.name === 'gpu-auto').length, 1);
});

test('quota refused at request time is recorded per zone; nothing is created', async () => {
  sb.faults.add({ kind: 'quota', metric: 'NVIDIA_L4_GPUS', region: 'us-central1' });
  const q = await run('node-pool-expand', env, { ...L4, pool: 'gpu-q', zones: 'us-central1-a,us-central1-b' });
  assert.equal(q.exitCode, 1);
  const attempts = JSON.parse(q.outputs.attempts ?? '[]') as Array<{ outcome: string; message: string }>;
  assert.deepEqual(attempts.map((a) => a.outcome), ['quota', 'quota']);
  assert.match(attempts[0]?.message ?? '', /Insufficient regional quota/);
  assert.equal(pools(sb).filter((p) => p.name === 'gpu-q').length, 0);
});

test('an operation that fails midway: a readable error, the ERROR pool removed, no other zone tried', async () => {
  sb.faults.add({ kind: 'operationFailure', match: { api: 'container', method: 'CreateNodePool' }, message: 'Internal error while creating instances (injected).', count: 1 });
  const r = await run('node-pool-expand', env, { ...L4, pool: 'gpu-opfail', zones: 'us-central1-a,us-central1-b' });
  assert.equal(r.exitCode, 1);
  assert.match(errorText(r), /Internal error while creating instances/);
  assert.equal(JSON.parse(r.outputs.attempts ?? '[]').length, 1);
  assert.equal(pools(sb).filter((p) => p.name === 'gpu-opfail').length, 0);
});

test('a 429 storm on GKE and Storage is ridden out', async () => {
  sb.faults.add({ kind: 'error', status: 429, rate: 0.5, seed: 7, match: { api: 'container' } });
  sb.faults.add({ kind: 'error', status: 503, rate: 0.3, seed: 3, match: { api: 'storage' } });
  const e = await run('node-pool-expand', env, { ...L4, pool: 'gpu-storm', zones: 'us-central1-c' });
  assert.equal(e.exitCode, 0, errorText(e));
  const s = await run('node-pool-snapshot', env, { pool: 'gpu-storm', bucket: BUCKET });
  assert.equal(s.exitCode, 0, errorText(s));
  const d = await run('node-pool-destroy', env, { pool: 'gpu-storm', bucket: BUCKET });
  assert.equal(d.exitCode, 0, errorText(d));
  assert.ok(sb.requests.some((q) => q.status === 429));
  sb.faults.clear();
  const rs = await run('node-pool-restore', env, { pool: 'gpu-storm', bucket: BUCKET });
  assert.equal(rs.exitCode, 0, errorText(rs));
});

test('a corrupted snapshot fails its checksum; an unknown format version is refused', async () => {
  const e = await run('node-pool-expand', env, { ...L4, pool: 'gpu-tamper', zones: 'us-central1-c' });
  assert.equal(e.exitCode, 0, errorText(e));
  const s = await run('node-pool-snapshot', env, { pool: 'gpu-tamper', bucket: BUCKET });
  assert.equal(s.exitCode, 0, errorText(s));
  const object = (s.outputs.uri ?? '').replace(`gs://${BUCKET}/`, '');
  const doc = JSON.parse(await getText(sb, BUCKET, object)) as { nodePool: { initialNodeCount: number }; formatVersion: number };
  doc.nodePool.initialNodeCount = 8;
  await putObject(sb, BUCKET, 'node-pools/mlabs/gpu-tamper/tampered.json', JSON.stringify(doc));
  const bad = await run('node-pool-restore', env, { pool: 'gpu-tamper', bucket: BUCKET, snapshot: `gs://${BUCKET}/node-pools/mlabs/gpu-tamper/tampered.json` });
  assert.equal(bad.exitCode, 1);
  assert.match(errorText(bad), /failed its checksum/);
  const future = JSON.parse(await getText(sb, BUCKET, object)) as { formatVersion: number };
  future.formatVersion = 99;
  await putObject(sb, BUCKET, 'node-pools/mlabs/gpu-tamper/future.json', JSON.stringify(future));
  const v = await run('node-pool-restore', env, { pool: 'gpu-tamper', bucket: BUCKET, snapshot: `gs://${BUCKET}/node-pools/mlabs/gpu-tamper/future.json` });
  assert.equal(v.exitCode, 1);
  assert.match(errorText(v), /format version 99; this version of the action reads version 1/);
  await putObject(sb, BUCKET, 'node-pools/mlabs/gpu-tamper/truncated.json', '{"format":"mlabs.node-pool');
  const t = await run('node-pool-restore', env, { pool: 'gpu-tamper', bucket: BUCKET, snapshot: `gs://${BUCKET}/node-pools/mlabs/gpu-tamper/truncated.json` });
  assert.match(errorText(t), /not valid JSON/);
});

test('missing bucket, wrong cluster, missing pool, no snapshot yet: each its clear error', async () => {
  const b = await run('node-pool-snapshot', env, { pool: 'gpu-fo', bucket: 'no-such-bucket-here' });
  assert.equal(b.exitCode, 1);
  assert.match(errorText(b), /gs:\/\/no-such-bucket-here does not exist/);
  const c = await run('node-pool-restore', env, { pool: 'gpu-fo', bucket: BUCKET, cluster: 'nope' });
  assert.equal(c.exitCode, 1);
  assert.match(errorText(c), /Cluster nope was not found in location us-central1 of project mlabs-demo/);
  const c2 = await run('node-pool-destroy', env, { pool: 'gpu-fo', bucket: BUCKET, cluster: 'nope' });
  assert.match(errorText(c2), /Cluster nope was not found/);
  const p = await run('node-pool-snapshot', env, { pool: 'missing-pool', bucket: BUCKET });
  assert.equal(p.exitCode, 1);
  assert.match(errorText(p), /Node pool missing-pool does not exist in cluster mlabs/);
  const n = await run('node-pool-restore', env, { pool: 'never-snapshotted', bucket: BUCKET });
  assert.equal(n.exitCode, 1);
  assert.match(errorText(n), /No snapshot of node pool never-snapshotted/);
  const i = await run('node-pool-expand', env, { ...L4, accelerator_type: 'nvidia-x9' });
  assert.match(errorText(i), /Input "accelerator_type"/);
});

test('a mutation refused with CLUSTER_ALREADY_HAS_OPERATION waits for that operation and goes on', async () => {
  const base = await run('node-pool-expand', env, { ...L4, pool: 'gpu-busy', zones: 'us-central1-b' });
  assert.equal(base.exitCode, 0, errorText(base));
  // Another client resizes gpu-busy; its operation is held RUNNING until the create was refused.
  sb.ctx.operations.pause();
  const busy = await gke(sb, 'POST', `${poolPath('gpu-busy')}:setSize`, { name: poolPath('gpu-busy'), nodeCount: 2 });
  const before = sb.requests.length;
  const r = await runWhileHeld(
    sb,
    (q) => q.seq > (sb.requests[before - 1]?.seq ?? 0) && q.rpc === 'CreateNodePool' && q.status === 400,
    () => run('node-pool-expand', env, { ...L4, pool: 'gpu-lock', zones: 'us-central1-c' }),
  );
  assert.equal(r.exitCode, 0, errorText(r));
  assert.equal(r.outputs.outcome, 'created');
  const seen = sb.requests.slice(before);
  assert.ok(seen.some((q) => q.rpc === 'CreateNodePool' && q.status === 400), 'the first create was refused while the resize ran');
  assert.ok(seen.some((q) => q.rpc === 'GetOperation' && q.path.endsWith(String(busy.name))), 'it waited on the blocking operation');
  assert.equal(seen.filter((q) => q.rpc === 'CreateNodePool' && q.status === 200).length, 1);
  assert.equal(pools(sb).find((p) => p.name === 'gpu-lock')?.status, 'RUNNING');
});

test('without service_account the pool would run as the Compute default account: refused, naming actAs, the input and the Terraform line', async () => {
  const r = await run('node-pool-expand', env, { ...L4, pool: 'gpu-nosa', zones: 'us-central1-a', service_account: '' });
  assert.notEqual(r.exitCode, 0);
  const text = errorText(r);
  assert.match(text, /Required "iam\.serviceAccounts\.actAs" permission\(s\) for "projects\/-\/serviceAccounts\/123456789012-compute@developer\.gserviceaccount\.com"/);
  assert.match(text, /Set the input service_account to the platform's node account \(the repository variable MLABS_NODE_SERVICE_ACCOUNT[^)]*\)\. terraform\/modules\/iam\/main\.tf:\d+ grants roles\/iam\.serviceAccountUser/);
  assert.equal(pools(sb).filter((p) => p.name === 'gpu-nosa').length, 0, 'nothing was created');
});

test('a service_account that is not an email is refused before any request', async () => {
  const before = sb.requests.length;
  const r = await run('node-pool-expand', env, { ...L4, pool: 'gpu-badsa', service_account: 'mlabs-nodes' });
  assert.notEqual(r.exitCode, 0);
  assert.match(errorText(r), /Input "service_account" is "mlabs-nodes": expected a service account email/);
  assert.equal(sb.requests.length, before);
});
