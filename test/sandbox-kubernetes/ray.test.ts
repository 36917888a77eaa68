// The KubeRay operator's simulation (ray.io/v1, kuberay v1.2.2) driven by real kubectl against the dgx
// machine cluster: a RayCluster's head, worker pods and head Service, replicas changed by a merge patch
// (the CRDs have no scale subresource, so `kubectl scale` is refused), and a RayJob that makes its
// RayCluster, then the submitter Job whose pod (run by the kubelet simulation, podExit rules decide its
// end) decides jobStatus and jobDeploymentStatus; RBAC for the CRDs like any other resource.
import assert from 'node:assert/strict';
import { afterAll, beforeAll, describe, it } from 'vitest';
import type { FaultRule } from '../../scripts/sandbox/faults.js';
import { shlexSplit } from '../../scripts/sandbox/kubernetes/controllers-ray.js';
import { applyOk, faultForTest, startKube, type KubeFixture } from './helpers.js';

let k: KubeFixture;
beforeAll(async () => {
  k = await startKube();
  assert.equal((await k.kubectl(['create', 'namespace', 'ray'])).code, 0);
  k.kube.installOperator('dgx', 'kuberay');
});
afterAll(async () => k.stop());

const fault = (rule: FaultRule): void => faultForTest(k, rule);

const apply = (yaml: string): Promise<void> => applyOk(k, yaml);

