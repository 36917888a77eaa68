// Validation as the API server does it, through real kubectl: names, required fields, ranges,
// quantities, selector/template match, immutable fields, unknown fields in patches, the scale
// subresource, field selectors, and CustomResourceDefinitions' structural schemas and pruning.
import assert from 'node:assert/strict';
import { request } from 'node:https';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { startKube, type KubeFixture } from './helpers.js';

const deployment = (opts: { replicas?: number; selector?: string; labels?: string; cpu?: string } = {}): string => `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: val}
spec:
  replicas: ${opts.replicas ?? 1}
  selector: {matchLabels: {app: ${opts.selector ?? 'web'}}}
  template:
    metadata: {labels: {app: ${opts.labels ?? 'web'}}}
    spec:
      containers:
      - name: web
        image: nginx${opts.cpu ? `\n        resources: {requests: {cpu: ${opts.cpu}}}` : ''}
`;

const crd = (schema: string): string => `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: trainers.mlabs.dev}
spec:
  group: mlabs.dev
  names: {kind: Trainer, plural: trainers, singular: trainer}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
${schema}
`;

describe('API server validation on the sandbox dgx cluster', () => {
  let k: KubeFixture;
  const patchRaw = (path: string, body: string): Promise<{ status: number; body: string }> =>
    new Promise((resolve, reject) => {
      const token = /token: (\S+)/.exec(k.kube.kubeconfig('dgx'))?.[1] ?? '';
      const req = request(`${k.dgx.server}${path}`, { method: 'PATCH', ca: k.kube.caPem, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/merge-patch+json' } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      });
      req.on('error', reject);
      req.end(body);
    });
  beforeAll(async () => {
    k = await startKube();
    assert.equal((await k.kubectl(['create', 'namespace', 'val'])).code, 0);
  });
  afterAll(async () => k?.stop());

  it('names: DNS-1123 subdomains for most kinds, labels for namespaces', async () => {
    const cm = await k.kubectl(['create', 'configmap', 'Bad_Name', '-n', 'val']);
    assert.match(cm.stderr, /ConfigMap "Bad_Name" is invalid: metadata\.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '\.', and must start and end with an alphanumeric character \(e\.g\. 'example\.com', regex used for validation is '\[a-z0-9\]\(\[-a-z0-9\]\*\[a-z0-9\]\)\?\(\\\.\[a-z0-9\]\(\[-a-z0-9\]\*\[a-z0-9\]\)\?\)\*'\)/);
    const ns = await k.kubectl(['create', 'namespace', 'a.b']);
    assert.match(ns.stderr, /The Namespace "a\.b" is invalid: metadata\.name: Invalid value: "a\.b": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character \(e\.g\. 'my-name', {2}or '123-abc', regex used for validation is/);
    const label = await k.kubectl(['create', '-f', '-'], 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ok, namespace: val, labels: {team: "not ok"}}\n');
    assert.match(label.stderr, /metadata\.labels: Invalid value: "not ok": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '\.'/);
    assert.notEqual((await k.kubectl(['get', 'configmap', 'ok', '-n', 'val'])).code, 0);
  });

  it('required fields and ranges: a pod without containers, negative replicas, a port over 65535', async () => {
    const pod = await k.kubectl(['create', '-f', '-'], 'apiVersion: v1\nkind: Pod\nmetadata: {name: empty, namespace: val}\nspec: {containers: []}\n');
    assert.match(pod.stderr, /The Pod "empty" is invalid: spec\.containers: Required value/);
    const neg = await k.kubectl(['create', '-f', '-'], deployment({ replicas: -1 }));
    assert.match(neg.stderr, /The Deployment "web" is invalid: spec\.replicas: Invalid value: -1: must be greater than or equal to 0/);
    const svc = await k.kubectl(['create', '-f', '-'], 'apiVersion: v1\nkind: Service\nmetadata: {name: big, namespace: val}\nspec:\n  selector: {app: web}\n  ports: [{port: 70000}]\n');
    // targetPort defaults to port, so both are out of range (as on a real server).
    assert.match(svc.stderr, /The Service "big" is invalid: \n\* spec\.ports\[0\]\.port: Invalid value: 70000: must be between 1 and 65535, inclusive\n\* spec\.ports\[0\]\.targetPort: Invalid value: 70000: must be between 1 and 65535, inclusive/);
  });

  it('quantities: cpu "lots" cannot be decoded (400)', async () => {
    const r = await k.kubectl(['create', '-f', '-'], deployment({ cpu: 'lots' }));
    assert.match(r.stderr, /Error from server \(BadRequest\).*Deployment in version "v1" cannot be handled as a Deployment: quantities must match the regular expression '\^\(\[\+-\]\?\[0-9\.\]\+\)\(\[eEinumkKMGTP\]\*\[-\+\]\?\[0-9\]\*\)\$'/);
  });

  it('the selector must match the template labels', async () => {
    const r = await k.kubectl(['create', '-f', '-'], deployment({ labels: 'other' }));
    assert.match(r.stderr, /The Deployment "web" is invalid: spec\.template\.metadata\.labels: Invalid value: map\[string\]string\{"app":"other"\}: `selector` does not match template `labels`/);
  });

  it('immutable fields: a Deployment selector, a Job template, a Service clusterIP', async () => {
    assert.equal((await k.kubectl(['create', '-f', '-'], deployment())).code, 0);
    const sel = await k.kubectl(['patch', 'deployment', 'web', '-n', 'val', '--type=merge', '-p', '{"spec":{"selector":{"matchLabels":{"app":"web2"}},"template":{"metadata":{"labels":{"app":"web2"}}}}}']);
    assert.match(sel.stderr, /The Deployment "web" is invalid: spec\.selector: Invalid value: v1\.LabelSelector\{MatchLabels:map\[string\]string\{"app":"web2"\}, MatchExpressions:\[\]v1\.LabelSelectorRequirement\(nil\)\}: field is immutable/);
    assert.equal((await k.kubectl(['create', 'job', 'once', '--image=busybox', '-n', 'val'])).code, 0);
    const job = await k.kubectl(['set', 'image', 'job/once', 'once=busybox:2', '-n', 'val']);
    assert.match(job.stderr, /Job\.batch "once" is invalid: spec\.template: Invalid value: .*: field is immutable/);
    const svc = await k.kubectl(['create', '-f', '-'], 'apiVersion: v1\nkind: Service\nmetadata: {name: api, namespace: val}\nspec:\n  selector: {app: web}\n  ports: [{port: 80, targetPort: 8080}]\n');
    assert.equal(svc.code, 0, svc.stderr);
    const ip = await k.kubectl(['patch', 'service', 'api', '-n', 'val', '--type=merge', '-p', '{"spec":{"clusterIP":"10.96.250.250"}}']);
    assert.match(ip.stderr, /The Service "api" is invalid: spec\.clusterIPs\[0\]: Invalid value: \[\]string\{"10\.96\.250\.250"\}: may not change once set/);
  });

  it('pod updates: image, activeDeadlineSeconds (lowered) and added tolerations may change; anything else is Forbidden in ValidatePodUpdate\'s words', async () => {
    const pod = 'apiVersion: v1\nkind: Pod\nmetadata: {name: upd, namespace: val}\nspec:\n  activeDeadlineSeconds: 600\n  tolerations: [{key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}]\n  containers:\n  - name: app\n    image: busybox:1\n    ports: [{containerPort: 3000}]\n';
    assert.equal((await k.kubectl(['create', '-f', '-'], pod)).code, 0);
    const image = await k.kubectl(['set', 'image', 'pod/upd', 'app=busybox:2', '-n', 'val']);
    assert.equal(image.code, 0, image.stderr);
    const allowed = await k.kubectl(['patch', 'pod', 'upd', '-n', 'val', '--type=merge', '-p', '{"spec":{"activeDeadlineSeconds":300,"tolerations":[{"key":"nvidia.com/gpu","operator":"Exists","effect":"NoSchedule"},{"key":"spot","operator":"Exists"}]}}']);
    assert.equal(allowed.code, 0, allowed.stderr);
    const got = JSON.parse((await k.kubectl(['get', 'pod', 'upd', '-n', 'val', '-o', 'json'])).stdout) as { spec: { activeDeadlineSeconds: number; tolerations: unknown[]; containers: { image: string }[] } };
    assert.equal(got.spec.containers[0]?.image, 'busybox:2');
    assert.equal(got.spec.activeDeadlineSeconds, 300);
    assert.equal(got.spec.tolerations.length, 2);

    const port = await k.kubectl(['patch', 'pod', 'upd', '-n', 'val', '--type=json', '-p', '[{"op":"replace","path":"/spec/containers/0/ports/0/containerPort","value":9999}]']);
    assert.notEqual(port.code, 0);
    assert.match(port.stderr, /The Pod "upd" is invalid: spec: Forbidden: pod updates may not change fields other than `spec\.containers\[\*\]\.image`, `spec\.initContainers\[\*\]\.image`, `spec\.activeDeadlineSeconds`, `spec\.tolerations` \(only additions to existing tolerations\) or `spec\.terminationGracePeriodSeconds` \(allow it to be set to 1 if it was previously negative\)/);
    const raise = await k.kubectl(['patch', 'pod', 'upd', '-n', 'val', '--type=merge', '-p', '{"spec":{"activeDeadlineSeconds":900}}']);
    assert.match(raise.stderr, /The Pod "upd" is invalid: spec\.activeDeadlineSeconds: Invalid value: 900: must be less than or equal to previous value/);
    const drop = await k.kubectl(['patch', 'pod', 'upd', '-n', 'val', '--type=json', '-p', '[{"op":"remove","path":"/spec/tolerations/0"}]']);
    assert.match(drop.stderr, /The Pod "upd" is invalid: spec\.tolerations: Forbidden: existing toleration can not be modified except its tolerationSeconds/);
    const env = await k.kubectl(['set', 'env', 'pod/upd', 'A=b', '-n', 'val']);
    assert.match(env.stderr, /spec: Forbidden: pod updates may not change fields other than/);
  });

  it('an unknown field in a patch is refused under Strict and dropped otherwise, never stored', async () => {
    assert.equal((await k.kubectl(['create', 'configmap', 'cfg', '--from-literal=a=1', '-n', 'val'])).code, 0);
    const strict = await patchRaw('/api/v1/namespaces/val/configmaps/cfg?fieldValidation=Strict', '{"datta":{"b":"2"}}');
    assert.equal(strict.status, 400);
    assert.match(strict.body, /ConfigMap in version \\"v1\\" cannot be handled as a ConfigMap: strict decoding error: unknown field \\"datta\\"/);
    // kubectl patch sends no fieldValidation: the server's default (Warn) drops the field with a warning.
    const warn = await k.kubectl(['patch', 'configmap', 'cfg', '-n', 'val', '--type=merge', '-p', '{"datta":{"b":"2"},"data":{"c":"3"}}']);
    assert.equal(warn.code, 0, warn.stderr);
    assert.match(warn.stderr, /unknown field "datta"/);
    const got = JSON.parse((await k.kubectl(['get', 'configmap', 'cfg', '-n', 'val', '-o', 'json'])).stdout) as Record<string, unknown>;
    assert.equal(got.datta, undefined);
    assert.deepEqual(got.data, { a: '1', c: '3' });
  });

  it('scale: refused for a kind without a scale subresource, negative replicas refused, the selector reported', async () => {
    const job = await k.kubectl(['scale', 'job/once', '--replicas=2', '-n', 'val']);
    assert.notEqual(job.code, 0);
    assert.match(job.stderr, /the server could not find the requested resource|NotFound/);
    const neg = await k.kubectl(['patch', 'deployment', 'web', '-n', 'val', '--subresource=scale', '--type=merge', '-p', '{"spec":{"replicas":-1}}']);
    assert.match(neg.stderr, /The Scale "web" is invalid: spec\.replicas: Invalid value: -1: must be greater than or equal to 0/);
    const ok = await k.kubectl(['scale', 'deployment/web', '--replicas=3', '-n', 'val']);
    assert.equal(ok.code, 0, ok.stderr);
    const scale = await k.kubectl(['get', '--raw', '/apis/apps/v1/namespaces/val/deployments/web/scale']);
    const s = JSON.parse(scale.stdout) as { spec: { replicas: number }; status: { selector: string } };
    assert.equal(s.spec.replicas, 3);
    assert.equal(s.status.selector, 'app=web');
  });

  it('unsupported field selectors answer 400', async () => {
    const r = await k.kubectl(['get', 'pods', '-n', 'val', '--field-selector', 'spec.foo=bar']);
    assert.match(r.stderr, /field label not supported: spec\.foo/);
    const ok = await k.kubectl(['get', 'pods', '-n', 'val', '--field-selector', 'status.phase=Running,spec.nodeName=dgx']);
    assert.equal(ok.code, 0, ok.stderr);
    const cm = await k.kubectl(['get', 'configmaps', '-n', 'val', '--field-selector', 'data.a=1']);
    assert.match(cm.stderr, /field label not supported: data\.a/);
  });

  it('CRDs: a non-structural schema is refused; custom resources are type-checked and pruned', async () => {
    const bad = await k.kubectl(['create', '-f', '-'], crd('        type: object\n        properties:\n          spec:\n            properties:\n              steps: {type: integer}'));
    assert.match(bad.stderr, /The CustomResourceDefinition "trainers\.mlabs\.dev" is invalid: spec\.versions\[0\]\.schema\.openAPIV3Schema\.properties\[spec\]\.type: Required value: must not be empty for specified object fields/);
    const good = await k.kubectl(['create', '-f', '-'], crd('        type: object\n        properties:\n          spec:\n            type: object\n            required: [image]\n            properties:\n              image: {type: string}\n              steps: {type: integer, minimum: 1}\n              mode: {type: string, enum: [fast, full]}'));
    assert.equal(good.code, 0, good.stderr);
    const cr = (spec: string): string => `apiVersion: mlabs.dev/v1\nkind: Trainer\nmetadata: {name: t1, namespace: val}\nspec: ${spec}\n`;
    let r = { code: 1, stderr: '', stdout: '' };
    for (let i = 0; i < 20; i++) {
      r = await k.kubectl(['create', '-f', '-'], cr('{image: x, steps: "many"}'));
      if (!/the server doesn't have a resource type|no matches for kind/.test(r.stderr)) break;
      await new Promise((res) => setTimeout(res, 250));
    }
    assert.match(r.stderr, /The Trainer "t1" is invalid: spec\.steps: Invalid value: "string": spec\.steps in body must be of type integer: "string"/);
    const range = await k.kubectl(['create', '-f', '-'], cr('{image: x, steps: 0, mode: slow}'));
    assert.match(range.stderr, /spec\.steps: Invalid value: 0: spec\.steps in body should be greater than or equal to 1/);
    assert.match(range.stderr, /spec\.mode: Unsupported value: "slow": supported values: "fast", "full"/);
    const req = await k.kubectl(['create', '-f', '-'], cr('{steps: 2}'));
    assert.match(req.stderr, /spec\.image: Required value/);
    const strict = await k.kubectl(['create', '-f', '-'], cr('{image: x, extra: 1}'));
    assert.match(strict.stderr, /strict decoding error: unknown field "spec\.extra"/);
    const pruned = await k.kubectl(['create', '--validate=false', '-f', '-'], cr('{image: x, extra: 1}'));
    assert.equal(pruned.code, 0, pruned.stderr);
    const stored = JSON.parse((await k.kubectl(['get', 'trainer', 't1', '-n', 'val', '-o', 'json'])).stdout) as { spec: Record<string, unknown> };
    assert.deepEqual(stored.spec, { image: 'x' });
  });
});
