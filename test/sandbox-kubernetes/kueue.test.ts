// Kueue (kueue.x-k8s.io/v1beta1, the shapes of kubernetes-sigs/kueue v0.10.1) in the sandbox, driven by
// real kubectl against the dgx machine cluster: cluster-scoped ResourceFlavor and ClusterQueue, a
// namespaced LocalQueue, a Workload per queued Job, admission within nominalQuota in creation order,
// the flavor's nodeLabels on the admitted pods, quota released when the Job ends, the queues' counters,
// a missing LocalQueue's message, and eviction of a deactivated Workload.
import assert from 'node:assert/strict';
import { afterAll, beforeAll, describe, it } from 'vitest';
import type { FaultRule } from '../../scripts/sandbox/faults.js';
import { kubePermission } from '../../scripts/sandbox/iam/engine.js';
import { applyOk, faultForTest, startKube, type KubeFixture } from './helpers.js';

let k: KubeFixture;
beforeAll(async () => {
  k = await startKube();
  k.kube.installOperator('dgx', 'kueue');
  assert.equal((await k.kubectl(['create', 'namespace', 'team'])).code, 0);
});
afterAll(async () => k.stop());

const fault = (rule: FaultRule): void => faultForTest(k, rule);

const apply = (yaml: string): Promise<void> => applyOk(k, yaml);