const jsonpath = async (what: string[], path: string): Promise<string> => {
  const r = await k.kubectl(['get', ...what, '-n', 'ray', '-o', `jsonpath=${path}`]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout;
};

const until = async (what: string[], path: string, want: (v: string) => boolean): Promise<string> => {
  for (let i = 0; ; i++) {
    const v = await jsonpath(what, path);
    if (want(v)) return v;
    if (i > 300) throw new Error(`${what.join(' ')} ${path} stayed ${v}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};

const clusterSpec = (workers: number): string => `
    rayVersion: '2.9.0'
    headGroupSpec:
      rayStartParams: {num-gpus: '0'}
      template:
        spec:
          containers: [{name: ray-head, image: 'rayproject/ray:2.9.0'}]
    workerGroupSpecs:
    - groupName: gpu
      replicas: ${workers}
      minReplicas: 0
      maxReplicas: 4
      rayStartParams: {}
      template:
        spec:
          containers: [{name: ray-worker, image: 'rayproject/ray:2.9.0'}]`;

const workers = async (cluster: string): Promise<string[]> =>
  (await jsonpath(['pods', '-l', `ray.io/cluster=${cluster},ray.io/node-type=worker`], '{range .items[*]}{.metadata.name} {end}')).trim().split(' ').filter(Boolean);

describe('RayCluster', () => {
  it('runs a head and the group\'s workers, is ready with its head Service; a merge patch of replicas adds and removes workers, kubectl scale is refused', async () => {
    await apply(`apiVersion: ray.io/v1\nkind: RayCluster\nmetadata: {name: rc, namespace: ray}\nspec:${clusterSpec(2)}\n`);
    assert.equal(await until(['raycluster/rc'], '{.status.state}', (v) => v === 'ready'), 'ready');
    assert.equal(await jsonpath(['raycluster/rc'], '{.status.readyWorkerReplicas}/{.status.desiredWorkerReplicas}/{.status.maxWorkerReplicas}'), '2/2/4');
    const head = await jsonpath(['pods', '-l', 'ray.io/cluster=rc,ray.io/node-type=head'], '{.items[0].metadata.name}');
    assert.match(head, /^rc-head-[a-z0-9]{5}$/);
    assert.equal(await jsonpath([`pod/${head}`], '{.spec.containers[0].args[0]}'), 'ulimit -n 65536; ray start --head --num-gpus=0 --dashboard-host=0.0.0.0 --metrics-export-port=8080 --block');
    for (const w of await workers('rc')) assert.match(w, /^rc-gpu-worker-[a-z0-9]{5}$/);
    assert.equal(await jsonpath(['service/rc-head-svc'], '{range .spec.ports[*]}{.name}={.port} {end}'), 'client=10001 redis=6379 dashboard=8265 metrics=8080 serve=8000 ');
    assert.equal(await jsonpath(['raycluster/rc'], '{.status.head.serviceName} {.status.head.podName}'), `rc-head-svc ${head}`);

    const scale = await k.kubectl(['scale', 'raycluster/rc', '--replicas=3', '-n', 'ray']);
    assert.notEqual(scale.code, 0);
    assert.match(scale.stderr, /NotFound|not found|could not find/i);

    const up = await k.kubectl(['patch', 'raycluster/rc', '-n', 'ray', '--type', 'merge', '-p', '{"spec":{"workerGroupSpecs":[{"groupName":"gpu","replicas":3,"minReplicas":0,"maxReplicas":4,"rayStartParams":{},"template":{"spec":{"containers":[{"name":"ray-worker","image":"rayproject/ray:2.9.0"}]}}}]}}']);
    assert.equal(up.code, 0, up.stderr);
    await until(['raycluster/rc'], '{.status.readyWorkerReplicas}', (v) => v === '3');
    assert.equal((await workers('rc')).length, 3);
    const down = await k.kubectl(['patch', 'raycluster/rc', '-n', 'ray', '--type', 'json', '-p', '[{"op":"replace","path":"/spec/workerGroupSpecs/0/replicas","value":1}]']);
    assert.equal(down.code, 0, down.stderr);
    await until(['raycluster/rc'], '{.status.desiredWorkerReplicas}/{.status.readyWorkerReplicas}', (v) => v === '1/1');
    assert.equal((await workers('rc')).length, 1);
    // above maxReplicas: clamped
    await k.kubectl(['patch', 'raycluster/rc', '-n', 'ray', '--type', 'json', '-p', '[{"op":"replace","path":"/spec/workerGroupSpecs/0/replicas","value":9}]']);
    await until(['raycluster/rc'], '{.status.desiredWorkerReplicas}/{.status.readyWorkerReplicas}', (v) => v === '4/4');
    assert.equal((await k.kubectl(['delete', 'raycluster/rc', '-n', 'ray'])).code, 0);
    await until(['pods', '-l', 'ray.io/cluster=rc'], '{.items[*].metadata.name}', (v) => v === '');
  });
});

const rayJob = (name: string, entrypoint: string, extra = ''): string =>
  `apiVersion: ray.io/v1\nkind: RayJob\nmetadata: {name: ${name}, namespace: ray}\nspec:\n  entrypoint: ${JSON.stringify(entrypoint)}\n  shutdownAfterJobFinishes: true\n  submitterConfig: {backoffLimit: 0}\n${extra}  rayClusterSpec:${clusterSpec(2).replace(/\n {4}/g, '\n    ')}\n`;

describe('RayJob (K8sJobMode)', () => {
  it('makes its RayCluster, then the submitter Job running ray job submit; SUCCEEDED and Complete; the cluster goes, the submitter Job stays', async () => {
    fault({ kind: 'podExit', match: { namespace: 'ray', labelSelector: 'job-name=hello' }, afterMs: 1500, log: ['epoch 1 loss=0.4', 'done'] });
    await apply(rayJob('hello', "python train.py --name 'two words'"));
    const cluster = await until(['rayjob/hello'], '{.status.rayClusterName}', (v) => v !== '');
    assert.match(cluster, /^hello-raycluster-[a-z0-9]{5}$/);
    assert.equal(await jsonpath(['rayjob/hello'], '{.metadata.finalizers[0]}'), 'ray.io/rayjob-stop-job');
    await until(['rayclusters', '-l', 'ray.io/originated-from-cr-name=hello'], '{.items[*].metadata.name}', (v) => v === cluster);
    const seen = (await k.kubectl(['get', 'rayjobs,rayclusters', '-n', 'ray', '-o', 'name'])).stdout.split('\n');
    assert.ok(seen.includes('rayjob.ray.io/hello') && seen.includes(`raycluster.ray.io/${cluster}`), seen.join(' '));
    await until(['rayjob/hello'], '{.status.jobDeploymentStatus}', (v) => v === 'Complete');
    assert.equal(await jsonpath(['rayjob/hello'], '{.status.jobStatus}'), 'SUCCEEDED');
    assert.match(await jsonpath(['rayjob/hello'], '{.status.startTime} {.status.endTime}'), /^\d{4}-\S+Z \d{4}-\S+Z$/);
    const jobId = await jsonpath(['rayjob/hello'], '{.status.jobId}');
    assert.match(jobId, /^hello-[a-z0-9]{5}$/);
    const cmd = JSON.parse(await jsonpath(['job/hello'], '{.spec.template.spec.containers[0].command}')) as string[];
    assert.deepEqual(cmd, ['ray', 'job', 'submit', '--address', `http://${cluster}-head-svc.ray.svc.cluster.local:8265`, '--submission-id', jobId, '--', 'python', 'train.py', '--name', 'two words']);
    assert.equal(await jsonpath(['job/hello'], '{.spec.template.spec.containers[0].name} {.metadata.ownerReferences[0].kind}'), 'ray-job-submitter RayJob');
    const logs = await k.kubectl(['logs', 'job/hello', '-n', 'ray']);
    assert.match(logs.stdout, /epoch 1 loss=0\.4\ndone\n$/);
    await until(['rayclusters'], '{.items[*].metadata.name}', (v) => v === '');
    assert.equal(await jsonpath(['job/hello'], '{.status.succeeded}'), '1');
    assert.equal((await k.kubectl(['delete', 'rayjob/hello', '-n', 'ray', '--wait=true'])).code, 0);
    await until(['jobs'], '{.items[*].metadata.name}', (v) => !v.split(' ').includes('hello'));
  });

  it('a failing entrypoint: jobStatus FAILED, Failed with reason AppFailed and Ray\'s message', async () => {
    fault({ kind: 'podExit', match: { namespace: 'ray', labelSelector: 'job-name=crash' }, afterMs: 300, exitCode: 1, log: ['Traceback (most recent call last):', 'RuntimeError: CUDA out of memory'] });
    await apply(rayJob('crash', 'python train.py'));
    await until(['rayjob/crash'], '{.status.jobDeploymentStatus}', (v) => v === 'Failed');
    assert.equal(await jsonpath(['rayjob/crash'], '{.status.jobStatus} {.status.reason}'), 'FAILED AppFailed');
    assert.equal(await jsonpath(['rayjob/crash'], '{.status.message}'), 'Job entrypoint command failed with exit code 1');
    assert.equal(await jsonpath(['job/crash'], '{.status.failed}'), '1', 'submitterConfig.backoffLimit 0: one attempt');
  });

  it('activeDeadlineSeconds fails it with DeadlineExceeded; suspend deletes the cluster and resuming submits again', async () => {
    fault({ kind: 'podExit', match: { namespace: 'ray', labelSelector: 'job-name=slow' }, afterMs: 600_000 });
    await apply(rayJob('slow', 'python train.py', '  activeDeadlineSeconds: 1\n'));
    await until(['rayjob/slow'], '{.status.jobDeploymentStatus}', (v) => v === 'Failed');
    assert.equal(await jsonpath(['rayjob/slow'], '{.status.reason}'), 'DeadlineExceeded');

    await apply(rayJob('later', 'python train.py', '  suspend: true\n'));
    await until(['rayjob/later'], '{.status.jobDeploymentStatus}', (v) => v === 'Suspended');
    assert.equal(await jsonpath(['rayclusters', '-l', 'ray.io/originated-from-cr-name=later'], '{.items[*].metadata.name}'), '');
    assert.equal((await k.kubectl(['patch', 'rayjob/later', '-n', 'ray', '--type', 'merge', '-p', '{"spec":{"suspend":false}}'])).code, 0);
    await until(['rayjob/later'], '{.status.jobDeploymentStatus}', (v) => ['Running', 'Complete'].includes(v));
  });

  it('RBAC covers the CRDs like any resource: a service account may create rayjobs.ray.io once a Role grants it', async () => {
    const as = ['--as=system:serviceaccount:ray:ci', '-n', 'ray'];
    assert.equal((await k.kubectl(['auth', 'can-i', 'create', 'rayjobs.ray.io', ...as])).stdout.trim(), 'no');
    assert.equal((await k.kubectl(['create', 'role', 'ray-jobs', '--verb=create,get,list,watch,delete,patch', '--resource=rayjobs.ray.io,rayclusters.ray.io', '-n', 'ray'])).code, 0);
    assert.equal((await k.kubectl(['create', 'rolebinding', 'ci-ray', '--role=ray-jobs', '--serviceaccount=ray:ci', '-n', 'ray'])).code, 0);
    assert.equal((await k.kubectl(['auth', 'can-i', 'create', 'rayjobs.ray.io', ...as])).stdout.trim(), 'yes');
    assert.equal((await k.kubectl(['auth', 'can-i', 'create', 'jobs.batch', ...as])).stdout.trim(), 'no');
  });
});

describe('the entrypoint split (google/shlex, as KubeRay splits it)', () => {
  it('single quotes are literal, double quotes and backslashes escape, blanks separate', () => {
    assert.deepEqual(shlexSplit(`python 'a b' "c \\"d\\"" e\\ f 'it'\\''s' ''`), ['python', 'a b', 'c "d"', 'e f', "it's", '']);
    assert.throws(() => shlexSplit("python 'open"), /closing quote/);
  });
});
