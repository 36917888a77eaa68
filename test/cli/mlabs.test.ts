// The mlabs command as users run it: the committed bundle (cli/dist/mlabs.cjs) started with Node,
// against the sandbox's dgx machine cluster through a KUBECONFIG of two files (merged as kubectl merges
// them). The trainer's run and exit are the sandbox's podExit fault rules.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, beforeAll, describe, onTestFinished, test } from 'vitest';
import { startSandbox, type Sandbox } from '../../scripts/sandbox/index.js';
import { kubernetesOf, type ClusterHandle } from '../../scripts/sandbox/kubernetes/index.js';
import type { Json } from '../../scripts/sandbox/kubernetes/store.js';
import { ROOT, runProgram } from '../harness.js';
import { until } from '../train-job/helpers.js';

const BIN = join(ROOT, 'cli', 'dist', 'mlabs.cjs');

let sb: Sandbox;
let dgx: ClusterHandle;
let env: Record<string, string>;

beforeAll(async () => {
  sb = await startSandbox({ port: 0, operationMs: 50 });
  const kube = kubernetesOf(sb);
  dgx = await kube.startCluster('dgx');
  kube.installOperator('dgx', 'jobset');
  kube.installOperator('dgx', 'kuberay');
  // A first file that sets no current-context and names another cluster: the dgx file's current-context is the one used.
  const dir = mkdtempSync(join(tmpdir(), 'mlabs-cli-'));
  const other = join(dir, 'other.kubeconfig');
  writeFileSync(other, 'apiVersion: v1\nkind: Config\nclusters:\n- name: elsewhere\n  cluster:\n    server: https://127.0.0.1:1\ncontexts:\n- name: elsewhere\n  context:\n    cluster: elsewhere\n    user: nobody\nusers:\n- name: nobody\n  user:\n    token: none\n');
  env = { PATH: process.env.PATH ?? '', HOME: dir, KUBECONFIG: [join(dir, 'missing.kubeconfig'), other, dgx.kubeconfigPath].join(delimiter), MLABS_RETRY_BASE_MS: '1', MLABS_OPERATION_POLL_MS: '50' };
});
afterAll(async () => sb?.stop());

const mlabs = (...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> => runProgram(process.execPath, [BIN, ...args], env);
const c = () => dgx.cluster;
const jobOf = (name: string): Json | undefined => c().store.get(c().type('batch', 'jobs'), 'default', name);
const conditionTrue = (o: Json | undefined, type: string): boolean => (((o?.status as Json | undefined)?.conditions as Json[] | undefined) ?? []).some((x) => x.type === type && x.status === 'True');

describe('help and argument errors (exit 2, naming the flag and the value, with the usage line)', () => {
  test('mlabs --help and mlabs jobs --help print the commands', async () => {
    const [root, jobs] = await Promise.all([mlabs('--help'), mlabs('jobs', '--help')]);
    assert.equal(root.code, 0, root.stderr);
    assert.match(root.stdout, /mlabs jobs submit --image IMAGE/);
    assert.match(root.stdout, /mlabs workers scale N/);
    assert.equal(jobs.code, 0, jobs.stderr);
    for (const sub of ['submit', 'list', 'logs', 'status', 'cancel']) assert.match(jobs.stdout, new RegExp(`^  ${sub} `, 'm'));
    assert.match(jobs.stdout, /--context NAME/);
  });

  test('a bad --gpus, a negative or fractional N and an unknown flag are refused before any request', async () => {
    const [gpus, negative, fraction, unknown] = await Promise.all([
      mlabs('jobs', 'submit', '--image', 'ghcr.io/mlabs/trainer:1.4', '--gpus', 'two'),
      mlabs('workers', 'scale', '-1'),
      mlabs('workers', 'scale', '2.5'),
      mlabs('jobs', 'list', '--colour'),
    ]);
    assert.equal(gpus.code, 2);
    assert.match(gpus.stderr, /^mlabs: --gpus "two": expected a whole number from 0 to 16\.\nusage: mlabs jobs submit --image IMAGE/m);
    assert.equal(negative.code, 2);
    assert.match(negative.stderr, /N "-1": expected a whole number from 0 to 10000\.\nusage: mlabs workers scale N/);
    assert.equal(fraction.code, 2);
    assert.match(fraction.stderr, /N "2\.5": expected a whole number/);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown flag --colour; this command takes --context, --namespace \(-n\)/);
    for (const r of [gpus, negative, fraction, unknown]) assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  });
});

