// train-job with `queue`: the Job is created suspended with Kueue's queue label and runs when Kueue
// admits its Workload (the sandbox's Kueue, v0.10.1's shapes, on the dgx machine cluster with one
// ClusterQueue of 1 GPU). Queue time, Kueue's pending message, a queue that does not exist, a workload
// never admitted, a cancelled queued run, an admitted workload Kueue evicts (admitted again, or not).
import assert from 'node:assert/strict';
import { afterAll, beforeAll, describe, test, onTestFinished } from 'vitest';
import { kubernetesOf } from '../../scripts/sandbox/kubernetes/index.js';
import type { Json } from '../../scripts/sandbox/kubernetes/store.js';
import { BURST_POOL, fault, jobs, pods, spawnTrain, start, train, until, type Fixture } from './helpers.js';

let f: Fixture;
beforeAll(async () => {
  f = await start();
  kubernetesOf(f.sb).seedKueueQueue('dgx', {
    queue: 'training', namespace: 'default', clusterQueue: 'gpus', flavor: 'dgx-gpu',
    quota: { cpu: '8', memory: '32Gi', 'nvidia.com/gpu': '1' }, nodeLabels: { 'kubernetes.io/arch': 'arm64' },
  });
});
afterAll(async () => f.stop());

const local = { target: 'local', runner_label: 'dgx', image: 'ghcr.io/mlabs/trainer:1.4', command: '["python", "train.py"]' };
const rule = (r: Parameters<typeof fault>[1]): void => fault(f.sb, r, onTestFinished);
const errors = (r: { main: { annotations: { level: string; message: string }[] } }): string => r.main.annotations.filter((a) => a.level === 'error').map((a) => a.message).join('\n');
const c = () => f.dgx.cluster;
const workloads = (): Json[] => c().store.list(c().type('kueue.x-k8s.io', 'workloads'), 'default');
const ownerName = (w: Json): unknown => (((w.metadata as Json).ownerReferences as Json[] | undefined) ?? [])[0]?.name;
const workloadOf = (job: string): Json | undefined => workloads().find((w) => ownerName(w) === job);
const cond = (o: Json | undefined, type: string): Json | undefined => (((o?.status as Json | undefined)?.conditions as Json[] | undefined) ?? []).find((x) => x.type === type);
const gone = (): Promise<void> => until(() => jobs(c()).length === 0 && workloads().length === 0, 'no Job and no Workload left');

/** A Job of someone else's that holds the queue's one GPU until it is deleted. */
async function holder(): Promise<() => void> {
  rule({ kind: 'podExit', match: { namespace: 'default', labelSelector: 'job-name=holder' }, afterMs: 600_000 });
  c().createObject(c().type('batch', 'jobs'), {
    apiVersion: 'batch/v1', kind: 'Job',
    metadata: { name: 'holder', namespace: 'default', labels: { 'kueue.x-k8s.io/queue-name': 'training' } },
    spec: { suspend: true, backoffLimit: 0, template: { spec: { restartPolicy: 'Never', containers: [{ name: 'train', image: 'ghcr.io/other/trainer:1', resources: { limits: { 'nvidia.com/gpu': '1' } } }] } } },
  }, 'kubectl');
  await until(() => cond(workloadOf('holder'), 'Admitted')?.status === 'True', 'the holder admitted');
  return () => {
    if (c().store.get(c().type('batch', 'jobs'), 'default', 'holder')) c().deleteObject(c().type('batch', 'jobs'), 'default', 'holder');
  };
}

