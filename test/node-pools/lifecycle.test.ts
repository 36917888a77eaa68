/**
 * snapshot → destroy → restore, re-runs, refusals, and a restore over a different pool, through the
 * bundles. Each test starts from a fresh sandbox and makes the pools it needs, so any one passes
 * alone and in any order.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, test } from 'vitest';
import type { Sandbox } from '../../scripts/sandbox/index.js';
import { createableDefinition } from '../../actions/lib/nodepool/definition.js';
import type { NodePool } from '../../actions/lib/google/container.js';
import { BUCKET, L4, describe, errorText, getText, pools, run, sandbox } from './helpers.js';

let sb: Sandbox;
let env: Record<string, string>;
beforeEach(async () => ({ sb, env } = await sandbox()));
afterEach(async () => sb.stop());

/** The L4 pool most tests start from. */
async function givenPool(extra: Record<string, string | number | boolean> = {}): Promise<void> {
  const r = await run('node-pool-expand', env, { ...L4, zones: 'us-central1-a', labels: 'team=ml', ...extra });
  assert.equal(r.exitCode, 0, errorText(r));
}

test('expand creates a GPU pool with the GPU defaults; a re-run changes nothing', async () => {
  const r = await run('node-pool-expand', env, { ...L4, zones: 'us-central1-a', labels: 'team=ml' });
  assert.equal(r.exitCode, 0, errorText(r));
  assert.equal(r.outputs.outcome, 'created');
  assert.equal(r.outputs.zones, 'us-central1-a');
  assert.equal(r.outputs.hourly_cost, '0.71');
  const pool = (await describe(env, 'gpu-l4')) as NodePool;
  assert.equal(pool.status, 'RUNNING');
  assert.deepEqual(pool.locations, ['us-central1-a']);
  assert.equal(pool.config?.machineType, 'g2-standard-4');
  assert.deepEqual(pool.config?.taints, [{ key: 'nvidia.com/gpu', value: 'present', effect: 'NO_SCHEDULE' }]);
  assert.equal(pool.config?.labels?.['mlabs-managed'], 'true');
  assert.equal(pool.config?.labels?.team, 'ml');
  assert.equal(pool.config?.accelerators?.[0]?.gpuDriverInstallationConfig?.gpuDriverVersion, 'DEFAULT');
  assert.match(r.summary, /NVIDIA L4/);
  assert.match(r.summary, /\$0\.71\/h/);

  const again = await run('node-pool-expand', env, { ...L4, zones: 'us-central1-a', labels: 'team=ml' });
  assert.equal(again.exitCode, 0, errorText(again));
  assert.notEqual(again.outputs.outcome, 'created');
  assert.equal(pools(sb).filter((p) => p.name === 'gpu-l4').length, 1);
});

