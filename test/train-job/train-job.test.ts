// train-job through its bundle against the sandbox: the dgx machine cluster and the GKE burst pool.
// How the trainer runs and exits is set by the sandbox's podExit / imagePull fault rules.
import assert from 'node:assert/strict';
import { afterAll, beforeAll, describe, test, onTestFinished } from 'vitest';
import type { Json } from '../../scripts/sandbox/kubernetes/store.js';
import { BURST_POOL, fault, jobs, pods, secrets, spawnTrain, start, train, until, type Fixture } from './helpers.js';

let f: Fixture;
beforeAll(async () => {
  f = await start();
});
afterAll(async () => f.stop());

const local = { target: 'local', runner_label: 'dgx', image: 'ghcr.io/mlabs/trainer:1.4', command: '["python", "train.py"]', args: '--config\nconfigs/lora.yaml' };
const cloud = { target: 'cloud', cloud_accelerator: 'nvidia-l4', cloud_gpus: '2', pool: BURST_POOL, cluster: 'mlabs', location: 'us-central1', image: 'ghcr.io/mlabs/trainer:1.4', command: 'python\ntrain.py' };
const rule = (r: Parameters<typeof fault>[1]): void => fault(f.sb, r, onTestFinished);
const errors = (r: { main: { annotations: { level: string; message: string }[] } }): string => r.main.annotations.filter((a) => a.level === 'error').map((a) => a.message).join('\n');

