// The kubelet simulation, the pod log API and the Job controller, driven by real kubectl against the
// dgx machine cluster. How a container runs and exits comes from sandbox fault rules (podExit,
// imagePull), never from the manifests.
import assert from 'node:assert/strict';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { runProgram, ROOT } from '../harness.js';
import type { FaultRule } from '../../scripts/sandbox/faults.js';
import { applyOk, faultForTest, startKube, type KubeFixture } from './helpers.js';

let k: KubeFixture;
beforeAll(async () => {
  k = await startKube();
  assert.equal((await k.kubectl(['create', 'namespace', 'wl'])).code, 0);
});
afterAll(async () => k.stop());

const fault = (rule: FaultRule): void => faultForTest(k, rule);

const job = (name: string, extra = '', podExtra = '', restartPolicy = 'Never'): string =>
  `apiVersion: batch/v1\nkind: Job\nmetadata: {name: ${name}, namespace: wl}\nspec:\n${extra}  template:\n    spec:\n      restartPolicy: ${restartPolicy}\n${podExtra}      containers:\n      - name: train\n        image: ghcr.io/mlabs/trainer:1\n        command: [python, train.py]\n`;

const apply = (yaml: string): Promise<void> => applyOk(k, yaml);

const jsonpath = async (what: string[], path: string): Promise<string> => {
  const r = await k.kubectl(['get', ...what, '-n', 'wl', '-o', `jsonpath=${path}`]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout;
};

const podOf = async (jobName: string): Promise<string> => {
  for (;;) {
    const name = await jsonpath(['pods', '-l', `job-name=${jobName}`], '{.items[0].metadata.name}');
    if (name) return name;
    await new Promise((r) => setTimeout(r, 50));
  }
};

describe('kubelet and pod logs', () => {
  it('kubectl logs -f streams the lines a podExit rule sets and ends when the container exits; the Job fails with BackoffLimitExceeded', async () => {
    fault({ kind: 'podExit', match: { namespace: 'wl', labelSelector: 'job-name=crash' }, afterMs: 1500, exitCode: 3, log: ['epoch 1 loss=0.9', 'epoch 2 loss=0.7', 'CUDA error: out of memory'] });
    await apply(job('crash', '  backoffLimit: 0\n'));
    const pod = await podOf('crash');
    await k.kubectl(['wait', '--for=jsonpath={.status.phase}=Running', `pod/${pod}`, '-n', 'wl', '--timeout=30s']);
    const f = await k.kubectl(['logs', '-f', `pod/${pod}`, '-n', 'wl']);
    assert.equal(f.code, 0, f.stderr);
    assert.match(f.stdout, /\$ python train\.py\nepoch 1 loss=0\.9\nepoch 2 loss=0\.7\nCUDA error: out of memory\n$/);
    // the stream ended because the container ended: the pod is terminal by now
    assert.equal(await jsonpath([`pod/${pod}`], '{.status.containerStatuses[0].state.terminated.exitCode}'), '3');
    const w = await k.kubectl(['wait', '--for=condition=failed', 'job/crash', '-n', 'wl', '--timeout=30s']);
    assert.equal(w.code, 0, w.stderr);
    assert.equal(await jsonpath(['job/crash'], '{.status.conditions[?(@.type=="Failed")].reason}'), 'BackoffLimitExceeded');
    assert.equal(await jsonpath(['job/crash'], '{.status.failed}'), '1');
  });

  it('tailLines, sinceTime and timestamps select lines; --previous names the missing terminated container', async () => {
    fault({ kind: 'podExit', match: { labelSelector: 'job-name=talk' }, afterMs: 300, log: ['one', 'two', 'three'] });
    await apply(job('talk'));
    assert.equal((await k.kubectl(['wait', '--for=condition=complete', 'job/talk', '-n', 'wl', '--timeout=30s'])).code, 0);
    const tail = await k.kubectl(['logs', 'job/talk', '-n', 'wl', '--tail=2']);
    assert.equal(tail.stdout, 'two\nthree\n');
    const stamped = await k.kubectl(['logs', 'job/talk', '-n', 'wl', '--timestamps']);
    const lines = stamped.stdout.trim().split('\n');
    const third = lines.find((l) => l.endsWith(' three')) ?? '';
    const at = third.split(' ')[0] ?? '';
    assert.match(at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
    // sinceTime travels as an RFC 3339 time in whole seconds (metav1.Time): lines from that second on
    const since = await k.kubectl(['logs', 'job/talk', '-n', 'wl', `--since-time=${at}`]);
    assert.match(since.stdout, /three\n$/);
    const later = new Date(Date.parse(at) + 60_000).toISOString();
    assert.equal((await k.kubectl(['logs', 'job/talk', '-n', 'wl', `--since-time=${later}`])).stdout, '');
    const prev = await k.kubectl(['logs', 'job/talk', '-n', 'wl', '--previous']);
    assert.notEqual(prev.code, 0);
    assert.match(prev.stderr, /previous terminated container "train" in pod "talk-[a-z]+" not found/);
  });

  it('restartPolicy OnFailure restarts the container in place and the restarts count against backoffLimit', async () => {
    fault({ kind: 'podExit', match: { labelSelector: 'job-name=flaky' }, afterMs: 200, exitCode: 1, log: ['attempt failed'] });
    await apply(job('flaky', '  backoffLimit: 2\n', '', 'OnFailure'));
    const w = await k.kubectl(['wait', '--for=condition=failed', 'job/flaky', '-n', 'wl', '--timeout=30s']);
    assert.equal(w.code, 0, w.stderr);
    assert.equal(await jsonpath(['job/flaky'], '{.status.conditions[?(@.type=="Failed")].reason}'), 'BackoffLimitExceeded');
  });

  it('an image a fault rule marks unpullable leaves the pod Pending in ImagePullBackOff, with the kubelet events', async () => {
    fault({ kind: 'imagePull', match: { image: 'ghcr\\.io/mlabs/missing' }, reason: 'not found' });
    await apply('apiVersion: v1\nkind: Pod\nmetadata: {name: nopull, namespace: wl}\nspec:\n  restartPolicy: Never\n  containers: [{name: train, image: "ghcr.io/mlabs/missing:9"}]\n');
    const w = await k.kubectl(['wait', '--for=jsonpath={.status.containerStatuses[0].state.waiting.reason}=ImagePullBackOff', 'pod/nopull', '-n', 'wl', '--timeout=30s']);
    assert.equal(w.code, 0, w.stderr);
    const get = await k.kubectl(['get', 'pod/nopull', '-n', 'wl']);
    assert.match(get.stdout, /nopull\s+0\/1\s+ImagePullBackOff/);
    const ev = await k.kubectl(['get', 'events', '-n', 'wl', '--field-selector', 'involvedObject.name=nopull', '-o', 'jsonpath={range .items[*]}{.reason}: {.message}{"\\n"}{end}']);
    assert.match(ev.stdout, /Failed: Failed to pull image "ghcr\.io\/mlabs\/missing:9": .*not found/);
    const logs = await k.kubectl(['logs', 'pod/nopull', '-n', 'wl']);
    assert.match(logs.stderr, /container "train" in pod "nopull" is waiting to start: trying and failing to pull image/);
  });

  it('a pod no node fits stays Pending with the scheduler\'s reason: too few GPUs, a node selector nobody matches', async () => {
    await apply('apiVersion: v1\nkind: Pod\nmetadata: {name: big, namespace: wl}\nspec:\n  containers: [{name: train, image: x, resources: {limits: {nvidia.com/gpu: 4}}}]\n');
    await apply('apiVersion: v1\nkind: Pod\nmetadata: {name: elsewhere, namespace: wl}\nspec:\n  nodeSelector: {cloud.google.com/gke-nodepool: gpu-h100}\n  containers: [{name: train, image: x}]\n');
    for (const [pod, why] of [['big', /0\/1 nodes are available: 1 Insufficient nvidia\.com\/gpu\./], ['elsewhere', /0\/1 nodes are available: 1 node\(s\) didn't match Pod's node affinity\/selector\./]] as const) {
      const w = await k.kubectl(['wait', '--for=condition=PodScheduled=False', `pod/${pod}`, '-n', 'wl', '--timeout=30s']);
      assert.equal(w.code, 0, w.stderr);
      assert.equal(await jsonpath([`pod/${pod}`], '{.status.conditions[?(@.type=="PodScheduled")].reason}'), 'Unschedulable');
      assert.match(await jsonpath([`pod/${pod}`], '{.status.conditions[?(@.type=="PodScheduled")].message}'), why);
    }
  });
});

describe('Job controller', () => {
  it('podFailurePolicy FailJob on an exit code ends the Job at once with reason PodFailurePolicy; Ignore does not count', async () => {
    fault({ kind: 'podExit', match: { labelSelector: 'job-name=policy' }, afterMs: 100, exitCode: 42 });
    const policy = '  backoffLimit: 6\n  podFailurePolicy:\n    rules:\n    - action: Ignore\n      onPodConditions: [{type: DisruptionTarget, status: "True"}]\n    - action: FailJob\n      onExitCodes: {containerName: train, operator: In, values: [42]}\n';
    await apply(job('policy', policy));
    const w = await k.kubectl(['wait', '--for=condition=failed', 'job/policy', '-n', 'wl', '--timeout=30s']);
    assert.equal(w.code, 0, w.stderr);
    assert.equal(await jsonpath(['job/policy'], '{.status.conditions[?(@.type=="Failed")].reason}'), 'PodFailurePolicy');
    assert.match(await jsonpath(['job/policy'], '{.status.conditions[?(@.type=="Failed")].message}'), /^Container train for pod wl\/policy-[a-z]+ failed with exit code 42 matching FailJob rule at index 1$/);
    assert.equal(await jsonpath(['job/policy'], '{.status.failed}'), '1');
  });

  it('completionMode Indexed: one pod per index with its annotation, hostname and JOB_COMPLETION_INDEX; completedIndexes', async () => {
    await apply(job('ranks', '  completionMode: Indexed\n  completions: 3\n  parallelism: 3\n'));
    const w = await k.kubectl(['wait', '--for=condition=complete', 'job/ranks', '-n', 'wl', '--timeout=30s']);
    assert.equal(w.code, 0, w.stderr);
    assert.equal(await jsonpath(['job/ranks'], '{.status.completedIndexes}'), '0-2');
    const pods = (await jsonpath(['pods', '-l', 'job-name=ranks'], '{range .items[*]}{.metadata.annotations.batch\\.kubernetes\\.io/job-completion-index} {.spec.hostname} {.spec.containers[0].env[?(@.name=="JOB_COMPLETION_INDEX")].valueFrom.fieldRef.fieldPath}{"\\n"}{end}')).trim().split('\n').sort();
    assert.deepEqual(pods, [0, 1, 2].map((i) => `${i} ranks-${i} metadata.annotations['batch.kubernetes.io/job-completion-index']`));
  });

  it('kubectl get jobs -w shows the Job going from Running to Complete; ttlSecondsAfterFinished deletes it', async () => {
    fault({ kind: 'podExit', match: { labelSelector: 'job-name=watched' }, afterMs: 800 });
    await apply(job('watched', '  ttlSecondsAfterFinished: 1\n'));
    const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', KUBECONFIG: k.dgx.kubeconfigPath };
    const columns = 'custom-columns=NAME:.metadata.name,SUCCEEDED:.status.succeeded,CONDITIONS:.status.conditions[*].type';
    const watch = await runProgram('kubectl', ['get', 'jobs', 'watched', '-n', 'wl', '-w', '-o', columns], env, ROOT, { timeoutMs: 2500 });
    assert.match(watch.stdout, /watched\s+<none>\s+<none>/);
    assert.match(watch.stdout, /watched\s+1\s+SuccessCriteriaMet,Complete/);
    const gone = await k.kubectl(['wait', '--for=delete', 'job/watched', '-n', 'wl', '--timeout=30s']);
    assert.equal(gone.code, 0, gone.stderr);
    assert.equal((await k.kubectl(['get', 'pods', '-n', 'wl', '-l', 'job-name=watched', '-o', 'name'])).stdout.trim(), '');
  });

  it('a suspended Job runs no pod until resumed', async () => {
    await apply(job('held', '  suspend: true\n'));
    const w = await k.kubectl(['wait', '--for=condition=suspended', 'job/held', '-n', 'wl', '--timeout=30s']);
    assert.equal(w.code, 0, w.stderr);
    assert.equal((await k.kubectl(['get', 'pods', '-n', 'wl', '-l', 'job-name=held', '-o', 'name'])).stdout.trim(), '');
    assert.equal((await k.kubectl(['patch', 'job/held', '-n', 'wl', '--type=merge', '-p', '{"spec":{"suspend":false}}'])).code, 0);
    assert.equal((await k.kubectl(['wait', '--for=condition=complete', 'job/held', '-n', 'wl', '--timeout=30s'])).code, 0);
  });
});

describe('JobSet controller (jobset.x-k8s.io/v1alpha2)', () => {
  it('kubectl applies a JobSet once the operator is installed: child Jobs, the headless Service, Completed', async () => {
    const js = 'apiVersion: jobset.x-k8s.io/v1alpha2\nkind: JobSet\nmetadata: {name: pair, namespace: wl}\nspec:\n  replicatedJobs:\n  - name: node\n    replicas: 2\n    template:\n      spec:\n        template:\n          spec:\n            restartPolicy: Never\n            containers: [{name: train, image: ghcr.io/mlabs/trainer:1}]\n';
    const before = await k.kubectl(['apply', '-f', '-'], js);
    assert.notEqual(before.code, 0);
    k.kube.installOperator('dgx', 'jobset');
    await apply(js);
    const w = await k.kubectl(['wait', '--for=condition=completed', 'jobset/pair', '-n', 'wl', '--timeout=30s']);
    assert.equal(w.code, 0, w.stderr);
    assert.equal(await jsonpath(['jobset/pair'], '{.status.terminalState}'), 'Completed');
    assert.equal((await jsonpath(['jobs', '-l', 'jobset.sigs.k8s.io/jobset-name=pair'], '{range .items[*]}{.metadata.name}={.metadata.labels.jobset\\.sigs\\.k8s\\.io/job-index} {end}')).trim(), 'pair-node-0=0 pair-node-1=1');
    assert.equal(await jsonpath(['service/pair'], '{.spec.clusterIP}'), 'None');
    assert.equal(await jsonpath(['pods', '-l', 'jobset.sigs.k8s.io/jobset-name=pair'], '{.items[0].spec.subdomain}'), 'pair');
  });
});
