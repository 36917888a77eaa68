// More than one node: train-job submits a JobSet (jobset.x-k8s.io/v1alpha2) whose Indexed Job runs one
// pod per node of a 4-node burst pool, with the torchrun rendezvous: one MASTER_ADDR (rank 0 through
// the JobSet's headless Service), MASTER_PORT, NNODES and NODE_RANK from the completion index.
import assert from 'node:assert/strict';
import { afterAll, beforeAll, describe, test, onTestFinished } from 'vitest';
import { kubernetesOf } from '../../scripts/sandbox/kubernetes/index.js';
import type { Json } from '../../scripts/sandbox/kubernetes/store.js';
import { DDP_POOL, fault, pods, start, train, type Fixture } from './helpers.js';

let f: Fixture;
beforeAll(async () => {
  f = await start();
  kubernetesOf(f.sb).installOperator('mlabs', 'jobset');
});
afterAll(async () => f.stop());

const ddp = { target: 'cloud', cloud_accelerator: 'nvidia-l4', cloud_gpus: '1', pool: DDP_POOL, cluster: 'mlabs', location: 'us-central1', nodes: '4', image: 'ghcr.io/mlabs/trainer:1.4', command: '["torchrun", "--nnodes=$(NNODES)", "--node-rank=$(NODE_RANK)", "--master-addr=$(MASTER_ADDR)", "--master-port=$(MASTER_PORT)", "train.py"]' };
const errors = (r: { main: { annotations: { level: string; message: string }[] } }): string => r.main.annotations.filter((a) => a.level === 'error').map((a) => a.message).join('\n');
const envOf = (p: Json): Json[] => ((((p.spec as Json).containers as Json[])[0] as Json).env as Json[]) ?? [];

describe('a 4-node JobSet on a 4-node burst pool', () => {
  test('ranks 0-3 on four nodes, one rendezvous address, every rank\'s log prefixed; nothing left after', async () => {
    fault(f.sb, { kind: 'podExit', match: { cluster: 'mlabs', labelSelector: 'jobset.sigs.k8s.io/jobset-name=ddp' }, afterMs: 700, log: ['rendezvous ok', 'epoch 1 done'] }, onTestFinished);
    const c = f.gke.cluster;
    const seen = new Map<string, Json>();
    let service: Json | undefined;
    const spy = setInterval(() => {
      for (const p of pods(c)) if (String((p.metadata as Json).name).startsWith('ddp-node-0-')) seen.set(String((p.metadata as Json).name), structuredClone(p));
      service ??= c.store.get(c.type('', 'services'), 'default', 'ddp');
    }, 10);
    const r = await train(f, { ...ddp, name: 'ddp' }).finally(() => clearInterval(spy));
    assert.equal(r.exitCode, 0, r.main.log);
    assert.equal(r.outputs.outcome, 'succeeded');
    const ranks = [...seen.values()].map((p) => ((p.metadata as Json).annotations as Json)['batch.kubernetes.io/job-completion-index']).sort();
    assert.deepEqual(ranks, ['0', '1', '2', '3']);
    const addrs = new Set([...seen.values()].map((p) => envOf(p).find((e) => e.name === 'MASTER_ADDR')?.value));
    assert.deepEqual([...addrs], ['ddp-node-0-0.ddp']);
    for (const p of seen.values()) {
      const env = envOf(p);
      assert.equal(env.find((e) => e.name === 'NNODES')?.value, '4');
      assert.equal(env.find((e) => e.name === 'MASTER_PORT')?.value, '29500');
      assert.deepEqual(env.find((e) => e.name === 'NODE_RANK')?.valueFrom, { fieldRef: { fieldPath: "metadata.annotations['batch.kubernetes.io/job-completion-index']" } });
      assert.equal((p.spec as Json).subdomain, 'ddp');
    }
    const rank0 = [...seen.values()].find((p) => ((p.metadata as Json).annotations as Json)['batch.kubernetes.io/job-completion-index'] === '0');
    assert.equal((rank0?.spec as Json).hostname, 'ddp-node-0-0', 'rank 0 is reachable as MASTER_ADDR through the headless Service');
    assert.equal((service?.spec as Json | undefined)?.clusterIP, 'None');
    assert.equal(new Set([...seen.values()].map((p) => (p.spec as Json).nodeName)).size, 4, 'one pod per node');
    for (const rank of [0, 1, 2, 3]) assert.match(r.main.log, new RegExp(`\\[rank ${rank}\\] epoch 1 done`));
    assert.ok(Number(r.outputs.gpu_hours) > 0);
    assert.match(r.summary, /4 nodes × 1 GPU/);
    assert.deepEqual(c.store.list(c.type('jobset.x-k8s.io', 'jobsets'), 'default'), []);
    assert.deepEqual(c.store.list(c.type('batch', 'jobs'), 'default'), []);
  });

  test('one failing rank fails the JobSet and the step within a poll, naming that rank, with its log tail', async () => {
    fault(f.sb, { kind: 'podExit', match: { labelSelector: 'jobset.sigs.k8s.io/jobset-name=ddp-fail' }, completionIndex: 2, afterMs: 300, exitCode: 1, log: ['NCCL error: unhandled system error'] }, onTestFinished);
    fault(f.sb, { kind: 'podExit', match: { labelSelector: 'jobset.sigs.k8s.io/jobset-name=ddp-fail' }, afterMs: 600_000 }, onTestFinished);
    const r = await train(f, { ...ddp, name: 'ddp-fail' });
    assert.equal(r.exitCode, 1);
    assert.equal(r.outputs.outcome, 'failed');
    assert.equal(r.outputs.exit_code, '1');
    assert.match(errors(r), /The training JobSet default\/ddp-fail failed: PodFailurePolicy: Container train for pod default\/ddp-fail-node-0-2-[a-z]+ failed with exit code 1/);
    assert.match(errors(r), /\[rank 2\] NCCL error: unhandled system error/);
    const c = f.gke.cluster;
    assert.deepEqual(pods(c).filter((p) => String((p.metadata as Json).name).startsWith('ddp-fail-')).map((p) => (p.metadata as Json).name), []);
  });
});
