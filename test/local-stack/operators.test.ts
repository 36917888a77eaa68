// The training operators (jobset, kueue) on the sandbox's dgx machine, through the bundle with real
// kubectl and the pinned manifests: deploy, status, undeploy keeping the CRDs (and users'
// objects), purge refused without confirm, purge deleting the CRDs and naming what went with them.
import assert from 'node:assert/strict';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { OPERATORS } from '../../actions/lib/local-stack/matrix.js';
import { explain, startStack, statusOf, type StackFixture } from './helpers.js';

const USER_JOBSET = `apiVersion: jobset.x-k8s.io/v1alpha2
kind: JobSet
metadata: {name: users-run, namespace: default}
spec:
  suspend: true
  replicatedJobs:
  - name: workers
    replicas: 1
    template:
      spec:
        template:
          spec:
            restartPolicy: Never
            containers: [{name: w, image: busybox:1.36, command: ['true']}]
`;

describe('local-stack operators on dgx', () => {
  let f: StackFixture;
  beforeAll(async () => {
    f = await startStack('dgx');
  });
  afterAll(async () => f?.stop());

  it('deploys jobset and kueue from the pinned manifests: arm64 release images, CRDs established, controllers available', async () => {
    const run = await f.run({ operation: 'deploy', components: 'kueue,jobset' });
    assert.equal(run.exitCode, 0, explain(run));
    const st = statusOf(run);
    assert.deepEqual(st.map((s) => [s.component, s.status, s.version]), [['jobset', 'deployed', 'v0.12.0'], ['kueue', 'deployed', 'v0.19.2']]);
    assert.deepEqual(st.map((s) => s.health), ['deployment/jobset-controller-manager available 1/1', 'deployment/kueue-controller-manager available 1/1']);
    assert.deepEqual(st.map((s) => s.architecture), ['arm64 (arm64)', 'arm64 (arm64)']);
    assert.deepEqual(st.map((s) => s.requests), ['cpu 500m, memory 128Mi', 'cpu 500m, memory 512Mi']);
    const image = await f.kubectl(['get', 'deployment', 'kueue-controller-manager', '-n', 'kueue-system', '-o', 'jsonpath={.spec.template.spec.containers[0].image}']);
    assert.equal(image, OPERATORS.kueue.image);
    assert.equal(await f.kubectl(['get', 'deployment', 'jobset-controller-manager', '-n', 'jobset-system', '-o', 'jsonpath={.spec.template.spec.containers[0].image}']), 'registry.k8s.io/jobset/jobset:v0.12.0');
    const crds = (await f.kubectl(['get', 'crd', '-o', 'name'])).split('\n').filter(Boolean).map((l) => l.replace(/^[^/]+\//, ''));
    for (const c of [...OPERATORS.jobset.crds, ...OPERATORS.kueue.crds]) assert.ok(crds.includes(c), `${c} installed`);
    assert.equal(await f.kubectl(['get', 'namespace', 'kueue-system', '-o', 'jsonpath={.metadata.labels.mlabs\\.dev/component}']), 'kueue');
    assert.match(run.summary, /\| kueue \| v0\.19\.2 \| registry\.k8s\.io\/kueue\/kueue:v0\.19\.2 \| arm64 \(arm64\) \|/);
  });

  it('status reports the controllers ready', async () => {
    const run = await f.run({ operation: 'status', components: 'jobset,kueue,kuberay' });
    assert.equal(run.exitCode, 0, explain(run));
    assert.deepEqual(statusOf(run).map((s) => [s.component, s.status]), [['jobset', 'ready'], ['kuberay', 'absent'], ['kueue', 'ready']]);
  });

  it('undeploy removes the controllers and their webhooks and API services, and keeps the CRDs with a user\'s JobSet', async () => {
    await f.kubectl(['apply', '-f', '-'], USER_JOBSET);
    const run = await f.run({ operation: 'undeploy', components: 'jobset,kueue' });
    assert.equal(run.exitCode, 0, explain(run));
    assert.deepEqual(statusOf(run).map((s) => [s.component, s.status]), [['kueue', 'removed'], ['jobset', 'removed']]);
    assert.match(statusOf(run)[1]?.health ?? '', /kept CustomResourceDefinitions .*jobsets\.jobset\.x-k8s\.io/);
    assert.equal((await f.kubectl(['get', 'deployments,pods', '-n', 'kueue-system', '-o', 'name'])).trim(), '');
    assert.equal((await f.kubectl(['get', 'mutatingwebhookconfigurations,validatingwebhookconfigurations,apiservices', '-o', 'name'])).trim(), '', 'nothing is left to call a controller that is gone');
    assert.match(await f.kubectl(['get', 'jobsets', '-n', 'default', '-o', 'name']), /users-run/);
    assert.match(await f.kubectl(['get', 'crd', 'workloads.kueue.x-k8s.io', '-o', 'name']), /workloads/);
  });

  it('purge without confirm is refused naming what deleting the CRDs takes, and deletes nothing', async () => {
    const run = await f.run({ operation: 'undeploy', components: 'jobset', purge: 'true' });
    assert.equal(run.exitCode, 1);
    assert.match(run.main.stdout, /jobset: its CustomResourceDefinitions and with them every jobsets object in the whole cluster/);
    assert.match(await f.kubectl(['get', 'jobsets', '-n', 'default', '-o', 'name']), /users-run/);
  });

  it('purge with confirm deletes the CRDs, reporting the user objects that went with them', async () => {
    const run = await f.run({ operation: 'undeploy', components: 'jobset', purge: 'true', confirm: 'jobset' });
    assert.equal(run.exitCode, 0, explain(run));
    const changed = statusOf(run)[0]?.changed ?? [];
    assert.ok(changed.some((c) => /1 object\(s\) of its CustomResourceDefinitions .*jobset\.jobset\.x-k8s\.io\/users-run/.test(c)), changed.join('\n'));
    assert.ok(changed.some((c) => /customresourcedefinition\S* "jobsets\.jobset\.x-k8s\.io" deleted/.test(c)), changed.join('\n'));
    assert.equal((await f.kubectl(['get', 'crd', 'jobsets.jobset.x-k8s.io', '--ignore-not-found', '-o', 'name'])).trim(), '');
    assert.equal((await f.kubectl(['get', 'namespace', 'jobset-system', '--ignore-not-found', '-o', 'name'])).trim(), '');
  });
});