describe('a job from submit to cancel', () => {
  test('submit prints the name; list shows it; logs print its lines; status tells how it ended; cancel leaves nothing', async () => {
    const id = sb.faults.add({ kind: 'podExit', match: { namespace: 'default', labelSelector: 'mlabs.dev/train-job=lora-1' }, afterMs: 300, exitCode: 0, log: ['epoch 1/2 loss=0.91', 'epoch 2/2 loss=0.55'] });
    onTestFinished(() => sb.faults.remove(id));
    const sub = await mlabs('jobs', 'submit', '--image', 'ghcr.io/mlabs/trainer:1.4', '--name', 'lora-1', '--gpus', '1', '--env', 'HF_TOKEN=hf_secretvalue123', '--', 'python', 'train.py', '--epochs', '2');
    assert.equal(sub.code, 0, sub.stderr);
    assert.match(sub.stdout, /Submitted Job default\/lora-1 on dgx: ghcr\.io\/mlabs\/trainer:1\.4, 1 node\(s\) × 1 GPU\.\nlora-1\n$/);
    assert.doesNotMatch(sub.stdout + sub.stderr, /hf_secretvalue123|::/);
    const job = jobOf('lora-1');
    assert.ok(job, 'the Job exists');
    const container = (((((job.spec as Json).template as Json).spec as Json).containers as Json[])[0]) as Json;
    assert.deepEqual([container.command, container.args], [['python'], ['train.py', '--epochs', '2']]);
    const secret = c().store.get(c().type('', 'secrets'), 'default', 'lora-1');
    assert.equal(Buffer.from(String((secret?.data as Json).HF_TOKEN), 'base64').toString(), 'hf_secretvalue123');

    const listed = await mlabs('jobs', 'list');
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, /^NAME\s+ENGINE\s+STATUS\s+NODES\s+GPUS\s+AGE\n/);
    assert.match(listed.stdout, /^lora-1\s+job\s+(Pending|Running|Succeeded)\s+1\s+1\s+\d+s$/m);

    await until(() => conditionTrue(jobOf('lora-1'), 'Complete'), 'the Job to complete');
    const [logs, tail, status] = await Promise.all([mlabs('jobs', 'logs', 'lora-1'), mlabs('jobs', 'logs', 'lora-1', '--tail', '1'), mlabs('jobs', 'status', 'lora-1')]);
    assert.equal(logs.code, 0, logs.stderr);
    assert.match(logs.stdout, /epoch 1\/2 loss=0\.91\nepoch 2\/2 loss=0\.55\n$/);
    assert.equal(tail.stdout, 'epoch 2/2 loss=0.55\n');
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /^status\s+Succeeded$/m);
    assert.match(status.stdout, /^engine\s+job$/m);
    assert.match(status.stdout, /^ran on\s+dgx \(NVIDIA-GB10\)$/m);
    assert.match(status.stdout, /^exit code\s+0$/m);
    assert.match(status.stdout, /^finished\s+\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/m);
    assert.match(status.stdout, /^submitted by\s+mlabs\//m);

    const cancel = await mlabs('jobs', 'cancel', 'lora-1');
    assert.equal(cancel.code, 0, cancel.stderr);
    assert.match(cancel.stdout, /Deleted Job lora-1 and its pods, Secret lora-1 in default\./);
    assert.equal(jobOf('lora-1'), undefined);
    assert.equal(c().store.get(c().type('', 'secrets'), 'default', 'lora-1'), undefined);
  });

  test('a name that is not there exits 1 naming it and the jobs that are', async () => {
    const r = await mlabs('jobs', 'status', 'nope', '-n', 'default', '--context', 'dgx');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^error: No training job nope in namespace default on dgx \(https:\/\/127\.0\.0\.1:\d+\)\. (There are none|Jobs there: .*)\.\nFix: Check the name \(mlabs jobs list\)/);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  });

  test('submit --follow runs two nodes as a JobSet, streams every rank prefixed, and waits for the end', async () => {
    const id = sb.faults.add({ kind: 'podExit', match: { namespace: 'default', labelSelector: 'jobset.sigs.k8s.io/jobset-name=ddp' }, afterMs: 300, exitCode: 0, log: ['rendezvous ok'] });
    onTestFinished(() => sb.faults.remove(id));
    const r = await mlabs('jobs', 'submit', '--image', 'ghcr.io/mlabs/trainer:1.4', '--name', 'ddp', '--nodes', '2', '--gpus', '0', '-f', '--', 'torchrun', 'train.py');
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^\[rank 0\] rendezvous ok$/m);
    assert.match(r.stdout, /^\[rank 1\] rendezvous ok$/m);
    assert.match(r.stdout, /JobSet default\/ddp: succeeded/);
    assert.doesNotMatch(r.stdout, /^::/m, 'no runner commands at the terminal');
    const [listed, logs, followed] = await Promise.all([mlabs('jobs', 'list'), mlabs('jobs', 'logs', 'ddp'), mlabs('jobs', 'logs', 'ddp', '-f')]);
    assert.match(listed.stdout, /^ddp\s+jobset\s+Succeeded\s+2\s+0\s+\d+s$/m);
    assert.doesNotMatch(listed.stdout, /^ddp-node/m, 'the JobSet\'s own Job is part of it, not a row');
    for (const r of [logs, followed]) {
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^\[rank 0\] \$ torchrun train\.py\n(.*\n)*\[rank 0\] rendezvous ok$/m);
      assert.match(r.stdout, /^\[rank 1\] rendezvous ok$/m);
    }
    assert.match(followed.stderr, /^ddp: Succeeded$/m);
    assert.ok(c().store.get(c().type('', 'services'), 'default', 'ddp'), 'the JobSet has its headless Service');
    const cancel = await mlabs('jobs', 'cancel', 'ddp');
    assert.equal(cancel.code, 0, cancel.stderr);
    assert.match(cancel.stdout, /Deleted JobSet ddp and its pods, Service ddp in default\./);
    assert.equal(c().store.get(c().type('jobset.x-k8s.io', 'jobsets'), 'default', 'ddp'), undefined);
    assert.equal(c().store.get(c().type('', 'services'), 'default', 'ddp'), undefined);
  });

  test('submit --follow of a trainer that fails exits 1 with its reason and exit code; status says so', async () => {
    const id = sb.faults.add({ kind: 'podExit', match: { namespace: 'default', labelSelector: 'mlabs.dev/train-job=crash' }, afterMs: 200, exitCode: 3, log: ['RuntimeError: CUDA error: out of memory'] });
    onTestFinished(() => sb.faults.remove(id));
    const r = await mlabs('jobs', 'submit', '--image', 'ghcr.io/mlabs/trainer:1.4', '--name', 'crash', '--gpus', '0', '--follow');
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /^RuntimeError: CUDA error: out of memory$/m);
    assert.match(r.stderr, /^error: The training Job default\/crash failed: PodFailurePolicy: .* \(exit code 3\)\.\nFix: Its logs: mlabs jobs logs crash; remove it: mlabs jobs cancel crash\.$/m);
    const status = await mlabs('jobs', 'status', 'crash');
    assert.match(status.stdout, /^status\s+Failed: PodFailurePolicy: /m);
    assert.match(status.stdout, /^exit code\s+3$/m);
  });
});