describe('one node on the private machine', () => {
  test('runs the Job on dgx to success, streams its log, stores env in a Secret owned by the Job, then deletes both', async () => {
    rule({ kind: 'podExit', match: { namespace: 'default', labelSelector: 'mlabs.dev/train-job=ok-dgx' }, afterMs: 600, exitCode: 0, log: ['epoch 1/2 loss=0.91', 'epoch 2/2 loss=0.55', 'saved /out/adapter'] });
    let seen: { job?: Json; secret?: Json } = {};
    const c = f.dgx.cluster;
    const spy = setInterval(() => {
      const job = c.store.get(c.type('batch', 'jobs'), 'default', 'ok-dgx');
      const secret = c.store.get(c.type('', 'secrets'), 'default', 'ok-dgx');
      if (job && secret) seen = { job: structuredClone(job), secret: structuredClone(secret) };
    }, 10);
    const r = await train(f, { ...local, name: 'ok-dgx', env: 'HF_TOKEN=hf_secretvalue123\nEPOCHS=2' }).finally(() => clearInterval(spy));
    assert.equal(r.exitCode, 0, r.main.log);
    assert.equal(r.outputs.outcome, 'succeeded');
    assert.equal(r.outputs.exit_code, '0');
    assert.equal(r.outputs.node, 'dgx');
    assert.equal(r.outputs.gpu, 'NVIDIA-GB10');
    assert.equal(r.outputs.estimated_cost_usd, '0');
    assert.ok(Number(r.outputs.duration_seconds) > 0, r.outputs.duration_seconds);
    // As the Actions log shows it without debug logging: the ::debug:: lines of the polls between the trainer's lines are hidden.
    const shown = r.main.log.replace(/^::debug::.*\n/gm, '');
    assert.match(shown, /\$ python train\.py --config configs\/lora\.yaml\nepoch 1\/2 loss=0\.91\nepoch 2\/2 loss=0\.55\nsaved \/out\/adapter\n/);
    // the env values are only in the Secret, which the Job owns
    assert.ok(seen.job && seen.secret, 'the Job and its Secret existed while it ran');
    assert.doesNotMatch(JSON.stringify(seen.job), /hf_secretvalue123/);
    const owner = ((seen.secret.metadata as Json).ownerReferences as Json[])[0];
    assert.deepEqual([owner?.kind, owner?.name, owner?.uid], ['Job', 'ok-dgx', (seen.job.metadata as Json).uid]);
    assert.equal(Buffer.from(String((seen.secret.data as Json).HF_TOKEN), 'base64').toString(), 'hf_secretvalue123');
    const container = (((seen.job.spec as Json).template as Json).spec as Json).containers as Json[];
    assert.deepEqual(container[0]?.envFrom, [{ secretRef: { name: 'ok-dgx' } }]);
    assert.deepEqual(r.leaks('hf_secretvalue123'), []);
    assert.match(r.summary, /train-job ok-dgx: succeeded/);
    assert.match(r.summary, /\$0 \(private machine\)/);
    assert.deepEqual(jobs(c), []);
    assert.deepEqual(secrets(c).filter((s) => s === 'ok-dgx'), []);
  });

  test('a failing trainer fails the step at once with its exit code and last log lines; the Job is deleted', async () => {
    rule({ kind: 'podExit', match: { labelSelector: 'mlabs.dev/train-job=crash' }, afterMs: 400, exitCode: 3, log: ['epoch 1/9 loss=0.9', 'RuntimeError: CUDA error: out of memory'] });
    const r = await train(f, { ...local, name: 'crash' });
    assert.equal(r.exitCode, 1);
    assert.equal(r.outputs.outcome, 'failed');
    assert.equal(r.outputs.exit_code, '3');
    assert.match(errors(r), /The training Job default\/crash failed: PodFailurePolicy: Container train for pod default\/crash-[a-z]+ failed with exit code 3 matching FailJob rule at index 1 \(exit code 3\)/);
    assert.match(errors(r), /Last log lines:[\s\S]*RuntimeError: CUDA error: out of memory/);
    assert.match(r.summary, /### Last log lines[\s\S]*RuntimeError: CUDA error: out of memory/);
    assert.deepEqual(jobs(f.dgx.cluster), []);
  });

  test('an image that cannot be pulled fails fast, naming the image and the reason', async () => {
    rule({ kind: 'imagePull', match: { image: 'ghcr\\.io/mlabs/nope' }, reason: 'not found' });
    const r = await train(f, { ...local, name: 'nopull', image: 'ghcr.io/mlabs/nope:2' });
    assert.equal(r.exitCode, 1);
    assert.equal(r.outputs.outcome, 'failed');
    assert.match(errors(r), /cannot pull image "ghcr\.io\/mlabs\/nope:2": ImagePullBackOff \(Back-off pulling image "ghcr\.io\/mlabs\/nope:2": .*not found\)/);
    assert.match(errors(r), /Fix: Check the image name and tag/);
    assert.deepEqual(jobs(f.dgx.cluster), []);
  });

  test('a pod that stays unschedulable past schedule_timeout fails with the scheduler\'s reason', async () => {
    const r = await train(f, { ...local, name: 'toobig', gpus: '4', schedule_timeout: '2s' });
    assert.equal(r.exitCode, 1);
    assert.match(errors(r), /stayed unschedulable for 2 s \(schedule_timeout\): 0\/1 nodes are available: 1 Insufficient nvidia\.com\/gpu\./);
    assert.deepEqual(jobs(f.dgx.cluster), []);
  });
});

describe('one node on the GKE burst pool', () => {
  test('runs on the burst pool (its nodeSelector and the GPU toleration) and prices the GPU hours', async () => {
    rule({ kind: 'podExit', match: { cluster: 'mlabs', labelSelector: 'mlabs.dev/train-job=burst' }, afterMs: 800, log: ['ddp world size 2'] });
    const r = await train(f, { ...cloud, name: 'burst' });
    assert.equal(r.exitCode, 0, r.main.log);
    assert.equal(r.outputs.outcome, 'succeeded');
    assert.match(r.outputs.node ?? '', new RegExp(`^gke-mlabs-${BURST_POOL}-`));
    assert.equal(r.outputs.gpu, 'nvidia-l4');
    const hours = Number(r.outputs.gpu_hours);
    assert.ok(hours > 0);
    // Both outputs are rounded to 4 decimals from the same unrounded hours: they agree to within one step.
    assert.ok(Math.abs(Number(r.outputs.estimated_cost_usd) - hours * 0.71) <= 0.00015, `${r.outputs.estimated_cost_usd} for ${hours} GPU-hours at $0.71`);
    assert.match(r.main.log, /ddp world size 2/);
    assert.match(r.summary, /GKE burst pool burst-l4 \(nvidia-l4\)/);
    assert.deepEqual(jobs(f.gke.cluster), []);
  });

  test('a pool that does not exist: unschedulable, naming the node selector', async () => {
    const r = await train(f, { ...cloud, name: 'nopool', pool: 'gpu-gone', schedule_timeout: '1s' });
    assert.equal(r.exitCode, 1);
    assert.match(errors(r), /didn't match Pod's node affinity\/selector/);
    assert.deepEqual(jobs(f.gke.cluster), []);
  });
});

describe('cancellation and re-runs', () => {
  test('SIGTERM to the running action deletes the Job and its pod, and reports cancelled', async () => {
    rule({ kind: 'podExit', match: { labelSelector: 'mlabs.dev/train-job=cancel-me' }, afterMs: 600_000, log: ['step 1'] });
    const c = f.dgx.cluster;
    const p = spawnTrain(f, { ...local, name: 'cancel-me' });
    await until(() => pods(c).some((x) => String((x.metadata as Json).name).startsWith('cancel-me-') && (x.status as Json | undefined)?.phase === 'Running'), 'the training pod to run');
    process.kill(p.pid, 'SIGINT');
    process.kill(p.pid, 'SIGTERM');
    const end = await p.done;
    assert.equal(end.code, 1, end.log);
    assert.equal(end.outputs.outcome, 'cancelled');
    // Both signals are pending at once, and Node may hand either over first: the first one stops the run.
    assert.match(end.log, /Received SIG(INT|TERM): stopping and deleting Job default\/cancel-me/);
    assert.deepEqual(jobs(c), []);
    await until(() => !pods(c).some((x) => String((x.metadata as Json).name).startsWith('cancel-me-')), 'the pod to go');
    const post = await p.post();
    assert.equal(post.exitCode, 0, post.log);
  });

  test('when the main step is killed outright, the post step deletes what it created', async () => {
    rule({ kind: 'podExit', match: { labelSelector: 'mlabs.dev/train-job=killed' }, afterMs: 600_000 });
    const c = f.dgx.cluster;
    const p = spawnTrain(f, { ...local, name: 'killed', env: 'A=1' });
    await until(() => pods(c).some((x) => String((x.metadata as Json).name).startsWith('killed-')), 'the training pod');
    process.kill(p.pid, 'SIGKILL');
    await p.done;
    assert.deepEqual(jobs(c), ['killed']);
    const post = await p.post();
    assert.equal(post.exitCode, 0, post.log);
    assert.match(post.log, /Deleted Job default\/killed, its pods and its Secret/);
    assert.deepEqual(jobs(c), []);
    assert.ok(!secrets(c).includes('killed'));
  });

  test('re-running with the same name follows the same workload (no second Job) and refuses a different one', async () => {
    rule({ kind: 'podExit', match: { labelSelector: 'mlabs.dev/train-job=again' }, afterMs: 300 });
    const c = f.dgx.cluster;
    const first = await train(f, { ...local, name: 'again', cleanup: 'never' });
    assert.equal(first.outputs.outcome, 'succeeded', first.main.log);
    assert.deepEqual(jobs(c), ['again']);
    assert.match(first.summary, /kept \(cleanup: never\)/);
    const uid = (c.store.get(c.type('batch', 'jobs'), 'default', 'again')?.metadata as Json).uid;
    const second = await train(f, { ...local, name: 'again', cleanup: 'never' });
    assert.equal(second.outputs.outcome, 'succeeded', second.main.log);
    assert.match(second.main.log, /already exists with this same workload .*following it instead of creating another/);
    assert.equal((c.store.get(c.type('batch', 'jobs'), 'default', 'again')?.metadata as Json).uid, uid, 'the same Job, not a new one');
    const other = await train(f, { ...local, name: 'again', image: 'ghcr.io/mlabs/trainer:2.0' });
    assert.equal(other.exitCode, 1);
    assert.match(errors(other), /Job default\/again already exists with a different workload \(submitted by mlabs\/platform\/1\/1\); nothing was changed\.\nFix: Give the run another name/);
    assert.equal((c.store.get(c.type('batch', 'jobs'), 'default', 'again')?.metadata as Json).uid, uid);
    c.purge(c.type('batch', 'jobs'), c.store.get(c.type('batch', 'jobs'), 'default', 'again') as Json);
  });
});

describe('refusals before anything is created', () => {
  test('more than one node needs JobSet; engine ray needs KubeRay; a queue needs Kueue: each names where it is installed, pinned', async () => {
    for (const [inputs, what] of [[{ nodes: '2' }, /JobSet is not installed .*the local-stack action with `components: jobset` \(kubernetes-sigs\/jobset v0\.12\.0\); on GKE, the cluster-operators workflow with `operators: jobset`/s], [{ engine: 'ray' }, /KubeRay is not installed .*`components: kuberay` \(ray-project\/kuberay v1\.7\.0\)/s], [{ queue: 'team-a' }, /Kueue is not installed .*`components: kueue` \(kubernetes-sigs\/kueue v0\.19\.2\)/s]] as const) {
      const r = await train(f, { ...local, name: 'refused', ...inputs });
      assert.equal(r.exitCode, 1);
      assert.match(errors(r), what);
      assert.deepEqual(jobs(f.dgx.cluster), []);
    }
  });

  test('a namespace that does not exist, an env line that is not KEY=VALUE, an args JSON that is not a list of strings', async () => {
    const ns = await train(f, { ...local, namespace: 'nowhere', name: 'x' });
    assert.match(errors(ns), /Namespace nowhere does not exist .*nothing was created/);
    const env = await train(f, { ...local, name: 'x', env: 'GOOD=1\nnot a pair' });
    assert.match(errors(env), /Input "env": line 2 is not KEY=VALUE/);
    const args = await train(f, { ...local, name: 'x', args: '["--lr", 3]' });
    assert.match(errors(args), /Input "args" is .*expected a JSON array of strings/);
    assert.deepEqual(jobs(f.dgx.cluster), []);
  });
});
