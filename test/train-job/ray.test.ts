// engine ray: train-job submits a KubeRay RayJob (ray.io/v1) whose RayCluster has a head and `nodes`
// workers of `gpus` GPUs on the burst pool; KubeRay's submitter Job runs `ray job submit -- <entrypoint>`
// and its pod (the sandbox's podExit rules decide how it ends) is what the step follows and reports.
import assert from 'node:assert/strict';
import { afterAll, beforeAll, describe, test, onTestFinished } from 'vitest';
import { shlexSplit } from '../../scripts/sandbox/kubernetes/controllers-ray.js';
import { kubernetesOf, type KubeCluster } from '../../scripts/sandbox/kubernetes/index.js';
import type { Json } from '../../scripts/sandbox/kubernetes/store.js';
import { BURST_POOL, fault, jobs, pods, secrets, spawnTrain, start, train, until, type Fixture } from './helpers.js';

let f: Fixture;
beforeAll(async () => {
  f = await start();
  kubernetesOf(f.sb).installOperator('mlabs', 'kuberay');
});
afterAll(async () => f.stop());

const ray = {
  target: 'cloud', cloud_accelerator: 'nvidia-l4', cloud_gpus: '1', pool: BURST_POOL, cluster: 'mlabs', location: 'us-central1', engine: 'ray', nodes: '2',
  image: 'rayproject/ray-ml:2.9.0-gpu', command: '["python", "train.py"]', args: `["--name", "it's $HOME"]`,
};
const rule = (r: Parameters<typeof fault>[1]): void => fault(f.sb, r, onTestFinished);
const errors = (r: { main: { annotations: { level: string; message: string }[] } }): string => r.main.annotations.filter((a) => a.level === 'error').map((a) => a.message).join('\n');
const names = (c: KubeCluster, group: string, resource: string): string[] => c.store.list(c.type(group, resource), 'default').map((o) => String((o.metadata as Json).name));
const mine = (c: KubeCluster, name: string): string[] => [
  ...names(c, 'ray.io', 'rayjobs'), ...names(c, 'ray.io', 'rayclusters'), ...jobs(c), ...secrets(c), ...pods(c).map((p) => String((p.metadata as Json).name)),
].filter((n) => n === name || n.startsWith(`${name}-`));

