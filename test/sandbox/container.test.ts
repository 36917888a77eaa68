// Fidelity rules of the sandbox, shown on GKE node pools and Compute quotas.
import assert from 'node:assert/strict';
import { afterAll, beforeAll, beforeEach, describe, test } from 'vitest';
import { startSandbox, type Sandbox } from '../../scripts/sandbox/index.js';
import { CLUSTER, OPS, call, gpuPool, sleep, waitOp } from './_client.js';

let sb: Sandbox;
beforeAll(async () => {
  sb = await startSandbox({ operationMs: 60 });
});
afterAll(async () => {
  await sb.stop();
});
beforeEach(() => {
  sb.faults.clear();
  sb.ctx.operations.resume();
});

type Json = Record<string, unknown>;
const errorOf = (b: Json): { code: number; message: string; status: string; details?: Json[] } =>
  b.error as { code: number; message: string; status: string; details?: Json[] };

async function createAndSettle(name: string, zone: string, accel = 'nvidia-l4', count = 1, nodes = 1): Promise<Json> {
  const r = await call(sb, 'POST', `${CLUSTER}/nodePools`, gpuPool(name, zone, accel, count, nodes));
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return waitOp(sb, String(r.body.name));
}
async function deleteAndSettle(name: string): Promise<void> {
  const r = await call(sb, 'DELETE', `${CLUSTER}/nodePools/${name}`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  await waitOp(sb, String(r.body.name));
}

describe('contracts', () => {
  test('an unknown field is refused with Google\'s wording and path', async () => {
    const body = gpuPool('bad', 'us-central1-a');
    ((body.nodePool as Json).config as Json).foo = 1;
    const r = await call(sb, 'POST', `${CLUSTER}/nodePools`, body);
    assert.equal(r.status, 400);
    const e = errorOf(r.body);
    assert.equal(e.status, 'INVALID_ARGUMENT');
    assert.equal(e.message, `Invalid JSON payload received. Unknown name "foo" at 'node_pool.config': Cannot find field.`);
  });

  test('an unknown enum value and an unknown query parameter are refused', async () => {
    const r = await call(sb, 'POST', `${CLUSTER}/nodePools`, { nodePool: { name: 'x', autoscaling: { locationPolicy: 'NOPE' } } });
    assert.equal(r.status, 400);
    assert.match(errorOf(r.body).message, /Invalid value at 'node_pool.autoscaling.location_policy'/);
    const q = await call(sb, 'GET', `${CLUSTER}/nodePools?bogus=1`);
    assert.equal(q.status, 400);
    assert.match(errorOf(q.body).message, /Unknown name "bogus": Cannot bind query parameter/);
  });

  test('a missing required field is refused', async () => {
    const r = await call(sb, 'POST', `${CLUSTER}/nodePools`, {});
    assert.equal(r.status, 400);
    assert.equal(errorOf(r.body).status, 'INVALID_ARGUMENT');
    assert.match(errorOf(r.body).message, /node_pool/);
  });

  test('output-only fields are ignored on input and set by the server', async () => {
    const body = gpuPool('outonly', 'us-central1-b');
    Object.assign(body.nodePool as Json, { status: 'RUNNING', selfLink: 'https://evil.example/x', statusMessage: 'hi' });
    sb.ctx.operations.pause();
    const r = await call(sb, 'POST', `${CLUSTER}/nodePools`, body);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const np = await call(sb, 'GET', `${CLUSTER}/nodePools/outonly`);
    assert.equal(np.body.status, 'PROVISIONING');
    assert.equal(np.body.statusMessage, undefined);
    assert.equal(np.body.selfLink, `${sb.url}${CLUSTER}/nodePools/outonly`);
    sb.ctx.operations.resume();
    await waitOp(sb, String(r.body.name));
    await deleteAndSettle('outonly');
  });

  test('int64 travels as a string and the legacy zones binding answers too', async () => {
    const r = await call(sb, 'GET', '/container/v1/projects/mlabs-demo/zones/us-central1/clusters/mlabs/nodePools/system');
    assert.equal(r.status, 200);
    assert.equal(((r.body.maxPodsConstraint as Json).maxPodsPerNode), '110');
    assert.deepEqual((r.body.config as Json).labels, { 'mlabs-role': 'system' });
  });
});

describe('auth', () => {
  test('a missing, unknown or expired token gets 401 UNAUTHENTICATED', async () => {
    for (const token of [null, 'ya29.not-issued-here']) {
      const r = await call(sb, 'GET', CLUSTER, undefined, token);
      assert.equal(r.status, 401);
      assert.equal(errorOf(r.body).status, 'UNAUTHENTICATED');
    }
    const t = sb.ctx.tokens.issue({ subject: 'short@mlabs-demo.iam.gserviceaccount.com', ttlSeconds: 60 });
    assert.equal((await call(sb, 'GET', CLUSTER, undefined, t.token)).status, 200);
    sb.ctx.tokens.expire(t.token);
    assert.equal((await call(sb, 'GET', CLUSTER, undefined, t.token)).status, 401);
  });
});

describe('GKE node pools', () => {
  test('LRO lifecycle: PROVISIONING -> RUNNING, STOPPING -> gone; operations list', async () => {
    const events: string[] = [];
    const onEvent = (e: { action: string; pool: string }): void => {
      if (e.pool === 'life') events.push(e.action);
    };
    sb.ctx.events.on('container.nodePool', onEvent);
    sb.ctx.operations.pause();
    const r = await call(sb, 'POST', `${CLUSTER}/nodePools`, gpuPool('life', 'us-central1-a', 'nvidia-l4', 1, 2));
    assert.equal(r.status, 200);
    assert.equal(r.body.status, 'RUNNING');
    assert.equal(r.body.operationType, 'CREATE_NODE_POOL');
    assert.match(String(r.body.name), /^operation-\d+-[0-9a-f]{8}$/);
    assert.equal((await call(sb, 'GET', `${CLUSTER}/nodePools/life`)).body.status, 'PROVISIONING');
    sb.ctx.operations.resume();
    const done = await waitOp(sb, String(r.body.name));
    assert.equal(done.error, undefined);
    assert.ok(done.endTime);
    const np = await call(sb, 'GET', `${CLUSTER}/nodePools/life`);
    assert.equal(np.body.status, 'RUNNING');
    const nodes = (sb.ctx.services.get('container') as { listNodes(): { pool: string; zone: string }[] }).listNodes().filter((n) => n.pool === 'life');
    assert.equal(nodes.length, 2);
    const list = await call(sb, 'GET', OPS);
    assert.ok((list.body.operations as Json[]).some((o) => o.name === r.body.name));

    sb.ctx.operations.pause();
    const del = await call(sb, 'DELETE', `${CLUSTER}/nodePools/life`);
    assert.equal(del.body.operationType, 'DELETE_NODE_POOL');
    assert.equal((await call(sb, 'GET', `${CLUSTER}/nodePools/life`)).body.status, 'STOPPING');
    sb.ctx.operations.resume();
    await waitOp(sb, String(del.body.name));
    const gone = await call(sb, 'GET', `${CLUSTER}/nodePools/life`);
    assert.equal(gone.status, 404);
    assert.equal(errorOf(gone.body).status, 'NOT_FOUND');
    sb.ctx.events.off('container.nodePool', onEvent);
    assert.deepEqual(events, ['provisioning', 'created', 'deleting', 'deleted']);
  });

  test('creating the same pool twice: 409 ALREADY_EXISTS', async () => {
    await createAndSettle('twice', 'us-central1-a');
    const r = await call(sb, 'POST', `${CLUSTER}/nodePools`, gpuPool('twice', 'us-central1-a'));
    assert.equal(r.status, 409);
    assert.equal(errorOf(r.body).status, 'ALREADY_EXISTS');
    await deleteAndSettle('twice');
  });

  test('a second mutation while one runs: 400 FAILED_PRECONDITION CLUSTER_ALREADY_HAS_OPERATION', async () => {
    sb.ctx.operations.pause();
    const first = await call(sb, 'POST', `${CLUSTER}/nodePools`, gpuPool('busy1', 'us-central1-a'));
    const second = await call(sb, 'POST', `${CLUSTER}/nodePools/system:setSize`, { nodeCount: 2 });
    sb.ctx.operations.resume();
    assert.equal(second.status, 400);
    const e = errorOf(second.body);
    assert.equal(e.status, 'FAILED_PRECONDITION');
    assert.equal(e.message, `Cluster is running incompatible operation ${String(first.body.name)}.`);
    assert.equal(e.details?.[0]?.reason, 'CLUSTER_ALREADY_HAS_OPERATION');
    assert.equal(e.details?.[0]?.domain, 'container.googleapis.com');
    await waitOp(sb, String(first.body.name));
    await deleteAndSettle('busy1');
  });

  test('setSize, setAutoscaling and update run as operations and change the pool', async () => {
    await createAndSettle('tune', 'us-central1-a');
    let r = await call(sb, 'POST', `${CLUSTER}/nodePools/tune:setSize`, { nodeCount: 2 });
    assert.equal(r.body.operationType, 'SET_NODE_POOL_SIZE');
    await waitOp(sb, String(r.body.name));
    const svc = sb.ctx.services.get('container') as { listNodes(): { pool: string }[] };
    assert.equal(svc.listNodes().filter((n) => n.pool === 'tune').length, 2);
    r = await call(sb, 'POST', `${CLUSTER}/nodePools/tune:setAutoscaling`, { autoscaling: { enabled: true, minNodeCount: 0, maxNodeCount: 1 } });
    await waitOp(sb, String(r.body.name));
    const np = await call(sb, 'GET', `${CLUSTER}/nodePools/tune`);
    assert.deepEqual(np.body.autoscaling, { enabled: true, minNodeCount: 0, maxNodeCount: 1 });
    assert.equal(svc.listNodes().filter((n) => n.pool === 'tune').length, 1);
    r = await call(sb, 'PUT', `${CLUSTER}/nodePools/tune`, { nodeVersion: '-', imageType: 'COS_CONTAINERD', labels: { labels: { team: 'ml' } } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    await waitOp(sb, String(r.body.name));
    const after1 = await call(sb, 'GET', `${CLUSTER}/nodePools/tune`);
    assert.deepEqual((after1.body.config as Json).labels, { team: 'ml' });
    await deleteAndSettle('tune');
  });

  test('an accelerator the zone does not offer: 400 with GKE\'s wording', async () => {
    // P100s attach to N1 (offered everywhere) but only us-central1-c and -f have them.
    const r = await call(sb, 'POST', `${CLUSTER}/nodePools`, gpuPool('nop100', 'us-central1-a', 'nvidia-tesla-p100'));
    assert.equal(r.status, 400);
    assert.equal(errorOf(r.body).message, 'Accelerator type "nvidia-tesla-p100" does not exist in zone us-central1-a.');
  });

  test('quota: running pools count as usage; a request beyond it is refused at request time with 403', async () => {
    const region = async (): Promise<Json[]> => (await call(sb, 'GET', '/compute/v1/projects/mlabs-demo/regions/us-central1')).body.quotas as Json[];
    const l4 = (qs: Json[]): Json | undefined => qs.find((q) => q.metric === 'NVIDIA_L4_GPUS');
    assert.equal(l4(await region())?.usage, 0);
    await createAndSettle('q1', 'us-central1-a', 'nvidia-l4', 2, 3); // 6 of 8
    assert.equal(l4(await region())?.usage, 6);
    const r = await call(sb, 'POST', `${CLUSTER}/nodePools`, gpuPool('q2', 'us-central1-b', 'nvidia-l4', 1, 3));
    assert.equal(r.status, 403);
    const e = errorOf(r.body);
    assert.equal(e.status, 'PERMISSION_DENIED');
    assert.equal(
      e.message,
      `Insufficient regional quota to satisfy request: resource "NVIDIA_L4_GPUS": request requires '3.0' and is short '1.0'. project has a quota of '8.0' with '2.0' available. View and manage quotas at https://console.cloud.google.com/iam-admin/quotas?usage=USED.`,
    );
    // No operation started for the refused create.
    assert.equal((await call(sb, 'GET', `${CLUSTER}/nodePools/q2`)).status, 404);
    await deleteAndSettle('q1');
    assert.equal(l4(await region())?.usage, 0);
  });
});

describe('faults', () => {
  test('latency delays only the matching method (ordering, not timing)', async () => {
    sb.faults.add({ kind: 'latency', match: { api: 'container', method: 'GetNodePool' }, ms: 250, count: 1 });
    const order: string[] = [];
    const slow = call(sb, 'GET', `${CLUSTER}/nodePools/system`).then(() => order.push('slow'));
    await sleep(20);
    const fast = call(sb, 'GET', `${CLUSTER}/nodePools`).then(() => order.push('fast'));
    await Promise.all([slow, fast]);
    assert.deepEqual(order, ['fast', 'slow']);
  });

  test('the next N calls answer 429 then 503, then calls succeed again', async () => {
    sb.faults.add({ kind: 'error', match: { method: 'ListNodePools' }, status: 429, count: 2 });
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await call(sb, 'GET', `${CLUSTER}/nodePools`)).status);
    assert.deepEqual(statuses, [429, 429, 200]);
    sb.faults.add({ kind: 'error', match: { path: '/nodePools$' }, status: 503, count: 1 });
    const r = await call(sb, 'GET', `${CLUSTER}/nodePools`);
    assert.equal(r.status, 503);
    assert.equal(errorOf(r.body).status, 'UNAVAILABLE');
    const r429 = sb.requests.filter((q) => q.rpc === 'ListNodePools' && q.status === 429);
    assert.equal(r429.length, 2);
  });

  test('stockout: the create operation runs and fails with GCE_STOCKOUT; the pool is left in ERROR until deleted', async () => {
    sb.faults.add({ kind: 'stockout', zones: ['us-central1-a'] });
    const r = await call(sb, 'POST', `${CLUSTER}/nodePools`, gpuPool('stock', 'us-central1-a'));
    assert.equal(r.status, 200, 'stockout is not refused at request time');
    const op = await waitOp(sb, String(r.body.name));
    assert.match(String(op.statusMessage), /\[GCE_STOCKOUT\]: Instance '.*' creation failed: The zone 'projects\/mlabs-demo\/zones\/us-central1-a' does not have enough resources available to fulfill the request\. {2}Try a different zone, or try again later\./);
    assert.match(String((op.error as Json).message), /GCE_STOCKOUT/);
    const np = await call(sb, 'GET', `${CLUSTER}/nodePools/stock`);
    assert.equal(np.body.status, 'ERROR');
    assert.equal(((np.body.conditions as Json[])[0] as Json).code, 'GCE_STOCKOUT');
    const again = await call(sb, 'POST', `${CLUSTER}/nodePools`, gpuPool('stock', 'us-central1-b'));
    assert.equal(again.status, 409);
    await deleteAndSettle('stock');
    const ok = await createAndSettle('stock', 'us-central1-b');
    assert.equal(ok.error, undefined);
    await deleteAndSettle('stock');
  });

  test('quota exhaustion fault: 403 at request time, and Compute shows usage at the limit', async () => {
    sb.faults.add({ kind: 'quota', metric: 'GPUS_ALL_REGIONS' });
    const r = await call(sb, 'POST', `${CLUSTER}/nodePools`, gpuPool('nq', 'us-central1-a'));
    assert.equal(r.status, 403);
    assert.match(errorOf(r.body).message, /^Insufficient project quota to satisfy request: resource "GPUS_ALL_REGIONS": request requires '1.0'/);
    const proj = await call(sb, 'GET', '/compute/v1/projects/mlabs-demo');
    const g = (proj.body.quotas as Json[]).find((q) => q.metric === 'GPUS_ALL_REGIONS') as Json;
    assert.equal(g.usage, g.limit);
  });

  test('an operation that fails midway ends DONE with error and leaves the pool in ERROR', async () => {
    sb.faults.add({ kind: 'operationFailure', match: { method: 'CreateNodePool' }, count: 1, message: 'Internal error while creating instance group.' });
    const r = await call(sb, 'POST', `${CLUSTER}/nodePools`, gpuPool('mid', 'us-central1-c'));
    const op = await waitOp(sb, String(r.body.name));
    assert.equal((op.error as Json).code, 13);
    assert.equal((op.error as Json).message, 'Internal error while creating instance group.');
    assert.equal((await call(sb, 'GET', `${CLUSTER}/nodePools/mid`)).body.status, 'ERROR');
    await deleteAndSettle('mid');
  });
});

describe('state', () => {
  test('seed -> dump -> seed round-trip keeps pools, quotas and unknown sections', async () => {
    await createAndSettle('keep', 'us-central1-c');
    const dumped = sb.dump();
    dumped.kubernetes = { objects: [{ kind: 'ConfigMap', metadata: { name: 'x' } }] };
    const sb2 = await startSandbox({ seed: JSON.parse(JSON.stringify(dumped)) as Record<string, unknown>, operationMs: 20 });
    try {
      const np = await call(sb2, 'GET', `${CLUSTER}/nodePools/keep`);
      assert.equal(np.status, 200);
      assert.equal(np.body.status, 'RUNNING');
      assert.deepEqual(sb2.dump().kubernetes, dumped.kubernetes);
      // Same pools, configs and nodes (selfLinks carry the new port).
      const shape = (d: Json): unknown =>
        ((d.container as Json).clusters as Json[]).map((c) => ({
          name: c.name,
          pools: (c.nodePools as Json[]).map((np) => ({ name: np.name, status: np.status, config: np.config, locations: np.locations })),
        }));
      assert.deepEqual(shape(sb2.dump()), shape(dumped));
      assert.deepEqual((sb2.dump().container as Json).nodes, (dumped.container as Json).nodes);
      assert.deepEqual(sb2.dump().quotas, dumped.quotas);
    } finally {
      await sb2.stop();
    }
    await deleteAndSettle('keep');
  });
});
