/**
 * The suite's workflows run end to end through the local runner against one sandbox, and real
 * gcloud against the same sandbox sees what they did.
 */
import { afterAll, beforeAll, describe, test } from 'vitest';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, runProgram } from '../harness.js';
import { startSandbox, type Sandbox } from '../../scripts/sandbox/index.js';
import { kubernetesOf } from '../../scripts/sandbox/kubernetes/index.js';
import type { GithubRestService } from '../../scripts/sandbox/apis/github-rest.js';
import type { ArtifactRegistryState } from '../../scripts/sandbox/apis/artifactregistry.js';
import { INPUTS_FROM_VARS, sandboxDefaults } from '../../scripts/workflow/defaults.js';
import { runWorkflow, type WorkflowRunOptions, type WorkflowRunResult } from '../../scripts/workflow/runner.js';

let sb: Sandbox;
let gcloudConfig: string;
let defaults: { vars: Record<string, string>; secrets: Record<string, string> };
let machineKubeconfigs: Record<string, string>;

beforeAll(async () => {
  sb = await startSandbox({ operationMs: 50 });
  defaults = sandboxDefaults(sb);
  const kube = kubernetesOf(sb);
  await kube.startCluster('dgx');
  await kube.startCluster('agx');
  machineKubeconfigs = { dgx: kube.kubeconfig('dgx'), agx: kube.kubeconfig('agx') };
  gcloudConfig = mkdtempSync(join(tmpdir(), 'mlabs-gcloud-'));
});
afterAll(async () => {
  await sb.stop();
  rmSync(gcloudConfig, { recursive: true, force: true });
});

const workflow = (name: string, opts: Partial<WorkflowRunOptions> = {}): Promise<WorkflowRunResult> =>
  runWorkflow({ file: join(ROOT, 'workflows', name), env: { ...sb.env, MLABS_RETRY_BASE_MS: '1' }, machineKubeconfigs, ...defaults, ...opts });

const explain = (r: WorkflowRunResult): string =>
  [r.error ?? '', ...r.jobs.flatMap((j) => [`${j.name}: ${j.result} ${j.error ?? ''}`, ...j.steps.map((s) => `  ${s.name}: ${s.outcome} ${s.error ?? ''}\n${s.log}`)])].join('\n');

