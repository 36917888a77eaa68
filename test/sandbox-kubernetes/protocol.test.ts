// The API server protocol kubectl relies on, through real kubectl: server-side table printing
// (-o wide, events, ReplicaSets, PVCs, ConfigMaps, CRD printer columns), includeObject=Object for
// --sort-by, list paging (limit/continue, 410 for an expired token), Endpoints and EndpointSlices of
// Services with Ready pods, and /version as GKE and minikube answer it.
import assert from 'node:assert/strict';
import { request } from 'node:https';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { startKube, type KubeFixture } from './helpers.js';

const app = `apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: proto}
spec:
  replicas: 2
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec:
      containers:
      - name: api
        image: ghcr.io/example/api:1
        ports: [{name: http, containerPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: api, namespace: proto}
spec:
  selector: {app: api}
  ports: [{name: web, port: 80, targetPort: http}]
`;

describe('kubectl protocol against the sandbox dgx cluster', () => {
  let k: KubeFixture;
  const raw = (path: string, accept = 'application/json'): Promise<{ status: number; body: string }> =>
    new Promise((resolve, reject) => {
      const token = /token: (\S+)/.exec(k.kube.kubeconfig('dgx'))?.[1] ?? '';
      const req = request(`${k.dgx.server}${path}`, { ca: k.kube.caPem, headers: { authorization: `Bearer ${token}`, accept } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      });
      req.on('error', reject);
      req.end();
    });
  beforeAll(async () => {
    k = await startKube();
    assert.equal((await k.kubectl(['create', 'namespace', 'proto'])).code, 0);
    const a = await k.kubectl(['apply', '-f', '-'], app);
    assert.equal(a.code, 0, a.stderr);
    const r = await k.kubectl(['rollout', 'status', 'deployment/api', '-n', 'proto', '--timeout=30s']);
    assert.equal(r.code, 0, r.stderr);
  });
  afterAll(async () => k?.stop());

  it('/version answers as minikube on an arm64 machine', async () => {
    const v = JSON.parse((await k.kubectl(['version', '-o', 'json'])).stdout) as { serverVersion: { gitVersion: string; platform: string } };
    assert.equal(v.serverVersion.gitVersion, 'v1.32.4');
    assert.equal(v.serverVersion.platform, 'linux/arm64');
  });

  it('-o wide prints the server-side wide columns for pods, deployments, replicasets, services and nodes', async () => {
    const pods = await k.kubectl(['get', 'pods', '-n', 'proto', '-o', 'wide']);
    assert.equal(pods.code, 0, pods.stderr);
    assert.match(pods.stdout, /^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\s+IP\s+NODE\s+NOMINATED NODE\s+READINESS GATES\n/);
    assert.match(pods.stdout, /api-\S+\s+1\/1\s+Running\s+0\s+\S+\s+\d+\.\d+\.\d+\.\d+\s+dgx\s+<none>\s+<none>/);
    const deploy = await k.kubectl(['get', 'deployments', '-n', 'proto', '-o', 'wide']);
    assert.match(deploy.stdout, /^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE\s+CONTAINERS\s+IMAGES\s+SELECTOR\n/);
    assert.match(deploy.stdout, /api\s+2\/2\s+2\s+2\s+\S+\s+api\s+ghcr\.io\/example\/api:1\s+app=api/);
    const rs = await k.kubectl(['get', 'rs', '-n', 'proto', '-o', 'wide']);
    assert.match(rs.stdout, /^NAME\s+DESIRED\s+CURRENT\s+READY\s+AGE\s+CONTAINERS\s+IMAGES\s+SELECTOR\n/);
    assert.match(rs.stdout, /api-\S+\s+2\s+2\s+2\s+/);
    const svc = await k.kubectl(['get', 'svc', 'api', '-n', 'proto', '-o', 'wide']);
    assert.match(svc.stdout, /^NAME\s+TYPE\s+CLUSTER-IP\s+EXTERNAL-IP\s+PORT\(S\)\s+AGE\s+SELECTOR\n/);
    assert.match(svc.stdout, /api\s+ClusterIP\s+10\.96\.\S+\s+<none>\s+80\/TCP\s+\S+\s+app=api/);
    const nodes = await k.kubectl(['get', 'nodes', '-o', 'wide']);
    assert.match(nodes.stdout, /^NAME\s+STATUS\s+ROLES\s+AGE\s+VERSION\s+INTERNAL-IP\s+EXTERNAL-IP\s+OS-IMAGE\s+KERNEL-VERSION\s+CONTAINER-RUNTIME\n/);
    assert.match(nodes.stdout, /dgx\s+Ready\s+control-plane\s+\S+\s+v1\.32\.4\s+192\.168\.49\.2\s+<none>\s+Ubuntu 24\.04 LTS\s+6\.8\.0\s+containerd:\/\/1\.7\.24/);
  });

  it('tables for configmaps, PVCs, storage classes, events and jobs', async () => {
    const cm = await k.kubectl(['get', 'configmaps', '-n', 'proto']);
    assert.match(cm.stdout, /^NAME\s+DATA\s+AGE\nkube-root-ca\.crt\s+1\s+\S+\n$/);
    await k.kubectl(['apply', '-f', '-'], 'apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: data, namespace: proto}\nspec:\n  accessModes: [ReadWriteOnce]\n  resources: {requests: {storage: 5Gi}}\n');
    const pvc = await k.kubectl(['get', 'pvc', '-n', 'proto']);
    assert.match(pvc.stdout, /^NAME\s+STATUS\s+VOLUME\s+CAPACITY\s+ACCESS MODES\s+STORAGECLASS\s+VOLUMEATTRIBUTESCLASS\s+AGE\ndata\s+Bound\s+5Gi\s+RWO\s+standard\s+<unset>\s+\S+\n$/);
    const sc = await k.kubectl(['get', 'storageclass']);
    assert.match(sc.stdout, /standard \(default\)\s+k8s\.io\/minikube-hostpath\s+Delete\s+Immediate\s+false/);
    assert.equal((await k.kubectl(['create', 'job', 'once', '--image=busybox', '-n', 'proto'])).code, 0);
    const jobs = await k.kubectl(['get', 'jobs', '-n', 'proto', '-o', 'wide']);
    assert.match(jobs.stdout, /^NAME\s+STATUS\s+COMPLETIONS\s+DURATION\s+AGE\s+CONTAINERS\s+IMAGES\s+SELECTOR\n/);
    assert.match(jobs.stdout, /once\s+(Running|Complete)\s+[01]\/1\s+/);
    const ev = await k.kubectl(['get', 'events', '-n', 'proto']);
    assert.equal(ev.code, 0, ev.stderr);
    assert.match(ev.stdout, /^LAST SEEN\s+TYPE\s+REASON\s+OBJECT\s+MESSAGE\n/);
    assert.match(ev.stdout, /(pod|replicaset|deployment|job)\/\S+/);
  });

  it('--sort-by works on any field (includeObject=Object)', async () => {
    for (const [name, v] of [['b', '2'], ['a', '3'], ['c', '1']] as const) await k.kubectl(['create', 'configmap', `s-${name}`, `--from-literal=n=${v}`, '-n', 'proto']);
    const r = await k.kubectl(['get', 'configmaps', '-n', 'proto', '-l', '!x', '--sort-by=.data.n', '-o', 'name']);
    assert.equal(r.code, 0, r.stderr);
    const names = r.stdout.trim().split('\n').filter((l) => l.includes('/s-'));
    assert.deepEqual(names, ['configmap/s-c', 'configmap/s-b', 'configmap/s-a']);
    const table = await k.kubectl(['get', 'configmaps', '-n', 'proto', '--sort-by=.data.n']);
    assert.match(table.stdout, /s-c[\s\S]*s-b[\s\S]*s-a/);
    const t = JSON.parse((await raw('/api/v1/namespaces/proto/configmaps?includeObject=Object', 'application/json;as=Table;v=v1;g=meta.k8s.io')).body) as { rows: { object: { kind?: string; data?: unknown } }[] };
    assert.ok(t.rows.every((row) => row.object.kind === 'ConfigMap' && row.object.data !== undefined));
  });

  it('lists come in pages with limit/continue; kubectl --chunk-size walks them; an expired token is 410', async () => {
    const first = JSON.parse((await raw('/api/v1/namespaces/proto/configmaps?limit=2')).body) as { items: { metadata: { name: string } }[]; metadata: { continue?: string; remainingItemCount?: number } };
    assert.equal(first.items.length, 2);
    assert.ok(first.metadata.continue);
    assert.equal(first.metadata.remainingItemCount, 2);
    const second = JSON.parse((await raw(`/api/v1/namespaces/proto/configmaps?limit=2&continue=${encodeURIComponent(first.metadata.continue ?? '')}`)).body) as { items: { metadata: { name: string } }[]; metadata: { continue?: string } };
    assert.equal(second.items.length, 2);
    assert.equal(second.metadata.continue, undefined);
    assert.deepEqual([...first.items, ...second.items].map((i) => i.metadata.name), ['kube-root-ca.crt', 's-a', 's-b', 's-c']);
    const chunked = await k.kubectl(['get', 'configmaps', '-n', 'proto', '--chunk-size=1', '-o', 'name']);
    assert.equal(chunked.stdout.trim().split('\n').length, 4, chunked.stderr);
    const old = Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv: -10, start: 's-a\u0000' })).toString('base64');
    const expired = await raw(`/api/v1/namespaces/proto/configmaps?limit=2&continue=${encodeURIComponent(old)}`);
    assert.equal(expired.status, 410);
    assert.match(expired.body, /"reason":"Expired"/);
    assert.match(expired.body, /The provided continue parameter is too old to display a consistent list result/);
  });

  it('a Service with Ready pods has Endpoints and an EndpointSlice (named targetPort resolved)', async () => {
    const ep = await k.kubectl(['get', 'endpoints', 'api', '-n', 'proto', '-o', 'json']);
    assert.equal(ep.code, 0, ep.stderr);
    const subsets = (JSON.parse(ep.stdout) as { subsets: { addresses: { ip: string; nodeName: string }[]; ports: { name: string; port: number }[] }[] }).subsets;
    assert.equal(subsets[0]?.addresses.length, 2);
    assert.deepEqual(subsets[0]?.ports, [{ name: 'web', port: 8080, protocol: 'TCP' }]);
    const table = await k.kubectl(['get', 'endpoints', 'api', '-n', 'proto']);
    assert.match(table.stdout, /api\s+\d+\.\d+\.\d+\.\d+:8080,\d+\.\d+\.\d+\.\d+:8080\s+/);
    const slices = await k.kubectl(['get', 'endpointslices', '-n', 'proto', '-l', 'kubernetes.io/service-name=api', '-o', 'json']);
    const items = (JSON.parse(slices.stdout) as { items: { addressType: string; endpoints: { conditions: { ready: boolean } }[] }[] }).items;
    assert.equal(items.length, 1);
    assert.equal(items[0]?.addressType, 'IPv4');
    assert.ok(items[0]?.endpoints.every((e) => e.conditions.ready));
    assert.equal((await k.kubectl(['scale', 'deployment/api', '--replicas=0', '-n', 'proto'])).code, 0);
    let empty = false;
    for (let i = 0; i < 40 && !empty; i++) {
      const now = JSON.parse((await k.kubectl(['get', 'endpoints', 'api', '-n', 'proto', '-o', 'json'])).stdout) as { subsets?: unknown[] };
      empty = !now.subsets?.length;
      if (!empty) await new Promise((r) => setTimeout(r, 250));
    }
    assert.ok(empty, 'the Endpoints lost their addresses when the pods went away');
  });

  it('CRD additionalPrinterColumns are the table columns', async () => {
    const crd = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: runs.mlabs.dev}
spec:
  group: mlabs.dev
  names: {kind: Run, plural: runs, singular: run}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec: {type: object, properties: {model: {type: string}, gpus: {type: integer}}}
    additionalPrinterColumns:
    - {name: Model, type: string, jsonPath: .spec.model}
    - {name: GPUs, type: integer, jsonPath: .spec.gpus}
    - {name: Age, type: date, jsonPath: .metadata.creationTimestamp}
`;
    assert.equal((await k.kubectl(['apply', '-f', '-'], crd)).code, 0);
    let r = { code: 1, stdout: '', stderr: '' };
    for (let i = 0; i < 20; i++) {
      r = await k.kubectl(['apply', '-f', '-'], 'apiVersion: mlabs.dev/v1\nkind: Run\nmetadata: {name: r1, namespace: proto}\nspec: {model: llama, gpus: 2}\n');
      if (r.code === 0) break;
      await new Promise((res) => setTimeout(res, 250));
    }
    assert.equal(r.code, 0, r.stderr);
    const t = await k.kubectl(['get', 'runs', '-n', 'proto']);
    assert.match(t.stdout, /^NAME\s+MODEL\s+GPUS\s+AGE\nr1\s+llama\s+2\s+\d+s\n$/);
  });
});

describe('/version on a GKE cluster', () => {
  let k: KubeFixture;
  beforeAll(async () => {
    k = await startKube();
  });
  afterAll(async () => k?.stop());

  it('answers what GKE answers, and the nodes report the same version', async () => {
    const gke = k.kube.get('mlabs');
    assert.ok(gke);
    const env = { KUBECONFIG: gke.kubeconfigPath, HOME: process.env.HOME ?? '/tmp' };
    const { run } = await import('./helpers.js');
    const v = JSON.parse((await run('kubectl', ['version', '-o', 'json'], env)).stdout) as { serverVersion: { gitVersion: string; platform: string; minor: string } };
    assert.equal(v.serverVersion.gitVersion, 'v1.32.4-gke.1415000');
    assert.equal(v.serverVersion.platform, 'linux/amd64');
    const nodes = await run('kubectl', ['get', 'nodes', '-o', 'jsonpath={.items[*].status.nodeInfo.kubeletVersion}'], env);
    assert.match(nodes.stdout, /^v1\.32\.4-gke\.1415000( v1\.32\.4-gke\.1415000)*$/);
  });
});
