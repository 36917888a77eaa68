// kubectl's generator subcommands send protobuf bodies (application/vnd.kubernetes.protobuf); the
// sandbox decodes them into the same objects the JSON form would make, and says plainly what it
// does not decode.
import assert from 'node:assert/strict';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { decodeKubeProtobuf, ProtobufBodyError } from '../../scripts/sandbox/kubernetes/protobuf.js';
import { startKube, type KubeFixture } from './helpers.js';

type Obj = { metadata: { name: string; namespace?: string; labels?: Record<string, string>; uid?: string }; [k: string]: unknown };

describe('kubectl create subcommands (protobuf bodies) against the sandbox dgx cluster', () => {
  let k: KubeFixture;
  let n = 0;
  /** A fresh namespace per test, made by `kubectl create namespace` itself. */
  const namespace = async (): Promise<string> => {
    const ns = `pb-${++n}-${Date.now().toString(36)}`;
    const r = await k.kubectl(['create', 'namespace', ns]);
    assert.equal(r.code, 0, r.stderr);
    return ns;
  };
  const create = async (args: string[], ns: string): Promise<string> => {
    const r = await k.kubectl(['create', '-n', ns, ...args]);
    assert.equal(r.code, 0, r.stderr);
    return r.stdout;
  };
  const get = async (what: string, ns?: string): Promise<Obj> => {
    const r = await k.kubectl(['get', what, '-o', 'json', ...(ns ? ['-n', ns] : [])]);
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as Obj;
  };
  beforeAll(async () => {
    k = await startKube();
  });
  afterAll(async () => k?.stop());

  it('create namespace: stored with a uid, phase Active', async () => {
    const out = await k.kubectl(['create', 'namespace', 'made-by-kubectl']);
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stdout, /^namespace\/made-by-kubectl created/);
    const ns = await get('namespace/made-by-kubectl');
    assert.ok(ns.metadata.uid);
    assert.deepEqual((ns.status as { phase: string }).phase, 'Active');
  });

  it('create configmap --from-literal: data as given, an empty value kept', async () => {
    const ns = await namespace();
    assert.match(await create(['configmap', 'train-cfg', '--from-literal=epochs=3', '--from-literal=lr=0.01', '--from-literal=empty='], ns), /configmap\/train-cfg created/);
    const cm = await get('configmap/train-cfg', ns);
    assert.deepEqual(cm.data, { epochs: '3', lr: '0.01', empty: '' });
    assert.equal(cm.metadata.namespace, ns);
  });

  it('create secret generic: data base64 as sent, type Opaque', async () => {
    const ns = await namespace();
    assert.match(await create(['secret', 'generic', 'token', '--from-literal=key=s3cr3t value'], ns), /secret\/token created/);
    const s = await get('secret/token', ns);
    assert.equal(Buffer.from((s.data as { key: string }).key, 'base64').toString('utf8'), 's3cr3t value');
    assert.equal(s.type, 'Opaque');
  });

  it('create serviceaccount', async () => {
    const ns = await namespace();
    assert.match(await create(['serviceaccount', 'trainer'], ns), /serviceaccount\/trainer created/);
    assert.equal((await get('serviceaccount/trainer', ns)).metadata.name, 'trainer');
  });

  it('create deployment --image --port --replicas: the spec as sent, and its pods run', async () => {
    const ns = await namespace();
    assert.match(await create(['deployment', 'web', '--image=ghcr.io/mlflow/mlflow:v2.20.0', '--port=5000', '--replicas=2'], ns), /deployment\.apps\/web created/);
    const d = await get('deployment/web', ns);
    const spec = d.spec as { replicas: number; selector: { matchLabels: Record<string, string> }; template: { metadata: { labels: Record<string, string> }; spec: { containers: { name: string; image: string; ports: { containerPort: number }[] }[] } } };
    assert.equal(spec.replicas, 2);
    assert.deepEqual(spec.selector.matchLabels, { app: 'web' });
    assert.deepEqual(spec.template.metadata.labels, { app: 'web' });
    assert.equal(spec.template.spec.containers[0]?.image, 'ghcr.io/mlflow/mlflow:v2.20.0');
    assert.equal(spec.template.spec.containers[0]?.ports[0]?.containerPort, 5000);
    const rollout = await k.kubectl(['rollout', 'status', 'deployment/web', '-n', ns, '--timeout=30s']);
    assert.equal(rollout.code, 0, rollout.stderr);
  });

  it('create deployment --replicas=0 keeps the zero (a pointer field), not the default of 1', async () => {
    const ns = await namespace();
    await create(['deployment', 'idle', '--image=busybox', '--replicas=0'], ns);
    assert.equal((((await get('deployment/idle', ns)).spec) as { replicas: number }).replicas, 0);
  });

  it('create job --image -- command: restartPolicy Never, the command as sent, runs to completion', async () => {
    const ns = await namespace();
    assert.match(await create(['job', 'hello', '--image=busybox', '--', 'echo', 'hello from a job'], ns), /job\.batch\/hello created/);
    const j = await get('job/hello', ns);
    const pod = (j.spec as { template: { spec: { restartPolicy: string; containers: { command: string[] }[] } } }).template.spec;
    assert.equal(pod.restartPolicy, 'Never');
    assert.deepEqual(pod.containers[0]?.command, ['echo', 'hello from a job']);
    const w = await k.kubectl(['wait', '--for=condition=complete', 'job/hello', '-n', ns, '--timeout=30s']);
    assert.equal(w.code, 0, w.stderr);
  });

  it('create quota --hard: the quantities as sent, enforced on the next pod', async () => {
    const ns = await namespace();
    assert.match(await create(['quota', 'gpus', '--hard=requests.nvidia.com/gpu=0,pods=5'], ns), /resourcequota\/gpus created/);
    const q = await get('resourcequota/gpus', ns);
    assert.deepEqual((q.spec as { hard: Record<string, string> }).hard, { 'requests.nvidia.com/gpu': '0', pods: '5' });
    const pod = await k.kubectl(['create', '-n', ns, '-f', '-'], 'apiVersion: v1\nkind: Pod\nmetadata: {name: gpu}\nspec:\n  containers: [{name: a, image: busybox, resources: {limits: {nvidia.com/gpu: "1"}}}]\n');
    assert.notEqual(pod.code, 0);
    assert.match(pod.stderr, /exceeded quota: gpus/);
  });

  it('create on an existing name is refused as for JSON (AlreadyExists)', async () => {
    const ns = await namespace();
    await create(['configmap', 'twice', '--from-literal=a=1'], ns);
    const again = await k.kubectl(['create', 'configmap', 'twice', '--from-literal=a=1', '-n', ns]);
    assert.notEqual(again.code, 0);
    assert.match(again.stderr, /failed to create configmap: configmaps "twice" already exists/);
  });

  it('create service clusterip|nodeport: ports (name, protocol, port, targetPort), selector and type as sent; headless keeps clusterIP None', async () => {
    const ns = await namespace();
    assert.match(await create(['service', 'clusterip', 'api', '--tcp=80:8080', '--tcp=443:8443'], ns), /service\/api created/);
    const api = await get('service/api', ns);
    const spec = api.spec as { type: string; selector: Record<string, string>; clusterIP: string; ports: { name: string; protocol: string; port: number; targetPort: number | string; nodePort?: number }[] };
    assert.equal(spec.type, 'ClusterIP');
    assert.deepEqual(spec.selector, { app: 'api' });
    assert.deepEqual(spec.ports, [
      { name: '80-8080', protocol: 'TCP', port: 80, targetPort: 8080 },
      { name: '443-8443', protocol: 'TCP', port: 443, targetPort: 8443 },
    ]);
    assert.match(spec.clusterIP, /^10\./, 'a cluster IP is allocated');

    await create(['service', 'clusterip', 'headless', '--clusterip=None', '--tcp=5000:5000'], ns);
    assert.equal((((await get('service/headless', ns)).spec) as { clusterIP: string }).clusterIP, 'None');

    assert.match(await create(['service', 'nodeport', 'web', '--tcp=80:http', '--node-port=30080'], ns), /service\/web created/);
    const web = (await get('service/web', ns)).spec as typeof spec;
    assert.equal(web.type, 'NodePort');
    assert.deepEqual(web.ports, [{ name: '80-http', protocol: 'TCP', port: 80, targetPort: 'http', nodePort: 30080 }]);
    const listed = await k.kubectl(['get', 'services', '-n', ns]);
    assert.match(listed.stdout, /web\s+NodePort\s+\S+\s+<none>\s+80:30080\/TCP/);
  });

  it('a kind outside the decoded subset is refused with 415 naming it; the same object from YAML is created', async () => {
    const gen = await k.kubectl(['create', 'priorityclass', 'batch-low', '--value=100']);
    assert.notEqual(gen.code, 0);
    assert.match(gen.stderr, /the body of the request was in an unknown format - the sandbox decodes protobuf for .*, not scheduling\.k8s\.io\/v1\/PriorityClass; send it as JSON or YAML/);
    const yaml = await k.kubectl(['create', '-f', '-'], 'apiVersion: scheduling.k8s.io/v1\nkind: PriorityClass\nmetadata: {name: batch-low}\nvalue: 100\n');
    assert.equal(yaml.code, 0, yaml.stderr);
  });
});