async function gcloud(...args: string[]): Promise<string> {
  const r = await runProgram('gcloud', args, { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root', ...sb.env, CLOUDSDK_CONFIG: gcloudConfig });
  assert.equal(r.code, 0, r.stderr);
  return r.stdout;
}

const poolNames = async (): Promise<string[]> =>
  (await gcloud('container', 'node-pools', 'list', '--cluster', 'mlabs', '--location', 'us-central1', '--format=value(name)')).split('\n').filter(Boolean).sort();

describe('gke-gpu-expand and gke-gpu-destroy', () => {
  test('expand creates the pool that real gcloud then lists; destroy snapshots it and removes it', async () => {
    const before = await poolNames();
    assert.ok(!before.includes('gpu-run'), `gpu-run exists already: ${before.join(', ')}`);

    const expand = await workflow('gke-gpu-expand.yml', { inputs: { pool: 'gpu-run', zones: 'us-central1-a' } });
    assert.equal(expand.conclusion, 'success', explain(expand));
    assert.equal(expand.concurrency, 'mlabs-platform-mlabs-demo');
    const job = expand.jobs[0];
    assert.deepEqual(job?.runsOn, ['self-hosted', 'wsl2']);
    assert.equal(job?.oidc, true);
    assert.deepEqual(job?.steps.map((s) => [s.name, s.outcome]), [
      ['Run mlabs/mlabs-actions/actions/wif-login@v1', 'success'],
      ['Run mlabs/mlabs-actions/actions/node-pool-expand@v1', 'success'],
      ['Post Run mlabs/mlabs-actions/actions/wif-login@v1', 'success'],
    ]);
    assert.deepEqual(await poolNames(), [...before, 'gpu-run'].sort());

    const destroy = await workflow('gke-gpu-destroy.yml', { inputs: { pool: 'gpu-run' } });
    assert.equal(destroy.conclusion, 'success', explain(destroy));
    const outputs = destroy.jobs[0]?.steps.find((s) => s.id === 'destroy')?.outputs ?? {};
    assert.match(outputs.snapshot_uri ?? '', /^gs:\/\/mlabs-demo-nodepool-snapshots\/node-pools\/mlabs\/gpu-run\//);
    const objects = await gcloud('storage', 'ls', outputs.snapshot_uri as string);
    assert.ok(objects.trim().length > 0, 'the snapshot object exists');
    assert.deepEqual(await poolNames(), before);

    const restore = await workflow('gke-gpu-restore.yml', { inputs: { pool: 'gpu-run' } });
    assert.equal(restore.conclusion, 'success', explain(restore));
    assert.deepEqual(await poolNames(), [...before, 'gpu-run'].sort());
    const again = await workflow('gke-gpu-destroy.yml', { inputs: { pool: 'gpu-run', snapshot: 'false' } });
    assert.equal(again.conclusion, 'success', explain(again));
    assert.deepEqual(await poolNames(), before, 'the platform is left as found');
    // Four workflow runs: on a busy shared machine this takes minutes (the limit only stops a hang).
  }, 600_000);

  test('a wrong dispatch input fails before any job and creates nothing', async () => {
    const before = sb.requests.length;
    const r = await workflow('gke-gpu-expand.yml', { inputs: { runner: 'laptop', spot: 'maybe' } });
    assert.equal(r.conclusion, 'failure');
    assert.equal(r.jobs.length, 0);
    assert.match(r.error ?? '', /input 'runner' is 'laptop'; accepted: control, wsl2, dgx, agx/);
    assert.match(r.error ?? '', /input 'spot' is 'maybe'/);
    assert.equal(sb.requests.length, before, 'no request reached the sandbox');
  });
});

test('gcp-login-check logs in with the OIDC token and gcloud uses the credentials file', async () => {
  const inputs = Object.fromEntries(Object.entries(INPUTS_FROM_VARS).map(([input, v]) => [input, defaults.vars[v] as string]));
  const r = await workflow('gcp-login-check.yml', { inputs });
  assert.equal(r.conclusion, 'success', explain(r));
  const steps = r.jobs[0]?.steps ?? [];
  assert.match(steps[1]?.log ?? '', /123456789012/);
  assert.match(r.jobs[0]?.summary ?? '', /Impersonation \(IAM Credentials\) \| ok/);
});

test('gpu-quota-request and gpu-quota-release run green', async () => {
  const request = await workflow('gpu-quota-request.yml');
  assert.equal(request.conclusion, 'success', explain(request));
  const release = await workflow('gpu-quota-release.yml');
  assert.equal(release.conclusion, 'success', explain(release));
});

test('cost-cleanup runs as its schedule event, with an empty inputs context, in report mode', async () => {
  const r = await workflow('cost-cleanup.yml', { event: 'schedule' });
  assert.equal(r.conclusion, 'success', explain(r));
  assert.equal(r.event, 'schedule');
  assert.deepEqual(r.inputs, {});
  assert.ok(r.jobs.some((j) => j.concurrency === 'cost-cleanup-report-mlabs-demo'), r.jobs.map((j) => j.concurrency).join(', '));
});

test('cost-cleanup with MLABS_CLEANUP_ISSUE files the weekly issue in the sandbox with the report, updates it on the next run and closes an older week', async () => {
  const github = sb.ctx.services.get('github-rest') as GithubRestService;
  const old = github.state.issues.length + 1;
  github.state.issues.push({ number: old, repository: 'mlabs/platform', title: 'cost-cleanup: week of 2020-01-06', body: 'old', state: 'open', state_reason: null, labels: ['cost-cleanup'], user: 'github-actions[bot]', created_at: '2020-01-06T00:00:00Z', updated_at: '2020-01-06T00:00:00Z', closed_at: null });
  const vars = { ...defaults.vars, MLABS_CLEANUP_ISSUE: 'true' };
  const r = await workflow('cost-cleanup.yml', { event: 'schedule', vars });
  assert.equal(r.conclusion, 'success', explain(r));
  const job = r.jobs.find((j) => j.id === 'weekly-issue');
  assert.equal(job?.result, 'success', explain(r));
  assert.match(job?.steps[0]?.standIn ?? '', /github-script/);
  const report = JSON.parse(r.jobs.find((j) => j.id === 'cleanup')?.outputs.report ?? '{}') as { findings: { resource: string }[]; savedPerMonth: number };
  const week = github.issues().filter((i) => /^cost-cleanup: week of \d{4}-\d{2}-\d{2}$/.test(i.title) && i.state === 'open');
  assert.equal(week.length, 1, JSON.stringify(github.issues()));
  const issue = week[0] as (typeof week)[number];
  assert.deepEqual(issue.labels, ['cost-cleanup']);
  assert.equal(issue.user, 'github-actions[bot]', 'filed with the job GITHUB_TOKEN');
  assert.match(issue.body ?? '', new RegExp(`/mlabs/platform/actions/runs/${r.runId} \\(report, `));
  assert.match(issue.body ?? '', new RegExp(`\\$${report.savedPerMonth.toFixed(2)} per month`));
  assert.ok(report.findings.length > 0, 'the sandbox has something to find');
  for (const f of report.findings) assert.ok(issue.body?.includes(`| ${f.resource} |`), `the issue lists ${f.resource}`);
  assert.match(issue.body ?? '', new RegExp(`${report.findings.length} findings \\(full report: the run's artifact cost-cleanup-report\\)`));
  const kept = r.jobs.find((j) => j.id === 'cleanup')?.steps.find((s) => s.name === 'Keep the full report with the run');
  assert.equal(kept?.outcome, 'success', explain(r));
  assert.equal(github.issues().find((i) => i.number === old)?.state, 'closed', "last week's issue is closed");

  const again = await workflow('cost-cleanup.yml', { event: 'schedule', vars });
  assert.equal(again.conclusion, 'success', explain(again));
  const open = github.issues().filter((i) => i.state === 'open' && i.labels.includes('cost-cleanup'));
  assert.deepEqual(open.map((i) => i.number), [issue.number], 'the same issue is updated, not a second one filed');
  assert.match(open[0]?.body ?? '', new RegExp(`/actions/runs/${again.runId} `));
});

describe('platform-create and platform-destroy through the terraform stand-in', () => {
  test('platform-create runs init, plan, show, the plan summary and apply with these argument arrays', async () => {
    const r = await workflow('platform-create.yml');
    assert.equal(r.conclusion, 'success', explain(r));
    const tf = r.toolCalls.filter((c) => c.tool === 'terraform').map((c) => c.args);
    assert.deepEqual(tf.slice(0, 4), [
      ['init', '-input=false', '-backend-config=bucket=mlabs-demo-tfstate'],
      ['plan', '-input=false', '-out=tfplan'],
      ['show', '-json', 'tfplan'],
      ['apply', '-input=false', 'tfplan'],
    ]);
    assert.ok(tf.slice(4).every((a) => a[0] === 'output' && a[1] === '-raw'), JSON.stringify(tf.slice(4)));
    // Each step records the stand-in calls it made (what the demo prints as a stand-in step).
    const steps = r.jobs[0]?.steps ?? [];
    assert.deepEqual(steps.find((s) => s.name === 'terraform apply')?.toolCalls.map((c) => [c.tool, ...c.args]), [['terraform', 'apply', '-input=false', 'tfplan']]);
    assert.ok(steps.filter((s) => s.uses?.includes('wif-login')).every((s) => s.toolCalls.length === 0), 'the real actions call no stand-in');
  });

  test('the plan summary gate stops a plan that deletes resources before apply', async () => {
    const plan = join(ROOT, 'test/terraform/fixtures/plan-delete.json');
    const r = await workflow('platform-create.yml', { env: { ...sb.env, MLABS_RETRY_BASE_MS: '1', MLABS_TERRAFORM_PLAN: plan } });
    assert.equal(r.conclusion, 'failure');
    const steps = r.jobs[0]?.steps ?? [];
    assert.equal(steps.find((s) => s.name.startsWith('Plan summary'))?.outcome, 'failure', explain(r));
    assert.equal(steps.find((s) => s.name === 'terraform apply')?.outcome, 'skipped');
    assert.ok(!r.toolCalls.some((c) => c.tool === 'terraform' && c.args[0] === 'apply'), 'apply never ran');
  });

  test('platform-destroy refuses without the confirmation and destroys with it', async () => {
    const wrong = await workflow('platform-destroy.yml', { inputs: { confirm: 'other-project' } });
    assert.equal(wrong.conclusion, 'failure');
    assert.ok(!wrong.toolCalls.some((c) => c.tool === 'terraform'), 'terraform never ran');
    const r = await workflow('platform-destroy.yml', { inputs: { confirm: 'mlabs-demo' } });
    assert.equal(r.conclusion, 'success', explain(r));
    const plan = r.toolCalls.find((c) => c.tool === 'terraform' && c.args[0] === 'plan');
    assert.ok(plan?.args.includes('-destroy') && plan.args.includes('-out=destroy.tfplan'), JSON.stringify(plan));
    assert.ok(r.toolCalls.some((c) => c.tool === 'terraform' && c.args.join(' ') === 'apply -input=false destroy.tfplan'));
  });
});

test('train-private-first takes the local route by default: route, then train-job runs the trainer on the routed machine, no burst', async () => {
  const id = sb.faults.add({ kind: 'podExit', match: { labelSelector: 'app.kubernetes.io/managed-by=mlabs-train-job' }, afterMs: 300, log: ['local epoch 1/1 done'] });
  let r: WorkflowRunResult;
  try {
    r = await workflow('train-private-first.yml', { inputs: { image: 'ghcr.io/mlabs/trainer:1', command: '["python", "train.py"]' } });
  } finally {
    sb.faults.remove(id);
  }
  assert.equal(r.conclusion, 'success', explain(r));
  const local = r.jobs.find((j) => j.id === 'train-local');
  assert.equal(local?.result, 'success');
  const machine = local?.runsOn.find((l) => l === 'dgx' || l === 'agx');
  assert.ok(machine, `routed to a private machine: ${JSON.stringify(local?.runsOn)}`);
  assert.equal(r.jobs.find((j) => j.id === 'train-cloud')?.result, 'skipped');
  const log = local?.steps.find((s) => s.name.includes('train-job'))?.log ?? '';
  assert.match(log, /\$ python train\.py --model meta-llama\/Llama-3\.2-1B --config configs\/lora\.yaml\nlocal epoch 1\/1 done/);
  assert.match(log, new RegExp(`on the private machine ${machine}`));
  const cluster = kubernetesOf(sb).get(machine as string)?.cluster;
  assert.deepEqual(cluster?.store.list(cluster.type('batch', 'jobs')), [], 'the Job was deleted');
  assert.doesNotMatch(readFileSync(join(ROOT, 'workflows/train-private-first.yml'), 'utf8'), /placeholder|<<MANIFEST|kubectl create configmap/);
});

test('local-stack-deploy and local-stack-undeploy run on the dgx machine cluster', async () => {
  const deploy = await workflow('local-stack-deploy.yml');
  assert.equal(deploy.conclusion, 'success', explain(deploy));
  assert.deepEqual(deploy.jobs[0]?.runsOn, ['self-hosted', 'dgx']);
  const undeploy = await workflow('local-stack-undeploy.yml');
  assert.equal(undeploy.conclusion, 'success', explain(undeploy));
});

describe('train-private-first bursting to GKE', () => {
  const burst = { allow_cloud: 'true', gpu_memory_gb: '40', arch: 'amd64', data_class: 'public', image: 'ghcr.io/mlabs/trainer:1', command: '["python", "train.py"]' };
  const trainer = { cluster: 'mlabs', labelSelector: 'app.kubernetes.io/managed-by=mlabs-train-job' };
  /** Jobs, pods, Secrets and ConfigMaps of the training in the GKE cluster's default namespace, through real kubectl. */
  const leftovers = async (): Promise<string[]> => {
    const kubeconfig = join(gcloudConfig, 'mlabs.kubeconfig');
    writeFileSync(kubeconfig, kubernetesOf(sb).kubeconfig('mlabs'), { mode: 0o600 });
    const r = await runProgram('kubectl', ['get', 'jobs,pods,secrets,configmaps', '-n', 'default', '-o', 'name'], { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root', KUBECONFIG: kubeconfig });
    assert.equal(r.code, 0, r.stderr);
    return r.stdout.split('\n').filter((l) => /train-/.test(l));
  };
  const stepsOf = (r: WorkflowRunResult): WorkflowRunResult['jobs'][number]['steps'] => r.jobs.find((j) => j.id === 'train-cloud')?.steps ?? [];

  test('the burst creates its pool, train-job runs the trainer on it to success, and no pool, Job, pod or Secret is left', async () => {
    const pools = await poolNames();
    const id = sb.faults.add({ kind: 'podExit', match: trainer, afterMs: 500, log: ['burst epoch 1/1 done'] });
    let r: WorkflowRunResult;
    try {
      r = await workflow('train-private-first.yml', { inputs: burst });
    } finally {
      sb.faults.remove(id);
    }
    assert.equal(r.conclusion, 'success', explain(r));
    assert.equal(r.jobs.find((j) => j.id === 'train-local')?.result, 'skipped');
    assert.equal(r.jobs.find((j) => j.id === 'train-cloud')?.concurrency, 'mlabs-platform-mlabs-demo');
    const steps = stepsOf(r);
    assert.deepEqual(steps.map((s) => [s.name, s.outcome]).slice(1, 4), [
      ['Run mlabs/mlabs-actions/actions/node-pool-expand@v1', 'success'],
      ['Train on the burst pool', 'success'],
      ['Delete the burst pool (always, so it never outlives the job)', 'success'],
    ], explain(r));
    const train = steps.find((s) => s.name === 'Train on the burst pool')?.log ?? '';
    assert.match(train, new RegExp(`Created Job default/train-${r.runId}-1 and its Secret \\(DATA_CLASS\\)`));
    assert.match(train, /\$ python train\.py --model meta-llama\/Llama-3\.2-1B --config configs\/lora\.yaml\nburst epoch 1\/1 done/);
    assert.match(train, new RegExp(`on gke-mlabs-train-${r.runId}-1-`));
    assert.match(steps.find((s) => s.name.startsWith('Delete the burst pool'))?.log ?? '', new RegExp(`DELETE_NODE_POOL train-${r.runId}-1`));
    assert.deepEqual(await poolNames(), pools, 'no burst pool is left behind');
    assert.deepEqual(await leftovers(), [], 'no training Job, pod or Secret is left behind');
  });

  test('a failing trainer fails its step on the Job\'s Failed condition with its log tail (not a timeout); Job and pool are still removed', async () => {
    const pools = await poolNames();
    const id = sb.faults.add({ kind: 'podExit', match: trainer, afterMs: 300, exitCode: 2, log: ['loading shards', 'ValueError: config lora.yaml has no key rank'] });
    let r: WorkflowRunResult;
    try {
      r = await workflow('train-private-first.yml', { inputs: burst });
    } finally {
      sb.faults.remove(id);
    }
    assert.equal(r.conclusion, 'failure', explain(r));
    const steps = stepsOf(r);
    const train = steps.find((s) => s.name === 'Train on the burst pool');
    assert.equal(train?.outcome, 'failure', explain(r));
    assert.match(train?.log ?? '', new RegExp(`The training Job default/train-${r.runId}-1 failed: PodFailurePolicy: .*exit code 2`));
    assert.match(train?.log ?? '', /Last log lines:[\s\S]*ValueError: config lora\.yaml has no key rank/);
    assert.equal(steps.find((s) => s.name.startsWith('Delete the burst pool'))?.outcome, 'success', explain(r));
    assert.deepEqual(await poolNames(), pools, 'no burst pool is left behind');
    assert.deepEqual(await leftovers(), [], 'no training Job, pod or Secret is left behind');
  });
});

describe('build-mlabs-runner and prune-mlabs-runner against the sandbox registry', () => {
  const PKG = 'projects/mlabs-demo/locations/us-central1/repositories/mlabs-runner/packages/mlabs-runner';
  /** The mlabs-runner package's versions (digest → its tags, sorted), from the sandbox's Artifact Registry state. */
  const registryState = (): Map<string, string[]> => {
    const st = sb.state.artifactregistry as ArtifactRegistryState;
    const last = (n: string) => n.slice(n.lastIndexOf('/') + 1);
    return new Map(
      st.versions
        .filter((v) => v.name.startsWith(`${PKG}/versions/`))
        .map((v) => [last(v.name), st.tags.filter((t) => t.version === v.name).map((t) => last(t.name)).sort()] as [string, string[]])
        .sort((a, b) => a[0].localeCompare(b[0])),
    );
  };

  test('the build pushes both platforms by digest and merges one tagged index; a dry-run prune changes nothing; a prune deletes only what its rule names and keeps the new index and its platform images', async () => {
    const before = registryState();
    const build = await workflow('build-mlabs-runner.yml');
    assert.equal(build.conclusion, 'success', explain(build));
    assert.deepEqual(build.jobs.map((j) => [j.name, j.result]), [
      ['build (amd64, wsl2)', 'success'],
      ['build (arm64, dgx)', 'success'],
      ['merge', 'success'],
    ]);
    const platforms = build.jobs.filter((j) => j.id === 'build').map((j) => j.steps.find((s) => s.id === 'build')?.outputs.digest as string);
    const merged = build.jobs.find((j) => j.id === 'merge')?.steps.find((s) => s.name === 'Merge into one multi-platform index');
    const index = merged?.outputs.digest as string;
    assert.match(index, /^sha256:[a-f0-9]{64}$/);
    // The builds ran the docker stand-in (it pushed a synthetic image); the merge ran no stand-in.
    assert.ok(build.toolCalls.filter((c) => c.tool === 'docker' && c.args[1] === 'build').length === 2);
    assert.deepEqual(merged?.toolCalls, []);

    const after = registryState();
    assert.deepEqual([...after.keys()].filter((d) => !before.has(d)).sort(), [index, ...platforms].sort(), 'exactly the index and the two platform images are new versions');
    const version = build.jobs[0]?.steps.find((s) => s.id === 'meta')?.outputs.version as string;
    const tags = (build.jobs.find((j) => j.id === 'merge')?.steps.find((s) => s.id === 'meta')?.outputs.tags ?? '').split(',');
    assert.deepEqual(tags, [version, 'sha-0123456', 'latest'], 'the version, the short sha and latest on the default branch');
    assert.deepEqual(after.get(index), [...tags].sort());
    for (const p of platforms) assert.deepEqual(after.get(p), [], 'platform images are pushed by digest only');
    for (const [d, tags] of before) assert.deepEqual(after.get(d), tags.filter((t) => t !== 'latest'), `${d} keeps its tags (latest moved to the new index)`);

    const dry = await workflow('prune-mlabs-runner.yml');
    assert.equal(dry.conclusion, 'success', explain(dry));
    assert.deepEqual(registryState(), after, 'a manual run is a dry run: nothing deleted');

    const prune = await workflow('prune-mlabs-runner.yml', { inputs: { dry_run: 'false', keep: '2', min_age_days: '7' } });
    assert.equal(prune.conclusion, 'success', explain(prune));
    const deleted = (prune.jobs[0]?.steps.find((s) => s.uses?.includes('image-prune'))?.outputs.deleted_digests ?? '').split(',').filter(Boolean);
    assert.ok(deleted.length > 0, explain(prune));
    for (const d of [index, ...platforms]) assert.ok(!deleted.includes(d), `${d} (the new build) is kept`);
    const final = registryState();
    assert.deepEqual([...final.keys()], [...after.keys()].filter((d) => !deleted.includes(d)), 'exactly the versions the rule named are gone');
  });
});

describe('train-multinode', () => {
  const inputs = { nodes: '2', image: 'ghcr.io/mlabs/trainer:1', command: '["torchrun", "--nnodes=$(NNODES)", "--node-rank=$(NODE_RANK)", "train.py"]' };
  const stepOf = (r: WorkflowRunResult, name: string): WorkflowRunResult['jobs'][number]['steps'][number] | undefined => r.jobs[0]?.steps.find((s) => s.name === name);

  test('without JobSet on the cluster the training step refuses with the install command before creating anything; the pool is still deleted', async () => {
    const c = kubernetesOf(sb).get('mlabs')?.cluster;
    const crds = c?.type('apiextensions.k8s.io', 'customresourcedefinitions');
    const installed = crds && c?.store.get(crds, '', 'jobsets.jobset.x-k8s.io');
    if (c && crds && installed) c.purge(crds, installed);
    const pools = await poolNames();
    const r = await workflow('train-multinode.yml', { inputs });
    assert.equal(r.conclusion, 'failure', explain(r));
    assert.match(stepOf(r, 'Train on N nodes (JobSet)')?.log ?? '', /JobSet is not installed on the cluster .*nothing was created\.\nFix: Install it once: on a machine, the local-stack action with `components: jobset` \(kubernetes-sigs\/jobset v0\.12\.0\); on GKE, the cluster-operators workflow/);
    assert.equal(stepOf(r, 'Delete the burst pool (always, so it never outlives the job)')?.outcome, 'success', explain(r));
    assert.deepEqual(await poolNames(), pools);
  });

  test('a 2-node JobSet runs on a 2-node burst pool, both ranks log into the step, and the pool is deleted in the always() step', async () => {
    kubernetesOf(sb).installOperator('mlabs', 'jobset');
    const pools = await poolNames();
    const id = sb.faults.add({ kind: 'podExit', match: { cluster: 'mlabs', labelSelector: 'app.kubernetes.io/managed-by=mlabs-train-job' }, afterMs: 500, log: ['allreduce ok'] });
    let r: WorkflowRunResult;
    try {
      r = await workflow('train-multinode.yml', { inputs });
    } finally {
      sb.faults.remove(id);
    }
    assert.equal(r.conclusion, 'success', explain(r));
    assert.equal(r.jobs[0]?.concurrency, 'mlabs-platform-mlabs-demo');
    const train = stepOf(r, 'Train on N nodes (JobSet)')?.log ?? '';
    assert.match(train, /\[rank 0\] \$ torchrun --nnodes=\$\(NNODES\) --node-rank=\$\(NODE_RANK\) train\.py --model/);
    assert.match(train, /\[rank 0\] allreduce ok/);
    assert.match(train, /\[rank 1\] allreduce ok/);
    assert.match(train, /on GKE \(nvidia-l4, pool ddp-\d+-1\): ghcr\.io\/mlabs\/trainer:1, 2 node\(s\) × 1 GPU/);
    assert.equal(stepOf(r, 'Create the burst pool of N nodes')?.outcome, 'success');
    assert.deepEqual(await poolNames(), pools, 'no burst pool is left behind');
    const c = kubernetesOf(sb).get('mlabs')?.cluster;
    assert.deepEqual(c?.store.list(c.type('jobset.x-k8s.io', 'jobsets'), 'default'), []);
  });
});
