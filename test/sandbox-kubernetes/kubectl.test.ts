// Real kubectl against a sandbox machine cluster (dgx): apply, rollout, validation, jobs, quota,
// namespaces, server-side apply conflicts and the service proxy.
import assert from 'node:assert/strict';
import { afterAll, beforeAll, describe, it, onTestFinished } from 'vitest';
import { startKube, type KubeFixture } from './helpers.js';

const deployment = (image: string, extra = ''): string => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: apps
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: ${image}
        ports:
        - containerPort: 5000
        env:
        - {name: MODE, value: demo}${extra}
---
apiVersion: v1
kind: Service
metadata:
  name: mlflow
  namespace: apps
spec:
  selector: {app: web}
  ports:
  - port: 5000
`;

describe('kubectl against the sandbox dgx cluster', () => {
  let k: KubeFixture;
  beforeAll(async () => {
    k = await startKube();
    const ns = await k.kubectl(['apply', '-f', '-'], 'apiVersion: v1\nkind: Namespace\nmetadata: {name: apps}\n');
    assert.equal(ns.code, 0, ns.stderr);
  });
  afterAll(async () => k?.stop());

  it('lists the machine node: arm64, one GPU, 128Gi', async () => {
    const r = await k.kubectl(['get', 'nodes', '-o', 'json']);
    assert.equal(r.code, 0, r.stderr);
    const nodes = (JSON.parse(r.stdout) as { items: { metadata: { name: string; labels: Record<string, string> }; status: { allocatable: Record<string, string> } }[] }).items;
    assert.equal(nodes.length, 1);
    assert.equal(nodes[0]?.metadata.name, 'dgx');
    assert.equal(nodes[0]?.metadata.labels['kubernetes.io/arch'], 'arm64');
    assert.equal(nodes[0]?.status.allocatable['nvidia.com/gpu'], '1');
    assert.equal(nodes[0]?.status.allocatable.memory, '128Gi');
  });

  it('service proxy answers 503 before any Ready pod backs the service', async () => {
    await k.kubectl(['apply', '-f', '-'], deployment('ghcr.io/mlflow/mlflow:v2.20.0').split('---')[1]);
    const r = await k.kubectl(['get', '--raw', '/api/v1/namespaces/apps/services/mlflow:5000/proxy/health']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /ServiceUnavailable|no endpoints available for service "mlflow:5000"/);
  });

  it('applies a Deployment and a Service; rollout status succeeds; a second apply is unchanged', async () => {
    const first = await k.kubectl(['apply', '-f', '-'], deployment('ghcr.io/mlflow/mlflow:v2.20.0'));
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /deployment\.apps\/web created/);
    const rollout = await k.kubectl(['rollout', 'status', 'deployment/web', '-n', 'apps', '--timeout=30s']);
    assert.equal(rollout.code, 0, rollout.stderr);
    assert.match(rollout.stdout, /deployment "web" successfully rolled out/);
    const again = await k.kubectl(['apply', '-f', '-'], deployment('ghcr.io/mlflow/mlflow:v2.20.0'));
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /deployment\.apps\/web unchanged/);
    assert.match(again.stdout, /service\/mlflow unchanged/);
  });

  it('the service proxy reaches a Ready pod: MLflow /health answers 200', async () => {
    const r = await k.kubectl(['get', '--raw', '/api/v1/namespaces/apps/services/mlflow:5000/proxy/health']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'OK');
  });

  it('refuses a misspelled field the way a real server does', async () => {
    const bad = deployment('ghcr.io/mlflow/mlflow:v2.20.0', '\n        imagePullPolicyy: Always').replace('name: web\n  namespace', 'name: web2\n  namespace');
    const r = await k.kubectl(['apply', '-f', '-'], bad.split('---')[0]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Error from server \(BadRequest\)/);
    assert.match(r.stderr, /strict decoding error: unknown field "spec\.template\.spec\.containers\[0\]\.imagePullPolicyy"/);
  });

  it('refuses an object missing a required field', async () => {
    const r = await k.kubectl(['create', '-f', '-'], 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: nosel, namespace: apps}\nspec:\n  template:\n    spec:\n      containers: [{name: a, image: busybox}]\n');
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /is invalid: spec\.selector: Required value/);
  });

  it('runs a Job to completion: kubectl wait and kubectl logs', async () => {
    const job = 'apiVersion: batch/v1\nkind: Job\nmetadata: {name: train, namespace: apps}\nspec:\n  template:\n    spec:\n      restartPolicy: Never\n      containers:\n      - name: train\n        image: python:3.12\n        command: [python, train.py]\n';
    assert.equal((await k.kubectl(['apply', '-f', '-'], job)).code, 0);
    const w = await k.kubectl(['wait', '--for=condition=complete', 'job/train', '-n', 'apps', '--timeout=30s']);
    assert.equal(w.code, 0, w.stderr);
    assert.match(w.stdout, /job\.batch\/train condition met/);
    const logs = await k.kubectl(['logs', 'job/train', '-n', 'apps']);
    assert.equal(logs.code, 0, logs.stderr);
    assert.match(logs.stdout, /\$ python train\.py/);
    assert.match(logs.stdout, /train completed successfully/);
  });

  it('a Job past its activeDeadlineSeconds fails (DeadlineExceeded) and its running pod is removed', async () => {
    const job = 'apiVersion: batch/v1\nkind: Job\nmetadata: {name: slow, namespace: apps}\nspec:\n  activeDeadlineSeconds: 1\n  backoffLimit: 0\n  template:\n    spec:\n      restartPolicy: Never\n      containers: [{name: train, image: python:3.12}]\n';
    const rule = k.sb.faults.add({ kind: 'podExit', match: { namespace: 'apps', labelSelector: 'job-name=slow' }, afterMs: 600_000 });
    onTestFinished(() => k.sb.faults.remove(rule));
    assert.equal((await k.kubectl(['apply', '-f', '-'], job)).code, 0);
    const w = await k.kubectl(['wait', '--for=condition=failed', 'job/slow', '-n', 'apps', '--timeout=30s']);
    assert.equal(w.code, 0, w.stderr);
    const reason = await k.kubectl(['get', 'job/slow', '-n', 'apps', '-o', 'jsonpath={.status.conditions[?(@.type=="Failed")].reason}']);
    assert.equal(reason.stdout, 'DeadlineExceeded');
    const pods = await k.kubectl(['get', 'pods', '-n', 'apps', '-l', 'job-name=slow', '-o', 'name']);
    assert.equal(pods.stdout.trim(), '');
  });

  it('a ResourceQuota refuses a GPU pod with the real exceeded-quota message', async () => {
    assert.equal((await k.kubectl(['apply', '-f', '-'], 'apiVersion: v1\nkind: Namespace\nmetadata: {name: team}\n')).code, 0);
    const q = await k.kubectl(['apply', '-f', '-'], 'apiVersion: v1\nkind: ResourceQuota\nmetadata: {name: gpu-quota, namespace: team}\nspec:\n  hard:\n    requests.nvidia.com/gpu: "0"\n');
    assert.equal(q.code, 0, q.stderr);
    const pod = 'apiVersion: v1\nkind: Pod\nmetadata: {name: gpu, namespace: team}\nspec:\n  containers:\n  - name: cuda\n    image: nvidia/cuda:12.4.1-base-ubuntu22.04\n    resources:\n      limits: {nvidia.com/gpu: 1}\n';
    const r = await k.kubectl(['apply', '-f', '-'], pod);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /pods "gpu" is forbidden: exceeded quota: gpu-quota, requested: requests\.nvidia\.com\/gpu=1, used: requests\.nvidia\.com\/gpu=0, limited: requests\.nvidia\.com\/gpu=0/);
  });

  it('server-side apply: a second field manager conflicts, --force-conflicts takes the field', async () => {
    const cm = (v: string): string => `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings, namespace: apps}\ndata:\n  replicas: "${v}"\n`;
    const a = await k.kubectl(['apply', '--server-side', '--field-manager=platform', '-f', '-'], cm('1'));
    assert.equal(a.code, 0, a.stderr);
    assert.match(a.stdout, /configmap\/settings serverside-applied/);
    const b = await k.kubectl(['apply', '--server-side', '--field-manager=team', '-f', '-'], cm('2'));
    assert.notEqual(b.code, 0);
    assert.match(b.stderr, /Apply failed with 1 conflict: conflict with "platform": \.data\.replicas/);
    const f = await k.kubectl(['apply', '--server-side', '--field-manager=team', '--force-conflicts', '-f', '-'], cm('2'));
    assert.equal(f.code, 0, f.stderr);
    const got = await k.kubectl(['get', 'configmap', 'settings', '-n', 'apps', '-o', 'jsonpath={.data.replicas}']);
    assert.equal(got.stdout, '2');
  });

  it('kubectl delete namespace removes what it held', async () => {
    const d = await k.kubectl(['delete', 'namespace', 'apps', '--timeout=30s']);
    assert.equal(d.code, 0, d.stderr);
    assert.match(d.stdout, /namespace "apps" deleted/);
    const pods = await k.kubectl(['get', 'pods', '-A', '-o', 'json']);
    const items = (JSON.parse(pods.stdout) as { items: { metadata: { namespace: string } }[] }).items;
    assert.equal(items.filter((p) => p.metadata.namespace === 'apps').length, 0);
    const ns = await k.kubectl(['get', 'namespace', 'apps']);
    assert.match(ns.stderr, /namespaces "apps" not found/);
  });
});
