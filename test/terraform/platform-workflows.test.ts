/**
 * platform-create and platform-destroy as GitHub would run them: job order, what each step runs
 * and with which environment, and the shell of the steps that decide (confirmation, GPU pool list)
 * executed with stand-ins for gcloud on PATH.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { ROOT } from '../harness.js';

interface Step {
  id?: string;
  name?: string;
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
  env?: Record<string, string>;
  if?: string;
  'working-directory'?: string;
}
interface Job {
  needs?: string | string[];
  if?: string;
  'runs-on'?: string[];
  steps: Step[];
  strategy?: { matrix?: Record<string, unknown>; 'fail-fast'?: boolean };
  outputs?: Record<string, string>;
  env?: Record<string, string>;
}
interface Workflow {
  on: { workflow_dispatch: { inputs: Record<string, { default?: unknown; required?: boolean; options?: string[] }> } };
  permissions: Record<string, string>;
  concurrency: { group: string; 'cancel-in-progress'?: boolean };
  env?: Record<string, string>;
  jobs: Record<string, Job>;
}

const load = (name: string) => parseYaml(readFileSync(join(ROOT, 'workflows', name), 'utf8')) as Workflow;
const create = load('platform-create.yml');
const destroy = load('platform-destroy.yml');

const needs = (j: Job) => (Array.isArray(j.needs) ? j.needs : j.needs ? [j.needs] : []);
const index = (steps: Step[], pred: (s: Step) => boolean, what: string) => {
  const i = steps.findIndex(pred);
  assert.ok(i >= 0, `no step ${what}`);
  return i;
};

test('both workflows: workflow_dispatch, routed to self-hosted wsl2 by default, least permissions, one concurrency group per project', () => {
  for (const wf of [create, destroy]) {
    assert.equal(wf.on.workflow_dispatch.inputs.project_id?.default, 'mlabs-demo');
    assert.equal(wf.on.workflow_dispatch.inputs.runner?.default, 'wsl2');
    assert.deepEqual(wf.permissions, { contents: 'read', 'id-token': 'write' });
    assert.equal(wf.concurrency.group, 'mlabs-platform-${{ inputs.project_id }}');
    assert.equal(wf.concurrency['cancel-in-progress'], false);
    for (const job of Object.values(wf.jobs)) {
      assert.deepEqual(job['runs-on'], ['self-hosted', '${{ inputs.runner }}']);
      for (const s of job.steps) {
        if (s.run) assert.doesNotMatch(s.run, /\$\{\{/, `${s.name}: no expression inside run:, everything through env:`);
        if (/wif-login/.test(s.uses ?? '')) {
          assert.equal(s.uses, 'mlabs/mlabs-actions/actions/wif-login@v1');
          assert.equal(s.with?.workload_identity_provider, '${{ vars.MLABS_WIF_PROVIDER }}');
          assert.equal(s.with?.service_account, '${{ vars.MLABS_CI_SERVICE_ACCOUNT }}');
        }
      }
    }
  }
});

test('platform-create: login, setup-terraform, init, plan -out, show -json, plan summary, then apply of exactly that plan', () => {
  const steps = create.jobs.apply?.steps ?? [];
  const login = index(steps, (s) => /wif-login/.test(s.uses ?? ''), 'wif-login');
  const setup = index(steps, (s) => /^hashicorp\/setup-terraform@[0-9a-f]{40}$/.test(s.uses ?? ''), 'setup-terraform');
  const init = index(steps, (s) => /terraform init /.test(s.run ?? ''), 'init');
  const plan = index(steps, (s) => /terraform plan .*-out=tfplan/.test(s.run ?? ''), 'plan -out');
  const show = index(steps, (s) => /terraform show -json tfplan > "\$RUNNER_TEMP\/plan\.json"/.test(s.run ?? ''), 'show -json');
  const summary = index(steps, (s) => s.uses === 'mlabs/mlabs-actions/actions/terraform-plan-summary@v1', 'plan summary');
  const apply = index(steps, (s) => /terraform apply/.test(s.run ?? ''), 'apply');
  assert.ok(login < setup && setup < init && init < plan && plan < show && show < summary && summary < apply);
  assert.equal(steps[summary]?.with?.plan_json, '${{ runner.temp }}/plan.json');
  assert.equal(steps[summary]?.with?.allow_destroy, '${{ inputs.allow_destroy }}');
  assert.equal((steps[apply]?.run ?? '').trim(), 'terraform apply -input=false tfplan');
  assert.equal(create.on.workflow_dispatch.inputs.allow_destroy?.default, false);
  assert.equal(steps[setup]?.with?.terraform_wrapper, false, 'the wrapper would add noise to show -json output');
});

test('platform-destroy: confirm first, then snapshot every GPU pool, and only then the destroy', () => {
  const { prepare, snapshot, destroy: destroyJob } = destroy.jobs;
  assert.ok(prepare && snapshot && destroyJob);
  assert.equal(destroy.on.workflow_dispatch.inputs.confirm?.required, true);

  // The confirmation is the first step, compares through env:, and fails the job.
  const confirm = prepare.steps[0] as Step;
  assert.match(confirm.name ?? '', /confirm/i);
  assert.deepEqual(confirm.env, { CONFIRM: '${{ inputs.confirm }}', PROJECT_ID: '${{ inputs.project_id }}' });
  assert.match(confirm.run ?? '', /"\$CONFIRM" != "\$PROJECT_ID"/);

  // Snapshot job: after prepare, one leg per GPU pool, the node-pool-snapshot action with the platform's values.
  assert.deepEqual(needs(snapshot), ['prepare']);
  assert.equal(snapshot.strategy?.matrix?.pool, '${{ fromJSON(needs.prepare.outputs.pools) }}');
  assert.equal(snapshot.strategy?.['fail-fast'], true);
  const snap = snapshot.steps.find((s) => s.uses === 'mlabs/mlabs-actions/actions/node-pool-snapshot@v1');
  assert.ok(snap, 'the snapshot job runs node-pool-snapshot');
  assert.equal(snap.with?.pool, '${{ matrix.pool }}');
  assert.equal(snap.with?.bucket, '${{ needs.prepare.outputs.bucket }}');
  assert.equal(snap.with?.cluster, '${{ needs.prepare.outputs.cluster }}');
  assert.equal(snap.with?.location, '${{ needs.prepare.outputs.location }}');
  assert.equal(snap.with?.project_id, '${{ inputs.project_id }}');

  // Destroy job: needs the snapshots; runs only when they all succeeded or there was no pool to snapshot.
  assert.deepEqual(needs(destroyJob).sort(), ['prepare', 'snapshot']);
  const cond = (destroyJob.if ?? '').replace(/\s+/g, ' ');
  assert.match(cond, /needs\.prepare\.result == 'success'/);
  assert.match(cond, /needs\.snapshot\.result == 'success' \|\| \(needs\.snapshot\.result == 'skipped' && needs\.prepare\.outputs\.pool_count == '0'\)/);
  assert.doesNotMatch(cond, /failure|cancelled/);
  assert.equal(snapshot.if, "needs.prepare.outputs.pool_count != '0'");
  // No destroy or delete anywhere before the destroy job.
  for (const job of [prepare, snapshot]) for (const s of job.steps) assert.doesNotMatch(s.run ?? '', /terraform (destroy|apply)|-destroy|\bdelete\b|\brm\b/, `${s.name} changes nothing`);
});

test('platform-destroy: a targeted destroy plan that keeps the snapshot bucket, checked by the plan summary, then applied', () => {
  const steps = destroy.jobs.destroy?.steps ?? [];
  const plan = index(steps, (s) => /terraform plan -destroy/.test(s.run ?? ''), 'plan -destroy');
  const run = steps[plan]?.run ?? '';
  const targets = [...run.matchAll(/-target=(\S+)/g)].map((m) => m[1]);
  assert.deepEqual(targets, ['module.gke', 'module.registry']);
  assert.match(run, /-out=destroy\.tfplan/);
  const summary = index(steps, (s) => s.uses === 'mlabs/mlabs-actions/actions/terraform-plan-summary@v1', 'plan summary');
  assert.equal(steps[summary]?.with?.allow_destroy, true);
  assert.equal(steps[summary]?.with?.protect, undefined, 'the default protect list (state and snapshot buckets) applies');
  const apply = index(steps, (s) => /terraform apply -input=false destroy\.tfplan/.test(s.run ?? ''), 'apply of the destroy plan');
  assert.ok(plan < summary && summary < apply);
  const report = index(steps, (s) => /What remains/.test(s.run ?? ''), 'report');
  assert.ok(apply < report);
  assert.equal(steps[report]?.if, 'always()');
  // The protect default of the action covers both kept buckets.
  const action = parseYaml(readFileSync(join(ROOT, 'actions/terraform-plan-summary/action.yml'), 'utf8'));
  assert.match(action.inputs.protect.default, /module\.storage\.google_storage_bucket\.snapshots/);
  assert.match(action.inputs.protect.default, /\*-tfstate/);
});

function stepScript(job: string, name: RegExp): Step {
  const s = destroy.jobs[job]?.steps.find((x) => name.test(x.name ?? ''));
  assert.ok(s?.run, `step ${name} in ${job}`);
  return s;
}

function bash(script: string, env: Record<string, string>, cwd: string) {
  return spawnSync('bash', ['-e', '-o', 'pipefail', '-c', script], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '', ...env }, cwd });
}

test('the confirmation step refuses a wrong or empty confirm and passes the project id', () => {
  const step = stepScript('prepare', /confirm/i);
  const dir = mkdtempSync(join(tmpdir(), 'confirm-'));
  const wrong = bash(step.run as string, { CONFIRM: 'mlabs-dem', PROJECT_ID: 'mlabs-demo' }, dir);
  assert.equal(wrong.status, 1);
  assert.match(wrong.stdout, /::error::confirm must equal the project id \(mlabs-demo\)/);
  assert.equal(bash(step.run as string, { CONFIRM: '', PROJECT_ID: 'mlabs-demo' }, dir).status, 1);
  // A value that would break a naive ${{ }} interpolation is only data here.
  assert.equal(bash(step.run as string, { CONFIRM: '"; exit 0; "', PROJECT_ID: 'mlabs-demo' }, dir).status, 1);
  assert.equal(bash(step.run as string, { CONFIRM: 'mlabs-demo', PROJECT_ID: 'mlabs-demo' }, dir).status, 0);
});

test('the GPU pool list is every pool but the Terraform system pool, as the matrix the snapshot job takes', () => {
  const step = stepScript('prepare', /GPU pools/);
  const dir = mkdtempSync(join(tmpdir(), 'pools-'));
  const calls = join(dir, 'calls');
  // gcloud stand-in: records its arguments, answers as `gcloud container node-pools list --format=json` does.
  const pools = [
    { name: 'system', config: { machineType: 'e2-standard-2', labels: { 'mlabs-role': 'system' } } },
    { name: 'l4-spot', config: { machineType: 'g2-standard-8', accelerators: [{ acceleratorCount: '1', acceleratorType: 'nvidia-l4' }] } },
    { name: 't4', config: { machineType: 'n1-standard-8', accelerators: [{ acceleratorCount: '2', acceleratorType: 'nvidia-tesla-t4' }] } },
  ];
  writeFileSync(join(dir, 'pools.json'), JSON.stringify(pools));
  writeFileSync(join(dir, 'gcloud'), `#!/bin/bash\necho "$*" >> "${calls}"\ncat "${join(dir, 'pools.json')}"\n`);
  chmodSync(join(dir, 'gcloud'), 0o755);
  const out = join(dir, 'output');
  writeFileSync(out, '');
  const env = { PATH: `${dir}:${process.env.PATH}`, CLUSTER: 'mlabs', LOCATION: 'us-central1', SYSTEM_POOL: 'system', GITHUB_OUTPUT: out };
  const r = bash(step.run as string, env, dir);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(readFileSync(calls, 'utf8').trim(), 'container node-pools list --cluster mlabs --location us-central1 --format=json');
  assert.equal(readFileSync(out, 'utf8'), 'pools=["l4-spot","t4"]\ncount=2\n');

  writeFileSync(join(dir, 'pools.json'), JSON.stringify([pools[0]]));
  writeFileSync(out, '');
  assert.equal(bash(step.run as string, env, dir).status, 0);
  assert.equal(readFileSync(out, 'utf8'), 'pools=[]\ncount=0\n', 'no GPU pool: the snapshot job is skipped and the destroy may run');

  // gcloud failing (no cluster, no permission) fails the step: no destroy on an unknown pool list.
  writeFileSync(join(dir, 'gcloud'), '#!/bin/bash\necho "ERROR: (gcloud.container.node-pools.list) PERMISSION_DENIED" >&2\nexit 1\n');
  assert.notEqual(bash(step.run as string, env, dir).status, 0);
});

test('the platform outputs the prepare job reads come from terraform output', () => {
  const step = stepScript('prepare', /Read the platform/);
  const dir = mkdtempSync(join(tmpdir(), 'outputs-'));
  const values: Record<string, string> = { cluster_name: 'mlabs', location: 'us-central1', snapshot_bucket: 'mlabs-demo-nodepool-snapshots', system_pool: 'system' };
  const script = Object.entries(values)
    .map(([k, v]) => `  ${k}) echo -n "${v}";;`)
    .join('\n');
  writeFileSync(join(dir, 'terraform'), `#!/bin/bash\n[ "$1" = output ] && [ "$2" = -raw ] || exit 9\ncase "$3" in\n${script}\n  *) echo "no output $3" >&2; exit 1;;\nesac\n`);
  chmodSync(join(dir, 'terraform'), 0o755);
  const out = join(dir, 'output');
  writeFileSync(out, '');
  const r = bash(step.run as string, { PATH: `${dir}:${process.env.PATH}`, GITHUB_OUTPUT: out }, dir);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(readFileSync(out, 'utf8'), 'cluster=mlabs\nlocation=us-central1\nbucket=mlabs-demo-nodepool-snapshots\nsystem_pool=system\n');
});

test('the destroy report quotes what the cluster cost before, read by cost-cleanup in report mode (which changes nothing)', () => {
  const prepare = destroy.jobs.prepare?.steps ?? [];
  const cost = prepare.find((s) => s.uses === 'mlabs/mlabs-actions/actions/cost-cleanup@v1');
  assert.ok(cost, 'the prepare job reads the cost');
  assert.equal(cost.with?.mode, 'report');
  assert.equal((cost as Step & { 'continue-on-error'?: boolean })['continue-on-error'], true, 'a cost it cannot read does not block the destroy');

  const step = stepScript('destroy', /Report what remains/);
  const dir = mkdtempSync(join(tmpdir(), 'report-'));
  for (const tool of ['terraform', 'gcloud']) {
    writeFileSync(join(dir, tool), `#!/bin/bash\necho "${tool} $*"\n`);
    chmodSync(join(dir, tool), 0o755);
  }
  const summary = join(dir, 'summary');
  const env = { PATH: `${dir}:${process.env.PATH}`, GITHUB_STEP_SUMMARY: summary, PROJECT_ID: 'mlabs-demo', BUCKET: 'mlabs-demo-nodepool-snapshots', TF_STATE_BUCKET: 'mlabs-demo-tfstate' };
  writeFileSync(summary, '');
  assert.equal(bash(step.run as string, { ...env, MONTHLY_COST: '612.34' }, dir).status, 0);
  assert.match(readFileSync(summary, 'utf8'), /Before the destroy, the cluster cost about \$612\.34 per month/);
  assert.match(readFileSync(summary, 'utf8'), /gs:\/\/mlabs-demo-nodepool-snapshots/);
  writeFileSync(summary, '');
  assert.equal(bash(step.run as string, { ...env, MONTHLY_COST: '' }, dir).status, 0);
  assert.match(readFileSync(summary, 'utf8'), /could not be read/);
});