describe('the protobuf decoder', () => {
  // Hand-made wire bytes: tag = field << 3 | wire type 2 (length-delimited).
  const ld = (field: number, bytes: Buffer): Buffer => Buffer.concat([Buffer.from([(field << 3) | 2, bytes.length]), bytes]);
  const str = (field: number, s: string): Buffer => ld(field, Buffer.from(s));
  const envelope = (apiVersion: string, kind: string, raw: Buffer): Buffer =>
    Buffer.concat([Buffer.from('k8s\0', 'latin1'), ld(1, Buffer.concat([str(1, apiVersion), str(2, kind)])), ld(2, raw), str(3, ''), str(4, '')]);

  it('decodes a ConfigMap: metadata.name (1.1), data (2) as a map', () => {
    const raw = Buffer.concat([ld(1, str(1, 'cfg')), ld(2, Buffer.concat([str(1, 'k'), str(2, 'v')]))]);
    assert.deepEqual(decodeKubeProtobuf(envelope('v1', 'ConfigMap', raw)), { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg' }, data: { k: 'v' } });
  });

  it('refuses a field outside the subset instead of dropping it', () => {
    const raw = Buffer.concat([ld(1, str(1, 'cfg')), str(9, 'not a ConfigMap field')]);
    assert.throws(() => decodeKubeProtobuf(envelope('v1', 'ConfigMap', raw)), (e: unknown) => e instanceof ProtobufBodyError && /v1\/ConfigMap holds fields the sandbox's protobuf subset does not decode/.test(e.message));
  });

  it('refuses a body without the k8s magic', () => {
    assert.throws(() => decodeKubeProtobuf(Buffer.from('{"kind":"ConfigMap"}')), ProtobufBodyError);
  });
});