describe('queue: Kueue admission', () => {
  test('a queued Job waits while another holds the quota, with Kueue\'s message in the log; admitted once the quota is free, it runs on the flavor\'s nodes and reports its queue time', async () => {
    const release = await holder();
    onTestFinished(release);
    rule({ kind: 'podExit', match: { namespace: 'default', labelSelector: 'mlabs.dev/train-job=queued' }, afterMs: 300, log: ['epoch 1 done'] });
    let pod: Json | undefined;
    const spy = setInterval(() => {
      pod ??= pods(c()).find((p) => String((p.metadata as Json).name).startsWith('queued-'));
    }, 10);
    const run = spawnTrain(f, { ...local, name: 'queued', queue: 'training', cpu: '2', memory: '4Gi' });
    let ended = false;
    void run.done.then(() => (ended = true));
    onTestFinished(() => {
      if (!ended) process.kill(run.pid, 'SIGKILL');
    });
    // the holder goes only once the action said that the queued Job waits, and why
    await until(() => /Queued in LocalQueue training .*insufficient unused quota/.test(run.logSoFar()), 'the action to say the Job is queued');
    const job = c().store.get(c().type('batch', 'jobs'), 'default', 'queued') as Json;
    assert.equal((job.spec as Json).suspend, true);
    assert.equal(((job.metadata as Json).labels as Json)['kueue.x-k8s.io/queue-name'], 'training');
    assert.equal(cond(workloadOf('queued'), 'QuotaReserved')?.reason, 'Pending');
    release();
    const r = await run.done.finally(() => clearInterval(spy));
    assert.equal(r.code, 0, r.log);
    assert.equal(r.outputs.outcome, 'succeeded');
    assert.ok(Number(r.outputs.queued_seconds) > 0, r.outputs.queued_seconds);
    const log = r.log;
    const queued = log.search(/Queued in LocalQueue training \(ClusterQueue gpus\) for \d+ s: couldn't assign flavors to pod set main: insufficient unused quota for nvidia\.com\/gpu in flavor dgx-gpu, 1 more needed\n/);
    const admitted = log.search(/Admitted by LocalQueue training \(ClusterQueue gpus\), flavor dgx-gpu, after \d+ s in the queue\./);
    const trained = log.indexOf('epoch 1 done');
    assert.ok(queued >= 0 && admitted > queued && trained > admitted, log);
    assert.deepEqual((pod?.spec as Json | undefined)?.nodeSelector, { 'kubernetes.io/arch': 'arm64' }, 'the flavor\'s node labels');
    assert.match(r.summary, new RegExp(`LocalQueue training \\(ClusterQueue gpus\\): admitted after ${r.outputs.queued_seconds?.replace('.', '\\.')} s, flavor dgx-gpu`));
    assert.match(r.summary, /its Workload goes with it/);
    await gone();
  });

  test('a LocalQueue that does not exist in the namespace is refused before anything is created, naming the queue and how to create it', async () => {
    const r = await train(f, { ...local, name: 'noqueue', queue: 'nope' });
    assert.equal(r.exitCode, 1);
    assert.match(errors(r), /LocalQueue nope does not exist in namespace default on https:\/\/127\.0\.0\.1:\d+; nothing was created\.\nFix: Create it .*kind: LocalQueue, metadata: \{name: nope, namespace: default\}, spec: \{clusterQueue: <ClusterQueue>\}/);
    assert.deepEqual(jobs(c()), []);
    assert.deepEqual(workloads(), []);
  });

  test('a workload Kueue never admits fails at schedule_timeout with Kueue\'s message, and is deleted whatever cleanup says', async () => {
    const r = await train(f, { ...local, name: 'starved', queue: 'training', gpus: '2', schedule_timeout: '1s', cleanup: 'never' });
    assert.equal(r.exitCode, 1);
    assert.equal(r.outputs.outcome, 'failed');
    assert.equal(r.outputs.exit_code, '');
    assert.match(errors(r), /Job default\/starved was not admitted by LocalQueue training \(ClusterQueue gpus\) within 1 s \(schedule_timeout\): couldn't assign flavors to pod set main: insufficient quota for nvidia\.com\/gpu in flavor dgx-gpu, request > maximum capacity \(2 > 1\)\. It was deleted; nothing ran\.\nFix: Kueue's message says why/);
    assert.match(r.summary, /not admitted after [\d.]+ s \(couldn't assign flavors/);
    assert.match(r.summary, /never admitted: the Job, its pods and its Secret were deleted/);
    await gone();
  });

  test('a run cancelled while queued deletes its Job, and its Workload goes with it', async () => {
    const release = await holder();
    onTestFinished(release);
    const s = spawnTrain(f, { ...local, name: 'cancelled', queue: 'training' });
    await until(() => cond(workloadOf('cancelled'), 'QuotaReserved')?.reason === 'Pending', 'the workload pending');
    process.kill(s.pid, 'SIGTERM');
    const done = await s.done;
    assert.equal(done.code, 1, done.log);
    assert.match(done.log, /The run was cancelled \(SIGTERM\)/);
    await until(() => !jobs(c()).includes('cancelled') && !workloadOf('cancelled'), 'the cancelled Job and its Workload gone');
    release();
    await gone();
  });

  test('a run killed outright while queued: the post step deletes the Job, and its Workload goes with it', async () => {
    const release = await holder();
    onTestFinished(release);
    const s = spawnTrain(f, { ...local, name: 'killed', queue: 'training' });
    await until(() => cond(workloadOf('killed'), 'QuotaReserved')?.reason === 'Pending', 'the workload pending');
    process.kill(s.pid, 'SIGKILL');
    await s.done;
    assert.ok(jobs(c()).includes('killed'), 'the killed main step left its Job');
    const post = await s.post();
    assert.equal(post.exitCode, 0, post.stdout);
    assert.match(post.stdout, /Deleted Job default\/killed, its pods and its Secret \(the main step did not finish\)\./);
    await until(() => !jobs(c()).includes('killed') && !workloadOf('killed'), 'the killed Job and its Workload gone');
    release();
    await gone();
  });

  test('an admitted Job Kueue evicts is stopped and re-queued with Kueue\'s reason in the log; admitted again, it runs to the end, the timeline keeps the first admission and queued_seconds adds the time re-queued', async () => {
    rule({ kind: 'podExit', match: { namespace: 'default', labelSelector: 'mlabs.dev/train-job=evicted' }, afterMs: 600_000, count: 1 });
    rule({ kind: 'podExit', match: { namespace: 'default', labelSelector: 'mlabs.dev/train-job=evicted' }, afterMs: 200, log: ['second go done'] });
    const run = spawnTrain(f, { ...local, name: 'evicted', queue: 'training' });
    let ended = false;
    void run.done.then(() => (ended = true));
    onTestFinished(() => {
      if (!ended) process.kill(run.pid, 'SIGKILL');
    });
    const running = (p: Json): boolean => (((p.status as Json | undefined)?.containerStatuses as Json[] | undefined) ?? []).some((s) => (s.state as Json | undefined)?.running !== undefined);
    await until(() => /Admitted by LocalQueue training/.test(run.logSoFar()) && pods(c()).some((p) => String((p.metadata as Json).name).startsWith('evicted-') && running(p)), 'the Job admitted and its first pod running');
    const wl = String((workloadOf('evicted')?.metadata as Json).name);
    const reactivate = kubernetesOf(f.sb).evictWorkload('dgx', 'default', wl, 'InactiveWorkload');
    await until(() => /Evicted by Kueue/.test(run.logSoFar()), 'the action to say the Job was evicted');
    const job = c().store.get(c().type('batch', 'jobs'), 'default', 'evicted') as Json;
    assert.equal((job.spec as Json).suspend, true, 'Kueue stopped the Job');
    const w = workloadOf('evicted');
    assert.equal(cond(w, 'Evicted')?.reason, 'InactiveWorkload');
    assert.equal(cond(w, 'QuotaReserved')?.status, 'False');
    assert.equal(cond(w, 'Admitted')?.reason, 'NoReservation');
    assert.equal((w?.status as Json).admission, undefined);
    await new Promise((r) => setTimeout(r, 1100));
    reactivate();
    const r = await run.done;
    assert.equal(r.code, 0, r.log);
    assert.equal(r.outputs.outcome, 'succeeded');
    const log = r.log;
    const evictedAt = log.search(/Evicted by Kueue from LocalQueue training \(ClusterQueue gpus\): InactiveWorkload: The workload is deactivated\. Its pods were stopped; waiting up to \d+ s \(schedule_timeout\) for it to be admitted again\./);
    const again = log.search(/Admitted again by LocalQueue training \(ClusterQueue gpus\), flavor dgx-gpu, after \d+ s re-queued\./);
    assert.ok(evictedAt >= 0 && again > evictedAt && log.indexOf('second go done') > again, log);
    assert.ok(Number(r.outputs.queued_seconds) >= 1, r.outputs.queued_seconds);
    await gone();
  });

  test('an admitted Job Kueue evicts and does not admit again within schedule_timeout fails naming the eviction, and is deleted whatever cleanup says', async () => {
    rule({ kind: 'podExit', match: { namespace: 'default', labelSelector: 'mlabs.dev/train-job=deactivated' }, afterMs: 600_000 });
    const run = spawnTrain(f, { ...local, name: 'deactivated', queue: 'training', schedule_timeout: '1s', cleanup: 'never' });
    let ended = false;
    void run.done.then(() => (ended = true));
    onTestFinished(() => {
      if (!ended) process.kill(run.pid, 'SIGKILL');
    });
    await until(() => /Admitted by LocalQueue training/.test(run.logSoFar()), 'the Job admitted');
    const wl = String((workloadOf('deactivated')?.metadata as Json).name);
    kubernetesOf(f.sb).evictWorkload('dgx', 'default', wl, 'InactiveWorkload');
    const r = await run.done;
    assert.equal(r.code, 1, r.log);
    assert.equal(r.outputs.outcome, 'failed');
    assert.match(r.log, /Job default\/deactivated was evicted by Kueue \(InactiveWorkload: The workload is deactivated\) and not admitted again by LocalQueue training \(ClusterQueue gpus\) within 1 s \(schedule_timeout\): The workload is deactivated\. It was deleted\./);
    assert.match(r.summary, /evicted and not admitted again: the Job, its pods and its Secret were deleted/);
    await gone();
  });

  test('on GKE (the Google identity reads LocalQueues and Workloads as container.thirdPartyObjects.*): a flavor of the burst pool admits the L4 Job, whose pods keep the pool\'s selector', async () => {
    kubernetesOf(f.sb).seedKueueQueue('mlabs', { queue: 'burst', namespace: 'default', clusterQueue: 'l4', flavor: 'l4-burst', quota: { 'nvidia.com/gpu': '2' }, nodeLabels: { 'cloud.google.com/gke-nodepool': BURST_POOL } });
    rule({ kind: 'podExit', match: { cluster: 'mlabs', labelSelector: 'mlabs.dev/train-job=burst-queued' }, afterMs: 200 });
    const r = await train(f, { target: 'cloud', cloud_accelerator: 'nvidia-l4', cloud_gpus: '2', pool: BURST_POOL, cluster: 'mlabs', location: 'us-central1', image: 'ghcr.io/mlabs/trainer:1.4', name: 'burst-queued', queue: 'burst' });
    assert.equal(r.exitCode, 0, r.main.log);
    assert.equal(r.outputs.outcome, 'succeeded');
    assert.match(r.main.log, /Admitted by LocalQueue burst \(ClusterQueue l4\), flavor l4-burst, after \d+ s in the queue\./);
    assert.match(r.outputs.node ?? '', new RegExp(BURST_POOL));
    const g = f.gke.cluster;
    await until(() => g.store.list(g.type('batch', 'jobs'), 'default').length === 0 && g.store.list(g.type('kueue.x-k8s.io', 'workloads'), 'default').length === 0, 'nothing left on GKE');
  });

  test('engine ray behind a queue: the RayJob is created with the queue label, Kueue\'s Workload has the head and worker-group pod sets, and once admitted it runs to success', async () => {
    const k = kubernetesOf(f.sb);
    k.installOperator('mlabs', 'kuberay');
    k.seedKueueQueue('mlabs', { queue: 'ray-burst', namespace: 'default', clusterQueue: 'ray-l4', flavor: 'ray-l4-burst', quota: { 'nvidia.com/gpu': '2' }, nodeLabels: { 'cloud.google.com/gke-nodepool': BURST_POOL } });
    rule({ kind: 'podExit', match: { cluster: 'mlabs', labelSelector: 'batch.kubernetes.io/job-name=ray-queued' }, afterMs: 300, log: ["Job 'ray-queued' succeeded"] });
    const g = f.gke.cluster;
    let rayJob: Json | undefined;
    let wl: Json | undefined;
    const spy = setInterval(() => {
      rayJob ??= structuredClone(g.store.get(g.type('ray.io', 'rayjobs'), 'default', 'ray-queued'));
      wl ??= structuredClone(g.store.list(g.type('kueue.x-k8s.io', 'workloads'), 'default').find((w) => ownerName(w) === 'ray-queued'));
    }, 10);
    const r = await train(f, { target: 'cloud', cloud_accelerator: 'nvidia-l4', cloud_gpus: '1', pool: BURST_POOL, cluster: 'mlabs', location: 'us-central1', engine: 'ray', nodes: '2', image: 'rayproject/ray-ml:2.9.0-gpu', command: '["python", "train.py"]', name: 'ray-queued', queue: 'ray-burst' }).finally(() => clearInterval(spy));
    assert.equal(r.exitCode, 0, r.main.log);
    assert.equal(r.outputs.outcome, 'succeeded');
    assert.equal(r.outputs.exit_code, '0');
    assert.match(r.main.log, /Admitted by LocalQueue ray-burst \(ClusterQueue ray-l4\), flavor ray-l4-burst, after \d+ s in the queue\./);
    assert.match(r.main.log, /Created RayJob default\/ray-queued.*, waiting for admission by LocalQueue ray-burst\./);
    assert.equal(((rayJob?.metadata as Json).labels as Json)['kueue.x-k8s.io/queue-name'], 'ray-burst');
    assert.match(String((wl?.metadata as Json | undefined)?.name), /^rayjob-ray-queued-[0-9a-f]{5}$/);
    assert.deepEqual(((wl?.spec as Json).podSets as Json[]).map((p) => [p.name, p.count]), [['head', 1], ['workers', 2]]);
    assert.match(r.summary, /LocalQueue ray-burst \(ClusterQueue ray-l4\): admitted after/);
    await until(() => g.store.list(g.type('ray.io', 'rayjobs'), 'default').length === 0 && g.store.list(g.type('kueue.x-k8s.io', 'workloads'), 'default').length === 0, 'nothing left on GKE');
  });
});