describe('workers scale', () => {
  const rayCluster = (name: string): Json => ({
    apiVersion: 'ray.io/v1', kind: 'RayCluster', metadata: { name, namespace: 'default' },
    spec: { headGroupSpec: { template: { spec: { containers: [{ name: 'ray-head', image: 'rayproject/ray:2.40.0' }] } } }, workerGroupSpecs: [{ groupName: 'gpu', replicas: 1, minReplicas: 0, maxReplicas: 2, template: { spec: { containers: [{ name: 'ray-worker', image: 'rayproject/ray:2.40.0' }] } } }] },
  });

  test('sets the first worker group\'s replicas (raising maxReplicas with it); a RayCluster that is not there is refused, naming those that are', async () => {
    const t = c().type('ray.io', 'rayclusters');
    c().createObject(t, rayCluster('ray-a'), 'kubectl');
    c().createObject(t, rayCluster('ray-b'), 'kubectl');
    const [ok, missing] = await Promise.all([mlabs('workers', 'scale', '3', '--cluster', 'ray-b'), mlabs('workers', 'scale', '2', '--cluster', 'ray-c')]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /RayCluster default\/ray-b: worker group gpu 1 → 3 replicas \(maxReplicas 2 → 3\)\./);
    const groups = (((c().store.get(t, 'default', 'ray-b') as Json).spec as Json).workerGroupSpecs as Json[]);
    assert.deepEqual([groups[0]?.replicas, groups[0]?.maxReplicas], [3, 3]);
    assert.equal(((((c().store.get(t, 'default', 'ray-a') as Json).spec as Json).workerGroupSpecs as Json[])[0] as Json).replicas, 1);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /RayCluster ray-c does not exist in namespace default on dgx; RayClusters there: ray-a, ray-b\. Nothing was changed\./);
  });
});