describe('engine ray: a KubeRay RayJob', () => {
  test('2 workers × 1 L4 on the burst pool run the entrypoint to success: the submitter\'s log in the step log, outputs, nothing left after', async () => {
    rule({ kind: 'podExit', match: { cluster: 'mlabs', labelSelector: 'batch.kubernetes.io/job-name=ray-ok' }, afterMs: 700, log: ["Job 'ray-ok' submitted successfully", 'epoch 1/2 loss=0.41', 'epoch 2/2 loss=0.22', "Job 'ray-ok' succeeded"] });
    const c = f.gke.cluster;
    const seen = new Map<string, Json>();
    let rayJob: Json | undefined;
    let secret: Json | undefined;
    let submitter: Json | undefined;
    const spy = setInterval(() => {
      for (const p of pods(c)) if (String((p.metadata as Json).name).startsWith('ray-ok-')) seen.set(String((p.metadata as Json).name), structuredClone(p));
      rayJob ??= structuredClone(c.store.get(c.type('ray.io', 'rayjobs'), 'default', 'ray-ok'));
      secret ??= structuredClone(c.store.get(c.type('', 'secrets'), 'default', 'ray-ok'));
      submitter ??= structuredClone(c.store.get(c.type('batch', 'jobs'), 'default', 'ray-ok'));
    }, 10);
    const r = await train(f, { ...ray, name: 'ray-ok', env: 'HF_TOKEN=hf_raysecret_42' }).finally(() => clearInterval(spy));
    assert.equal(r.exitCode, 0, r.main.log);
    assert.equal(r.outputs.outcome, 'succeeded');
    assert.equal(r.outputs.exit_code, '0');
    assert.equal(r.outputs.gpu, 'nvidia-l4');
    assert.ok(Number(r.outputs.gpu_hours) > 0, r.outputs.gpu_hours);
    const shown = r.main.log.replace(/^::debug::.*\n/gm, '');
    assert.match(shown, /epoch 1\/2 loss=0\.41\nepoch 2\/2 loss=0\.22\nJob 'ray-ok' succeeded\n/);
    assert.match(shown, /^\[ray-head\] /m, 'the head\'s log is in the step log too, prefixed');
    assert.match(r.summary, /2 Ray workers × 1 GPU/);
    assert.match(r.summary, /the RayJob, its RayCluster, submitter Job, pods and Secret were deleted/);

    // what was submitted: the entrypoint single-quoted item by item, as KubeRay splits it back
    const spec = (rayJob?.spec ?? {}) as Json;
    assert.equal(spec.entrypoint, `'python' 'train.py' '--name' 'it'\\''s $HOME'`);
    assert.deepEqual(shlexSplit(String(spec.entrypoint)), ['python', 'train.py', '--name', "it's $HOME"]);
    assert.equal(spec.activeDeadlineSeconds, 11 * 3600);
    assert.equal(spec.shutdownAfterJobFinishes, true);
    const cmd = ((((submitter?.spec as Json).template as Json).spec as Json).containers as Json[])[0]?.command as string[];
    assert.deepEqual(cmd.slice(cmd.indexOf('--') + 1), ['python', 'train.py', '--name', "it's $HOME"]);
    const workers = [...seen.values()].filter((p) => ((p.metadata as Json).labels as Json)['ray.io/node-type'] === 'worker');
    const heads = [...seen.values()].filter((p) => ((p.metadata as Json).labels as Json)['ray.io/node-type'] === 'head');
    assert.equal(workers.length, 2, [...seen.keys()].join(' '));
    assert.equal(heads.length, 1);
    for (const p of [...workers, ...heads]) {
      const ps = p.spec as Json;
      const ct = (ps.containers as Json[])[0] as Json;
      assert.deepEqual(ps.nodeSelector, { 'cloud.google.com/gke-accelerator': 'nvidia-l4', 'cloud.google.com/gke-nodepool': BURST_POOL });
      assert.deepEqual(ct.envFrom, [{ secretRef: { name: 'ray-ok' } }]);
      assert.equal(((ct.resources as Json).limits as Json | undefined)?.['nvidia.com/gpu'], workers.includes(p) ? '1' : undefined);
    }
    assert.match(String((((heads[0]?.spec as Json).containers as Json[])[0] as Json).args), /ray start --head --num-gpus=0 /);
    // env values only in the Secret, owned by the RayJob
    assert.doesNotMatch(JSON.stringify(rayJob), /hf_raysecret_42/);
    const owner = ((secret?.metadata as Json).ownerReferences as Json[])[0];
    assert.deepEqual([owner?.kind, owner?.name], ['RayJob', 'ray-ok']);
    assert.deepEqual(r.leaks('hf_raysecret_42'), []);
    await until(() => mine(c, 'ray-ok').length === 0, `nothing of ray-ok left (${mine(c, 'ray-ok').join(' ')})`);
  });

  test('a failing entrypoint fails the step with KubeRay\'s reason, the exit code and the log tail; nothing left after', async () => {
    rule({ kind: 'podExit', match: { cluster: 'mlabs', labelSelector: 'batch.kubernetes.io/job-name=ray-fail' }, afterMs: 400, exitCode: 1, log: ['Traceback (most recent call last):', 'RuntimeError: CUDA error: out of memory'] });
    const r = await train(f, { ...ray, name: 'ray-fail' });
    assert.equal(r.exitCode, 1);
    assert.equal(r.outputs.outcome, 'failed');
    assert.equal(r.outputs.exit_code, '1');
    assert.match(errors(r), /The training RayJob default\/ray-fail failed: AppFailed: Job entrypoint command failed with exit code 1 \(exit code 1\)/);
    assert.match(errors(r), /Last log lines:[\s\S]*RuntimeError: CUDA error: out of memory/);
    assert.doesNotMatch(errors(r), /\[ray-head\]/, 'the tail is the submitter\'s');
    assert.match(r.summary, /Last log lines/);
    await until(() => mine(f.gke.cluster, 'ray-fail').length === 0, `nothing of ray-fail left (${mine(f.gke.cluster, 'ray-fail').join(' ')})`);
  });

  test('cancelled while the entrypoint runs: the RayJob is deleted with its cluster; killed outright, the post step deletes it', async () => {
    rule({ kind: 'podExit', match: { cluster: 'mlabs', labelSelector: 'batch.kubernetes.io/job-name=ray-cancel' }, afterMs: 600_000 });
    rule({ kind: 'podExit', match: { cluster: 'mlabs', labelSelector: 'batch.kubernetes.io/job-name=ray-killed' }, afterMs: 600_000 });
    const c = f.gke.cluster;
    const submitting = (name: string) => (): boolean => pods(c).some((x) => ((x.metadata as Json).labels as Json)['batch.kubernetes.io/job-name'] === name && (x.status as Json | undefined)?.phase === 'Running');
    const p = spawnTrain(f, { ...ray, name: 'ray-cancel' });
    await until(submitting('ray-cancel'), 'the submitter to run');
    process.kill(p.pid, 'SIGINT');
    process.kill(p.pid, 'SIGTERM');
    const end = await p.done;
    assert.equal(end.code, 1, end.log);
    assert.equal(end.outputs.outcome, 'cancelled');
    assert.match(end.log, /Received SIG(INT|TERM): stopping and deleting RayJob default\/ray-cancel/);
    await until(() => mine(c, 'ray-cancel').length === 0, `nothing of ray-cancel left (${mine(c, 'ray-cancel').join(' ')})`);
    assert.equal((await p.post()).exitCode, 0);

    const k = spawnTrain(f, { ...ray, name: 'ray-killed', env: 'A=1' });
    await until(submitting('ray-killed'), 'the submitter to run');
    process.kill(k.pid, 'SIGKILL');
    await k.done;
    assert.deepEqual(names(c, 'ray.io', 'rayjobs').filter((n) => n === 'ray-killed'), ['ray-killed']);
    const post = await k.post();
    assert.equal(post.exitCode, 0, post.log);
    assert.match(post.log, /Deleted RayJob default\/ray-killed/);
    await until(() => mine(c, 'ray-killed').length === 0, `nothing of ray-killed left (${mine(c, 'ray-killed').join(' ')})`);
  });

  test('on a cluster without KubeRay it is refused with the install command before anything is created', async () => {
    const c = f.dgx.cluster;
    const before = { jobs: jobs(c), secrets: secrets(c), pods: pods(c).length };
    const r = await train(f, { target: 'local', runner_label: 'dgx', engine: 'ray', nodes: '2', image: 'rayproject/ray:2.9.0', command: 'python\ntrain.py', name: 'ray-none', env: 'A=1' });
    assert.equal(r.exitCode, 1);
    assert.match(errors(r), /KubeRay is not installed on the cluster at \S+ \(it does not serve RayJob in ray\.io\/v1\); nothing was created\./);
    assert.match(errors(r), /the local-stack action with `components: kuberay` \(ray-project\/kuberay v1\.7\.0\); on GKE, the cluster-operators workflow with `operators: kuberay`/);
    assert.deepEqual({ jobs: jobs(c), secrets: secrets(c), pods: pods(c).length }, before);
    assert.equal(r.main.state.job, undefined);
  });

  test('engine ray without a command is refused before any request', async () => {
    const r = await train(f, { ...ray, name: 'ray-nocmd', command: '', args: '' });
    assert.equal(r.exitCode, 1);
    assert.match(errors(r), /command.*engine ray runs command and args as the RayJob's entrypoint/);
    assert.deepEqual(mine(f.gke.cluster, 'ray-nocmd'), []);
  });
});