const ok = async (args: string[]): Promise<string> => {
  const r = await k.kubectl(args);
  assert.equal(r.code, 0, `kubectl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};

const queued = (name: string, queue: string): string =>
  `apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: ${name}\n  namespace: team\n  labels: {kueue.x-k8s.io/queue-name: ${queue}}\nspec:\n  suspend: true\n  backoffLimit: 0\n  template:\n    spec:\n      restartPolicy: Never\n      containers:\n      - name: train\n        image: ghcr.io/mlabs/trainer:1\n        resources: {requests: {cpu: "2", memory: 4Gi}, limits: {nvidia.com/gpu: 1}}\n`;

/** The Workload Kueue made for a Job (by the job-uid label), once it exists. */
async function workloadOf(job: string): Promise<string> {
  const uid = await ok(['get', `job/${job}`, '-n', 'team', '-o', 'jsonpath={.metadata.uid}']);
  for (let i = 0; i < 500; i++) {
    const name = await ok(['get', 'workloads', '-n', 'team', '-l', `kueue.x-k8s.io/job-uid=${uid}`, '-o', 'jsonpath={.items[0].metadata.name}']);
    if (name) return name;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`no Workload for job ${job}`);
}

const QUEUE = `apiVersion: kueue.x-k8s.io/v1beta1
kind: ResourceFlavor
metadata: {name: dgx-gpu}
spec:
  nodeLabels: {kubernetes.io/arch: arm64}
---
apiVersion: kueue.x-k8s.io/v1beta1
kind: ClusterQueue
metadata: {name: gpus}
spec:
  namespaceSelector: {}
  resourceGroups:
  - coveredResources: [cpu, memory, nvidia.com/gpu]
    flavors:
    - name: dgx-gpu
      resources:
      - {name: cpu, nominalQuota: 8}
      - {name: memory, nominalQuota: 32Gi}
      - {name: nvidia.com/gpu, nominalQuota: 1}
---
apiVersion: kueue.x-k8s.io/v1beta1
kind: LocalQueue
metadata: {name: training, namespace: team}
spec: {clusterQueue: gpus}
`;

describe('Kueue', () => {
  it('serves its four kinds with their scopes and short names; GKE asks container.thirdPartyObjects.* for them', async () => {
    const res = await ok(['api-resources', '--api-group=kueue.x-k8s.io', '--no-headers']);
    const rows = new Map(res.trim().split('\n').map((l) => { const c = l.trim().split(/\s+/); return [c[0], c] as const; }));
    assert.deepEqual(rows.get('resourceflavors'), ['resourceflavors', 'flavor,flavors,rf', 'kueue.x-k8s.io/v1beta1', 'false', 'ResourceFlavor']);
    assert.deepEqual(rows.get('clusterqueues'), ['clusterqueues', 'cq', 'kueue.x-k8s.io/v1beta1', 'false', 'ClusterQueue']);
    assert.deepEqual(rows.get('localqueues'), ['localqueues', 'queue,queues,lq', 'kueue.x-k8s.io/v1beta1', 'true', 'LocalQueue']);
    assert.deepEqual(rows.get('workloads'), ['workloads', 'wl', 'kueue.x-k8s.io/v1beta1', 'true', 'Workload']);
    assert.equal(kubePermission({ verb: 'watch', apiGroup: 'kueue.x-k8s.io', resource: 'workloads', namespace: 'team' }), 'container.thirdPartyObjects.list');
    assert.equal(kubePermission({ verb: 'patch', apiGroup: 'kueue.x-k8s.io', resource: 'clusterqueues', namespace: '', name: 'gpus', subresource: 'status' }), 'container.thirdPartyObjects.updateStatus');
  });

  it('admits queued Jobs within the ClusterQueue\'s quota in creation order; the next waits with Kueue\'s message and runs once the first is gone; a finished one frees its quota', async () => {
    await apply(QUEUE);
    assert.match(await ok(['get', 'resourceflavors']), /dgx-gpu/);
    fault({ kind: 'podExit', match: { namespace: 'team', labelSelector: 'job-name=first' }, afterMs: 600_000, log: ['first runs'] });
    fault({ kind: 'podExit', match: { namespace: 'team', labelSelector: 'job-name=second' }, afterMs: 100, log: ['second done'] });
    await apply(queued('first', 'training'));
    const w1 = await workloadOf('first');
    assert.match(w1, /^job-first-[0-9a-f]{5}$/);
    assert.equal((await k.kubectl(['wait', '--for=condition=admitted', `workload/${w1}`, '-n', 'team', '--timeout=30s'])).code, 0);
    await apply(queued('second', 'training'));
    const w2 = await workloadOf('second');
    assert.equal((await k.kubectl(['wait', '--for=jsonpath={.status.conditions[?(@.type=="QuotaReserved")].reason}=Pending', `workload/${w2}`, '-n', 'team', '--timeout=30s'])).code, 0);
    assert.equal(
      await ok(['get', `workload/${w2}`, '-n', 'team', '-o', 'jsonpath={.status.conditions[?(@.type=="QuotaReserved")].message}']),
      "couldn't assign flavors to pod set main: insufficient unused quota for nvidia.com/gpu in flavor dgx-gpu, 1 more needed",
    );
    assert.equal(await ok(['get', 'job/second', '-n', 'team', '-o', 'jsonpath={.spec.suspend}']), 'true');
    // the admitted one: its admission, the flavor's node labels on its pods, the queues' counters
    const admission = JSON.parse(await ok(['get', `workload/${w1}`, '-n', 'team', '-o', 'jsonpath={.status.admission}'])) as Record<string, unknown>;
    assert.deepEqual(admission, { clusterQueue: 'gpus', podSetAssignments: [{ name: 'main', count: 1, flavors: { cpu: 'dgx-gpu', memory: 'dgx-gpu', 'nvidia.com/gpu': 'dgx-gpu' }, resourceUsage: { cpu: '2', memory: '4Gi', 'nvidia.com/gpu': '1' } }] });
    assert.equal(await ok(['get', 'job/first', '-n', 'team', '-o', 'jsonpath={.spec.template.spec.nodeSelector}']), '{"kubernetes.io/arch":"arm64"}');
    const wls = await ok(['get', 'workloads', '-n', 'team']);
    assert.match(wls, new RegExp(`^NAME\\s+QUEUE\\s+RESERVED IN\\s+ADMITTED\\s+FINISHED\\s+AGE\\n${w1}\\s+training\\s+gpus\\s+True\\s+`, 'm'));
    assert.match(await ok(['get', 'localqueues', '-n', 'team']), /^training\s+gpus\s+1\s+1\s+/m);
    assert.match(await ok(['get', 'clusterqueues']), /^gpus\s+1\s+/m);
    assert.equal(await ok(['get', 'cq/gpus', '-o', 'jsonpath={.status.flavorsReservation[0].resources[?(@.name=="nvidia.com/gpu")].total}']), '1');
    // the first goes (its Workload with it, by owner reference): the quota goes to the second, which runs to its end
    await ok(['delete', 'job/first', '-n', 'team']);
    assert.equal((await k.kubectl(['wait', '--for=delete', `workload/${w1}`, '-n', 'team', '--timeout=30s'])).code, 0);
    assert.equal((await k.kubectl(['wait', '--for=condition=admitted', `workload/${w2}`, '-n', 'team', '--timeout=30s'])).code, 0);
    assert.equal((await k.kubectl(['wait', '--for=condition=complete', 'job/second', '-n', 'team', '--timeout=30s'])).code, 0);
    assert.equal((await k.kubectl(['wait', '--for=condition=finished', `workload/${w2}`, '-n', 'team', '--timeout=30s'])).code, 0);
    assert.equal(await ok(['get', `workload/${w2}`, '-n', 'team', '-o', 'jsonpath={.status.conditions[?(@.type=="Finished")].reason}: {.status.conditions[?(@.type=="Finished")].message}']), 'Succeeded: Reached expected number of succeeded pods');
    // finished: it holds no quota although the Job is still there
    assert.equal(await ok(['get', 'cq/gpus', '-o', 'jsonpath={.status.flavorsReservation[0].resources[?(@.name=="nvidia.com/gpu")].total}']), '0');
    await ok(['delete', 'job/second', '-n', 'team']);
    assert.equal((await k.kubectl(['wait', '--for=delete', `workload/${w2}`, '-n', 'team', '--timeout=30s'])).code, 0);
    assert.equal(await ok(['get', 'cq/gpus', '-o', 'jsonpath={.status.pendingWorkloads}/{.status.admittedWorkloads}']), '0/0');
  });

  it('a Workload deactivated with kubectl (spec.active false) is evicted: its Job suspended, its quota released, Requeued False; active again, it is admitted again and Evicted turns False', async () => {
    await apply(QUEUE);
    fault({ kind: 'podExit', match: { namespace: 'team', labelSelector: 'job-name=evictee' }, afterMs: 600_000 });
    await apply(queued('evictee', 'training'));
    const w = await workloadOf('evictee');
    assert.equal((await k.kubectl(['wait', '--for=condition=admitted', `workload/${w}`, '-n', 'team', '--timeout=30s'])).code, 0);
    await ok(['patch', `workload/${w}`, '-n', 'team', '--type=merge', '-p', '{"spec":{"active":false}}']);
    assert.equal((await k.kubectl(['wait', '--for=condition=evicted', `workload/${w}`, '-n', 'team', '--timeout=30s'])).code, 0);
    assert.equal((await k.kubectl(['wait', '--for=jsonpath={.spec.suspend}=true', 'job/evictee', '-n', 'team', '--timeout=30s'])).code, 0);
    const get = (path: string): Promise<string> => ok(['get', `workload/${w}`, '-n', 'team', '-o', `jsonpath=${path}`]);
    assert.equal(await get('{.status.conditions[?(@.type=="Evicted")].reason}: {.status.conditions[?(@.type=="Evicted")].message}'), 'InactiveWorkload: The workload is deactivated');
    assert.equal(await get('{.status.conditions[?(@.type=="QuotaReserved")].status}/{.status.conditions[?(@.type=="Admitted")].reason}/{.status.conditions[?(@.type=="Requeued")].status}'), 'False/NoReservation/False');
    assert.equal(await get('{.status.admission}'), '');
    await ok(['patch', `workload/${w}`, '-n', 'team', '--type=merge', '-p', '{"spec":{"active":true}}']);
    assert.equal((await k.kubectl(['wait', '--for=condition=admitted', `workload/${w}`, '-n', 'team', '--timeout=30s'])).code, 0);
    assert.equal(await get('{.status.conditions[?(@.type=="Evicted")].status}/{.status.conditions[?(@.type=="Evicted")].reason}/{.status.conditions[?(@.type=="Evicted")].message}'), 'False/QuotaReserved/Previously: The workload is deactivated');
    assert.equal(await ok(['get', 'job/evictee', '-n', 'team', '-o', 'jsonpath={.spec.suspend}']), 'false');
    await ok(['delete', 'job/evictee', '-n', 'team']);
    assert.equal((await k.kubectl(['wait', '--for=delete', `workload/${w}`, '-n', 'team', '--timeout=30s'])).code, 0);
  });

  it('a Job naming a LocalQueue that does not exist stays suspended, its Workload pending with Kueue\'s message', async () => {
    await apply(queued('orphan', 'nope'));
    const w = await workloadOf('orphan');
    assert.equal((await k.kubectl(['wait', '--for=condition=QuotaReserved=False', `workload/${w}`, '-n', 'team', '--timeout=30s'])).code, 0);
    assert.equal(await ok(['get', `workload/${w}`, '-n', 'team', '-o', 'jsonpath={.status.conditions[?(@.type=="QuotaReserved")].reason}: {.status.conditions[?(@.type=="QuotaReserved")].message}']), "Inadmissible: LocalQueue nope doesn't exist");
    assert.equal(await ok(['get', 'job/orphan', '-n', 'team', '-o', 'jsonpath={.spec.suspend}']), 'true');
    assert.equal(await ok(['get', 'pods', '-n', 'team', '-l', 'job-name=orphan', '-o', 'name']), '');
    await ok(['delete', 'job/orphan', '-n', 'team']);
  });
});

describe('Kueue and JobSet', () => {
  it('a queued JobSet gets one Workload (its child Jobs are the JobSet\'s), one pod set per replicatedJob; admitted, its Jobs resume with the flavor\'s node labels', async () => {
    k.kube.installOperator('dgx', 'jobset');
    await apply(QUEUE);
    fault({ kind: 'podExit', match: { namespace: 'team', labelSelector: 'jobset.sigs.k8s.io/jobset-name=ranks' }, afterMs: 200 });
    await apply(`apiVersion: jobset.x-k8s.io/v1alpha2
kind: JobSet
metadata:
  name: ranks
  namespace: team
  labels: {kueue.x-k8s.io/queue-name: training}
spec:
  suspend: true
  replicatedJobs:
  - name: node
    replicas: 1
    template:
      spec:
        completionMode: Indexed
        completions: 2
        parallelism: 2
        backoffLimit: 0
        template:
          spec:
            restartPolicy: Never
            containers:
            - {name: train, image: ghcr.io/mlabs/trainer:1, resources: {requests: {cpu: "1"}}}
`);
    const uid = await ok(['get', 'jobset/ranks', '-n', 'team', '-o', 'jsonpath={.metadata.uid}']);
    let name = '';
    for (let i = 0; i < 500 && !name; i++) {
      name = await ok(['get', 'workloads', '-n', 'team', '-l', `kueue.x-k8s.io/job-uid=${uid}`, '-o', 'jsonpath={.items[0].metadata.name}']);
      if (!name) await new Promise((r) => setTimeout(r, 20));
    }
    assert.match(name, /^jobset-ranks-[0-9a-f]{5}$/);
    assert.equal((await k.kubectl(['wait', '--for=condition=admitted', `workload/${name}`, '-n', 'team', '--timeout=30s'])).code, 0);
    assert.equal(await ok(['get', `workload/${name}`, '-n', 'team', '-o', 'jsonpath={.spec.podSets[0].name}={.spec.podSets[0].count} {.status.admission.podSetAssignments[0].resourceUsage.cpu}']), 'node=2 2');
    assert.equal((await k.kubectl(['wait', '--for=condition=completed', 'jobset/ranks', '-n', 'team', '--timeout=30s'])).code, 0);
    assert.equal(await ok(['get', 'job/ranks-node-0', '-n', 'team', '-o', 'jsonpath={.spec.template.spec.nodeSelector}']), '{"kubernetes.io/arch":"arm64"}');
    // the child Job has the JobSet's queue label, but no Workload of its own
    assert.equal((await ok(['get', 'workloads', '-n', 'team', '-o', 'name'])).trim(), `workload.kueue.x-k8s.io/${name}`);
    await ok(['delete', 'jobset/ranks', '-n', 'team']);
    assert.equal((await k.kubectl(['wait', '--for=delete', `workload/${name}`, '-n', 'team', '--timeout=30s'])).code, 0);
  });
});