test('snapshot → destroy → restore gives back the same pool in every create-able field (gcloud describe)', async () => {
  await givenPool();
  const original = (await describe(env, 'gpu-l4')) as NodePool;
  const snap = await run('node-pool-snapshot', env, { pool: 'gpu-l4', bucket: BUCKET });
  assert.equal(snap.exitCode, 0, errorText(snap));
  assert.match(snap.outputs.uri ?? '', /^gs:\/\/mlabs-demo-nodepool-snapshots\/node-pools\/mlabs\/gpu-l4\/\d{8}T\d{9}Z\.json$/);
  const doc = JSON.parse(await getText(sb, BUCKET, (snap.outputs.uri ?? '').replace(`gs://${BUCKET}/`, ''))) as Record<string, unknown>;
  assert.equal(doc.formatVersion, 1);
  assert.equal(doc.cluster, 'mlabs');
  assert.equal(doc.location, 'us-central1');
  assert.equal(doc.project, 'mlabs-demo');
  assert.equal(doc.clusterVersion, '1.32.4-gke.1415000');
  assert.equal(doc.poolVersion, original.version);
  assert.match(String(doc.checksum), /^sha256:[0-9a-f]{64}$/);
  const stored = doc.nodePool as Record<string, unknown>;
  for (const f of ['status', 'selfLink', 'instanceGroupUrls', 'podIpv4CidrSize', 'etag', 'conditions']) assert.equal(stored[f], undefined, f);
  const latest = JSON.parse(await getText(sb, BUCKET, 'node-pools/mlabs/gpu-l4/latest.json')) as { uri: string };
  assert.equal(latest.uri, snap.outputs.uri);

  const destroy = await run('node-pool-destroy', env, { pool: 'gpu-l4', bucket: BUCKET });
  assert.equal(destroy.exitCode, 0, errorText(destroy));
  assert.equal(destroy.outputs.deleted, 'true');
  assert.match(destroy.outputs.snapshot_uri ?? '', /^gs:\/\//);
  assert.equal(destroy.outputs.hourly_cost_saved, '0.71');
  assert.equal(await describe(env, 'gpu-l4'), undefined);

  const restore = await run('node-pool-restore', env, { pool: 'gpu-l4', bucket: BUCKET });
  assert.equal(restore.exitCode, 0, errorText(restore));
  assert.equal(restore.outputs.outcome, 'created');
  assert.equal(restore.outputs.snapshot_uri, destroy.outputs.snapshot_uri);
  const back = (await describe(env, 'gpu-l4')) as NodePool;
  assert.equal(back.status, 'RUNNING');
  assert.deepEqual(createableDefinition(back), createableDefinition(original));

  const again = await run('node-pool-restore', env, { pool: 'gpu-l4', bucket: BUCKET });
  assert.equal(again.exitCode, 0, errorText(again));
  assert.equal(again.outputs.outcome, 'unchanged');
});

test('destroy of a pool that is already gone succeeds with a note; a re-run of snapshot keeps latest.json moving', async () => {
  await givenPool();
  const gone = await run('node-pool-destroy', env, { pool: 'never-was', bucket: BUCKET });
  assert.equal(gone.exitCode, 0, errorText(gone));
  assert.equal(gone.outputs.deleted, 'false');
  assert.match(gone.summary, /already gone/);
  const a = await run('node-pool-snapshot', env, { pool: 'gpu-l4', bucket: BUCKET });
  const b = await run('node-pool-snapshot', env, { pool: 'gpu-l4', bucket: BUCKET });
  assert.equal(b.exitCode, 0, errorText(b));
  assert.notEqual(a.outputs.uri, b.outputs.uri);
  const latest = JSON.parse(await getText(sb, BUCKET, 'node-pools/mlabs/gpu-l4/latest.json')) as { uri: string };
  assert.equal(latest.uri, b.outputs.uri);
});

test('destroy refuses a pool without the managed label and the last pool unless force', async () => {
  await givenPool();
  const r = await run('node-pool-destroy', env, { pool: 'system', snapshot: false });
  assert.equal(r.exitCode, 1);
  assert.match(errorText(r), /does not carry the label mlabs-managed=true/);
  assert.ok(pools(sb).some((p) => p.name === 'system'));
  // Make gpu-l4 the last pool: delete system with force.
  const forced = await run('node-pool-destroy', env, { pool: 'system', snapshot: false, force: true });
  assert.equal(forced.exitCode, 0, errorText(forced));
  const last = await run('node-pool-destroy', env, { pool: 'gpu-l4', snapshot: false });
  assert.equal(last.exitCode, 1);
  assert.match(errorText(last), /last node pool/);
  assert.ok(pools(sb).some((p) => p.name === 'gpu-l4'));
});

test('restore over a pool that differs fails with the diff, and replaces it with replace: true', async () => {
  await givenPool();
  const snap = await run('node-pool-snapshot', env, { pool: 'gpu-l4', bucket: BUCKET });
  assert.equal(snap.exitCode, 0, errorText(snap));
  // Make the live pool differ: a different size via expand (autoscaling on).
  const change = await run('node-pool-expand', env, { ...L4, zones: 'us-central1-a', max_nodes: 2, min_nodes: 0 });
  assert.equal(change.exitCode, 0, errorText(change));
  const r = await run('node-pool-restore', env, { pool: 'gpu-l4', bucket: BUCKET });
  assert.equal(r.exitCode, 1);
  assert.match(errorText(r), /differs from the snapshot/);
  assert.match(errorText(r), /autoscaling/);
  const replaced = await run('node-pool-restore', env, { pool: 'gpu-l4', bucket: BUCKET, replace: true });
  assert.equal(replaced.exitCode, 0, errorText(replaced));
  assert.equal(replaced.outputs.outcome, 'replaced');
  const pool = (await describe(env, 'gpu-l4')) as NodePool;
  assert.notEqual(pool.autoscaling?.enabled, true);
});
