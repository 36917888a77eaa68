// Kubeflow Pipelines from its upstream kustomize tree: refused on arm64 (see refusals.test.ts), deployed
// on an amd64 node (the sandbox's GKE cluster) from a local mirror of the pinned tree
// (MLABS_LOCAL_STACK_KFP_MIRROR: the tests, like air-gapped machines, cannot reach GitHub).
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { runAction } from '../harness.js';
import { explain, startStack, statusOf, type StackFixture } from './helpers.js';

function mirror(): string {
  const root = mkdtempSync(join(tmpdir(), 'kfp-mirror-'));
  mkdirSync(join(root, 'cluster-scoped-resources'), { recursive: true });
  mkdirSync(join(root, 'env', 'platform-agnostic'), { recursive: true });
  writeFileSync(join(root, 'cluster-scoped-resources', 'kustomization.yaml'), 'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- crd.yaml\n');
  writeFileSync(join(root, 'cluster-scoped-resources', 'crd.yaml'), `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: scheduledworkflows.kubeflow.org}
spec:
  group: kubeflow.org
  names: {kind: ScheduledWorkflow, listKind: ScheduledWorkflowList, plural: scheduledworkflows, singular: scheduledworkflow, shortNames: [swf]}
  scope: Namespaced
  versions:
  - name: v1beta1
    served: true
    storage: true
    schema:
      openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
`);
  writeFileSync(join(root, 'env', 'platform-agnostic', 'kustomization.yaml'), 'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: kubeflow\nresources:\n- pipeline.yaml\n');
  const dep = (name: string, image: string, port: number): string => `apiVersion: apps/v1
kind: Deployment
metadata: {name: ${name}, labels: {app: ${name}}}
spec:
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata: {labels: {app: ${name}}}
    spec:
      containers: [{name: ${name}, image: ${image}, ports: [{containerPort: ${port}}]}]
---
apiVersion: v1
kind: Service
metadata: {name: ${name}}
spec:
  selector: {app: ${name}}
  ports: [{port: ${port === 3000 ? 80 : port}, targetPort: ${port}}]
`;
  writeFileSync(join(root, 'env', 'platform-agnostic', 'pipeline.yaml'), [
    dep('ml-pipeline', 'ghcr.io/kubeflow/kfp-api-server:2.4.0', 8888),
    dep('ml-pipeline-ui', 'ghcr.io/kubeflow/kfp-frontend:2.4.0', 3000),
    'apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: mysql-pv-claim}\nspec:\n  accessModes: [ReadWriteOnce]\n  resources: {requests: {storage: 20Gi}}\n',
  ].join('---\n'));
  return root;
}

describe('local-stack kfp on an amd64 node', () => {
  let f: StackFixture;
  let env: Record<string, string>;
  beforeAll(async () => {
    f = await startStack('gke');
    f.kube.setProxyAnswer('mlabs', 'kubeflow', 'ml-pipeline', { '/apis/v2beta1/healthz': { status: 200, body: '{"commit_sha":"0e9b5e6","tag_name":"2.4.0","multi_user":false}', contentType: 'application/json' } });
    env = { PATH: `${f.standins}:${process.env.PATH ?? ''}`, HOME: mkdtempSync(join(tmpdir(), 'mlabs-home-')), MLABS_STANDIN_DIR: f.standins, MLABS_LOCAL_STACK_KFP_MIRROR: mirror() };
  });
  afterAll(async () => f?.stop());

  const run = (inputs: Record<string, string>) => runAction('local-stack', { inputs: { kubeconfig: f.machine.kubeconfigPath, profile: 'mlabs', timeout: '120s', ...inputs }, env });

  it('applies the pinned tree into the labelled kubeflow namespace, waits and health-checks ml-pipeline', async () => {
    const r = await run({ operation: 'deploy', components: 'kfp' });
    assert.equal(r.exitCode, 0, explain(r));
    const st = statusOf(r)[0];
    assert.equal(st?.status, 'deployed');
    assert.equal(st?.architecture, 'amd64 (amd64)');
    assert.equal(st?.health, 'ml-pipeline /apis/v2beta1/healthz ok');
    assert.equal(r.outputs.kfp_url, 'http://ml-pipeline-ui.kubeflow.svc.cluster.local:80');
    assert.equal(await f.kubectl(['get', 'namespace', 'kubeflow', '-o', 'jsonpath={.metadata.labels.app\\.kubernetes\\.io/managed-by}']), 'mlabs-actions');
    assert.match(await f.kubectl(['get', 'crd', '-o', 'name']), /scheduledworkflows.kubeflow.org/);
    const again = await run({ operation: 'deploy', components: 'kfp' });
    assert.equal(again.exitCode, 0, explain(again));
    assert.equal(statusOf(again)[0]?.status, 'unchanged');
  });

  it('undeploy removes its workloads and keeps the MySQL claim', async () => {
    const r = await run({ operation: 'undeploy', components: 'kfp' });
    assert.equal(r.exitCode, 0, explain(r));
    assert.equal((await f.kubectl(['get', 'deployments,services,pods', '-n', 'kubeflow', '-o', 'name'])).trim(), '');
    assert.match(await f.kubectl(['get', 'pvc', '-n', 'kubeflow', '-o', 'name']), /mysql-pv-claim/);
  });
});
