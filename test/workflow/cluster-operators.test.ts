// workflows/cluster-operators.yml through the workflow runner against the sandbox's GKE cluster:
// wif-login, then the cluster-operators action applies the pinned JobSet and Kueue manifests through
// the Kubernetes API (CRDs Established, controllers available); undeploy keeps the CRDs and a user's
// JobSet; purge is refused without confirm and, confirmed, deletes the CRDs naming what went with them.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { afterAll, beforeAll, onTestFinished, test } from 'vitest';
import { startSandbox, type Sandbox } from '../../scripts/sandbox/index.js';
import { kubernetesOf, type ClusterHandle } from '../../scripts/sandbox/kubernetes/index.js';
import type { Json } from '../../scripts/sandbox/kubernetes/store.js';
import { sandboxDefaults } from '../../scripts/workflow/defaults.js';
import { runWorkflow, type WorkflowRunResult } from '../../scripts/workflow/runner.js';
import { OPERATORS } from '../../actions/lib/local-stack/matrix.js';
import { ROOT } from '../harness.js';

let sb: Sandbox;
let gke: ClusterHandle;
beforeAll(async () => {
  sb = await startSandbox({ port: 0, operationMs: 50 });
  const kube = kubernetesOf(sb);
  for (let i = 0; i < 200 && !kube.get('mlabs'); i++) await new Promise((r) => setTimeout(r, 20));
  gke = kube.get('mlabs') as ClusterHandle;
  for (let i = 0; i < 200 && !gke.cluster.store.list(gke.cluster.type('', 'nodes')).length; i++) await new Promise((r) => setTimeout(r, 20));
});
afterAll(async () => sb?.stop());

const run = (inputs: Record<string, string>): Promise<WorkflowRunResult> =>
  runWorkflow({ file: join(ROOT, 'workflows', 'cluster-operators.yml'), env: { ...sb.env, MLABS_RETRY_BASE_MS: '1', MLABS_OPERATION_POLL_MS: '15' }, ...sandboxDefaults(sb), inputs });
const explain = (r: WorkflowRunResult): string =>
  [r.error ?? '', ...r.jobs.flatMap((j) => [`${j.name}: ${j.result} ${j.error ?? ''}`, ...j.steps.map((s) => `  ${s.name}: ${s.outcome} ${s.error ?? ''}\n${s.log.slice(-3000)}`)])].join('\n');
const names = (group: string, resource: string, ns?: string): string[] => gke.cluster.store.list(gke.cluster.type(group, resource), ns).map((o) => String((o.metadata as Json).name));

test('as the CI account terraform makes (roles/container.developer) deploy is refused naming roles/container.admin', { timeout: 120_000 }, async () => {
  const r = await run({ operation: 'deploy', operators: 'jobset' });
  assert.equal(r.conclusion, 'failure');
  assert.match(explain(r), /jobset: applying \S+: .*forbidden.*\n?[\s\S]*roles\/container\.admin/);
  assert.deepEqual(names('apps', 'deployments', 'jobset-system'), []);
});

test('deploy, undeploy keeping the CRDs, purge refused then confirmed: on the GKE cluster through the runner, as an account with roles/container.admin', { timeout: 240_000 }, async () => {
  // A platform admin's grant on top of the Terraform's roles.
  const policy = await sb.iam.currentPolicy();
  onTestFinished(() => sb.iam.setPolicy(policy));
  sb.iam.setPolicy({ project: [...policy.project, { role: 'roles/container.admin', members: [`serviceAccount:${sandboxDefaults(sb).vars.MLABS_CI_SERVICE_ACCOUNT}`] }], resources: policy.resources });
  const deploy = await run({ operation: 'deploy', operators: 'kueue,jobset' });
  assert.equal(deploy.conclusion, 'success', explain(deploy));
  assert.equal(deploy.concurrency, 'mlabs-platform-mlabs-demo');
  assert.match(explain(deploy), /jobset: server-side apply of \d+ objects \(kubernetes-sigs\/jobset v0\.12\.0, sha256 2714c01f11be/);
  for (const c of [...OPERATORS.jobset.crds, ...OPERATORS.kueue.crds]) assert.ok(names('apiextensions.k8s.io', 'customresourcedefinitions').includes(c), c);
  assert.deepEqual(names('apps', 'deployments', 'kueue-system'), ['kueue-controller-manager']);
  const dep = gke.cluster.store.get(gke.cluster.type('apps', 'deployments'), 'jobset-system', 'jobset-controller-manager') as Json;
  assert.equal((((dep.spec as Json).template as Json).spec as { containers: { image: string }[] }).containers[0]?.image, 'registry.k8s.io/jobset/jobset:v0.12.0');
  assert.equal((((dep.metadata as Json).labels as Record<string, string>)['mlabs.dev/component']), 'jobset');

  // A user's JobSet, which undeploy must keep.
  gke.cluster.createObject(gke.cluster.type('jobset.x-k8s.io', 'jobsets'), { apiVersion: 'jobset.x-k8s.io/v1alpha2', kind: 'JobSet', metadata: { name: 'users-run', namespace: 'default' }, spec: { suspend: true, replicatedJobs: [] } }, 'test');
  const down = await run({ operation: 'undeploy', operators: 'jobset,kueue' });
  assert.equal(down.conclusion, 'success', explain(down));
  assert.deepEqual(names('apps', 'deployments', 'jobset-system'), []);
  assert.deepEqual([...names('admissionregistration.k8s.io', 'mutatingwebhookconfigurations'), ...names('apiregistration.k8s.io', 'apiservices')], []);
  assert.ok(names('apiextensions.k8s.io', 'customresourcedefinitions').includes('jobsets.jobset.x-k8s.io'));
  assert.deepEqual(names('jobset.x-k8s.io', 'jobsets', 'default'), ['users-run']);

  const refused = await run({ operation: 'undeploy', operators: 'jobset', purge: 'true' });
  assert.equal(refused.conclusion, 'failure');
  assert.match(explain(refused), /purge deletes the CustomResourceDefinitions of jobset \(jobset: jobsets\.jobset\.x-k8s\.io\) and with them every object of those kinds in the whole cluster/);
  assert.deepEqual(names('jobset.x-k8s.io', 'jobsets', 'default'), ['users-run']);

  const purged = await run({ operation: 'undeploy', operators: 'jobset', purge: 'true', confirm: 'jobset' });
  assert.equal(purged.conclusion, 'success', explain(purged));
  assert.match(explain(purged), /1 JobSet object\(s\) deleted with the CRD: default\/users-run/);
  assert.ok(!names('apiextensions.k8s.io', 'customresourcedefinitions').includes('jobsets.jobset.x-k8s.io'));
  assert.ok(names('apiextensions.k8s.io', 'customresourcedefinitions').includes('workloads.kueue.x-k8s.io'), 'Kueue was not purged');
});
