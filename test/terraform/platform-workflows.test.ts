/**
 * platform-create and platform-destroy as GitHub would run them: job order, what each step runs
 * and with which environment, and the shell of the steps that decide (confirmation, GPU pool list)
 * executed with stand-ins for gcloud on PATH.
 */
import { test, type TestContext } from 'vitest';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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

test('both workflows: workflow_dispatch, routed to the control runner (MLABS_CONTROL_RUNNER, else wsl2) by default, least permissions, one concurrency group per project', () => {
  for (const wf of [create, destroy]) {
    assert.equal(wf.on.workflow_dispatch.inputs.project_id?.default, '', 'the project comes from the repository variable');
    assert.equal(wf.on.workflow_dispatch.inputs.runner?.default, 'control');
    assert.deepEqual(wf.permissions, { contents: 'read', 'id-token': 'write' });
    assert.equal(wf.concurrency.group, 'mlabs-platform-${{ inputs.project_id || vars.MLABS_PROJECT_ID }}');
    assert.equal(wf.concurrency['cancel-in-progress'], false);
    for (const job of Object.values(wf.jobs)) {
      assert.deepEqual(job['runs-on'], ['self-hosted', "${{ inputs.runner != 'control' && inputs.runner || vars.MLABS_CONTROL_RUNNER || 'wsl2' }}"]);
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

test('platform-destroy: confirm first; then, in the destroy job itself, list and snapshot every GPU pool right before the destroy', () => {
  const { prepare, destroy: destroyJob } = destroy.jobs;
  assert.ok(prepare && destroyJob);
  assert.deepEqual(Object.keys(destroy.jobs), ['prepare', 'destroy'], 'no separate snapshot job: the listing and the destroy cannot drift apart');
  assert.equal(destroy.on.workflow_dispatch.inputs.confirm?.required, true);

  // The confirmation is the first step, compares through env:, and fails the job.
  const confirm = prepare.steps[0] as Step;
  assert.match(confirm.name ?? '', /confirm/i);
  assert.deepEqual(confirm.env, { CONFIRM: '${{ inputs.confirm }}', PROJECT_ID: '${{ inputs.project_id || vars.MLABS_PROJECT_ID }}' });
  assert.match(confirm.run ?? '', /"\$CONFIRM" != "\$PROJECT_ID"/);

  // The destroy job runs only after prepare succeeded (the default condition), never after a failure.
  assert.deepEqual(needs(destroyJob), ['prepare']);
  assert.equal(destroyJob.if, undefined);

  // Order inside the destroy job: list the pools, one snapshot step per possible pool, then the plan.
  const steps = destroyJob.steps;
  const list = index(steps, (s) => s.id === 'pools', 'the GPU pool listing');
  const snaps = steps.map((s, i) => [s, i] as const).filter(([s]) => s.uses === 'mlabs/mlabs-actions/actions/node-pool-snapshot@v1');
  const plan = index(steps, (s) => /terraform plan -destroy/.test(s.run ?? ''), 'plan -destroy');
  assert.ok(snaps.length >= 4, 'room for several GPU pools');
  assert.equal(steps[list]?.env?.MAX_POOLS, String(snaps.length), 'the listing refuses more pools than there are snapshot steps');
  snaps.forEach(([s, at], n) => {
    assert.equal(at, list + 1 + n, 'the snapshot steps follow the listing, nothing in between');
    assert.equal(s.if, `steps.pools.outputs.count > ${n}`);
    assert.deepEqual(s.with, {
      project_id: '${{ inputs.project_id || vars.MLABS_PROJECT_ID }}',
      location: '${{ needs.prepare.outputs.location }}',
      cluster: '${{ needs.prepare.outputs.cluster }}',
      pool: `\${{ fromJSON(steps.pools.outputs.pools)[${n}] }}`,
      bucket: '${{ needs.prepare.outputs.bucket }}',
    });
    assert.equal((s as Step & { 'continue-on-error'?: unknown })['continue-on-error'], undefined, 'a failed snapshot stops the destroy');
  });
  assert.equal(plan, list + 1 + snaps.length, 'the destroy is planned right after the last snapshot');
  assert.deepEqual(steps[list]?.env, {
    CLUSTER: '${{ needs.prepare.outputs.cluster }}',
    LOCATION: '${{ needs.prepare.outputs.location }}',
    SYSTEM_POOL: '${{ needs.prepare.outputs.system_pool }}',
    MAX_POOLS: String(snaps.length),
  });
  // The snapshot inputs are the action's.
  const declared = parseYaml(readFileSync(join(ROOT, 'actions/node-pool-snapshot/action.yml'), 'utf8')).inputs;
  for (const k of Object.keys(snaps[0]?.[0].with ?? {})) assert.ok(k in declared, k);
  // Nothing is destroyed or deleted in prepare, nor in the destroy job before its plan.
  for (const s of [...prepare.steps, ...steps.slice(0, plan)]) assert.doesNotMatch(s.run ?? '', /terraform (destroy|apply)|\s-destroy\b|\bdelete\b|\brm\b/, `${s.name} changes nothing`);
});

test('platform-destroy: a targeted destroy plan that keeps the snapshot bucket and, by default, the runner repository; checked by the plan summary, then applied', (t) => {
  const steps = destroy.jobs.destroy?.steps ?? [];
  const plan = index(steps, (s) => /terraform plan -destroy/.test(s.run ?? ''), 'plan -destroy');
  assert.deepEqual(steps[plan]?.env, { DELETE_RUNNER_IMAGES: '${{ inputs.delete_runner_images }}' });
  const input = destroy.on.workflow_dispatch.inputs.delete_runner_images as { default?: unknown; type?: string };
  assert.equal(input?.type, 'boolean');
  assert.equal(input?.default, false, 'keeping the runner images is the default');

  // The plan step run with a stand-in terraform: which targets it plans for each value of the input.
  const dir = tempDir(t, 'plan-');
  const calls = join(dir, 'calls');
  writeFileSync(join(dir, 'terraform'), `#!/bin/bash\nprintf '%s\\n' "$*" >> "${calls}"\n`);
  chmodSync(join(dir, 'terraform'), 0o755);
  const targets = (value: string | undefined) => {
    writeFileSync(calls, '');
    const r = bash(steps[plan]?.run as string, { PATH: `${dir}:${process.env.PATH}`, ...(value === undefined ? {} : { DELETE_RUNNER_IMAGES: value }) }, dir);
    assert.equal(r.status, 0, r.stderr);
    const line = readFileSync(calls, 'utf8').trim();
    assert.match(line, /^plan -destroy -input=false .* -out=destroy\.tfplan$/);
    return [...line.matchAll(/-target=(\S+)/g)].map((m) => m[1]);
  };
  assert.deepEqual(targets('false'), ['module.gke', 'module.registry'], 'the default keeps module.runner_registry');
  assert.deepEqual(targets(undefined), ['module.gke', 'module.registry']);
  assert.deepEqual(targets('true'), ['module.gke', 'module.registry', 'module.runner_registry']);

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

/** A temporary folder removed when the test ends. */
function tempDir(t: TestContext, prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A run: step as GitHub runs it without a `shell:` of its own: `bash -e` (no pipefail). */
function bash(script: string, env: Record<string, string>, cwd: string) {
  return spawnSync('bash', ['-e', '-c', script], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '', ...env }, cwd });
}

test('the confirmation step refuses a wrong or empty confirm and passes the project id', (t) => {
  const step = stepScript('prepare', /confirm/i);
  const dir = tempDir(t, 'confirm-');
  const wrong = bash(step.run as string, { CONFIRM: 'mlabs-dem', PROJECT_ID: 'mlabs-demo' }, dir);
  assert.equal(wrong.status, 1);
  assert.match(wrong.stdout, /::error::confirm must equal the project id \(mlabs-demo\)/);
  assert.equal(bash(step.run as string, { CONFIRM: '', PROJECT_ID: 'mlabs-demo' }, dir).status, 1);
  // A value that would break a naive ${{ }} interpolation is only data here.
  assert.equal(bash(step.run as string, { CONFIRM: '"; exit 0; "', PROJECT_ID: 'mlabs-demo' }, dir).status, 1);
  assert.equal(bash(step.run as string, { CONFIRM: 'mlabs-demo', PROJECT_ID: 'mlabs-demo' }, dir).status, 0);
  // Neither the input nor the repository variable names a project: refused, even with an empty confirm.
  const none = bash(step.run as string, { CONFIRM: '', PROJECT_ID: '' }, dir);
  assert.equal(none.status, 1);
  assert.match(none.stdout, /::error::No project: set the input project_id or the repository variable MLABS_PROJECT_ID/);
});

test('the GPU pool list is every pool but the Terraform system pool, and more pools than snapshot steps are refused', (t) => {
  const step = stepScript('destroy', /GPU pools/);
  const dir = tempDir(t, 'pools-');
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
  const env = { PATH: `${dir}:${process.env.PATH}`, CLUSTER: 'mlabs', LOCATION: 'us-central1', SYSTEM_POOL: 'system', MAX_POOLS: '2', GITHUB_OUTPUT: out };
  const r = bash(step.run as string, env, dir);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(readFileSync(calls, 'utf8').trim(), 'container node-pools list --cluster mlabs --location us-central1 --format=json');
  assert.equal(readFileSync(out, 'utf8'), 'pools=["l4-spot","t4"]\ncount=2\n');

  writeFileSync(join(dir, 'pools.json'), JSON.stringify([pools[0]]));
  writeFileSync(out, '');
  assert.equal(bash(step.run as string, env, dir).status, 0);
  assert.equal(readFileSync(out, 'utf8'), 'pools=[]\ncount=0\n', 'no GPU pool: every snapshot step is skipped and the destroy may run');

  // One pool more than there are snapshot steps: refused before anything is snapshotted or destroyed.
  writeFileSync(join(dir, 'pools.json'), JSON.stringify([...pools, { name: 'a100', config: {} }]));
  writeFileSync(out, '');
  const over = bash(step.run as string, env, dir);
  assert.equal(over.status, 1);
  assert.match(over.stdout, /::error::The cluster has 3 GPU pools; platform-destroy snapshots at most 2\. Delete the others first with gke-gpu-destroy/);
  assert.equal(readFileSync(out, 'utf8'), '', 'no pool list for the snapshot steps');

  // gcloud failing (no cluster, no permission) fails the step: no destroy on an unknown pool list.
  writeFileSync(join(dir, 'gcloud'), '#!/bin/bash\necho "ERROR: (gcloud.container.node-pools.list) PERMISSION_DENIED" >&2\nexit 1\n');
  writeFileSync(out, '');
  assert.notEqual(bash(step.run as string, env, dir).status, 0);
  assert.equal(readFileSync(out, 'utf8'), '', 'no (empty) pool list for the snapshot steps');
  // gcloud answering nothing at all, with success: refused too.
  writeFileSync(join(dir, 'gcloud'), '#!/bin/bash\nexit 0\n');
  const empty = bash(step.run as string, env, dir);
  assert.equal(empty.status, 1);
  assert.match(empty.stdout, /::error::Could not list the node pools of mlabs in us-central1/);
  assert.equal(readFileSync(out, 'utf8'), '');
});

test('the platform outputs the prepare job reads come from terraform output', (t) => {
  const step = stepScript('prepare', /Read the platform/);
  const dir = tempDir(t, 'outputs-');
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
  // An output terraform cannot read (no state, no such output) fails the step instead of passing on ''.
  delete values.system_pool;
  writeFileSync(join(dir, 'terraform'), `#!/bin/bash\ncase "$3" in\n${Object.entries(values).map(([k, v]) => `  ${k}) echo -n "${v}";;`).join('\n')}\n  *) echo "no output $3" >&2; exit 1;;\nesac\n`);
  writeFileSync(out, '');
  assert.notEqual(bash(step.run as string, { PATH: `${dir}:${process.env.PATH}`, GITHUB_OUTPUT: out }, dir).status, 0);
  assert.equal(readFileSync(out, 'utf8'), '');
});

test('the destroy report quotes what the cluster cost before, read by cost-cleanup in report mode (which changes nothing)', (t) => {
  const prepare = destroy.jobs.prepare?.steps ?? [];
  const cost = prepare.find((s) => s.uses === 'mlabs/mlabs-actions/actions/cost-cleanup@v1');
  assert.ok(cost, 'the prepare job reads the cost');
  assert.equal(cost.with?.mode, 'report');
  assert.equal((cost as Step & { 'continue-on-error'?: boolean })['continue-on-error'], true, 'a cost it cannot read does not block the destroy');

  const step = stepScript('destroy', /Report what remains/);
  const dir = tempDir(t, 'report-');
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
  assert.match(readFileSync(summary, 'utf8'), /The mlabs-runner repository \(module\.runner_registry\): the self-hosted runners pull their image from it/);
  writeFileSync(summary, '');
  assert.equal(bash(step.run as string, { ...env, MONTHLY_COST: '', DELETE_RUNNER_IMAGES: 'true' }, dir).status, 0);
  assert.match(readFileSync(summary, 'utf8'), /could not be read/);
  assert.match(readFileSync(summary, 'utf8'), /Not kept \(delete_runner_images\): the mlabs-runner repository/);
  assert.deepEqual(stepScript('destroy', /Report what remains/).env?.DELETE_RUNNER_IMAGES, '${{ inputs.delete_runner_images }}');
});

test('platform-create and -destroy: zones from the input or MLABS_ZONES reach Terraform as its list, which accepts europe-west4\'s zones', (t) => {
  for (const [wf, job] of [[create, 'apply'], [destroy, 'prepare'], [destroy, 'destroy']] as const) {
    const steps = wf.jobs[job]?.steps ?? [];
    const zones = index(steps, (s) => s.name === 'Zones', `Zones in ${job}`);
    assert.ok(zones < index(steps, (s) => /terraform init /.test(s.run ?? ''), 'init'), 'the zones are set before terraform runs');
    assert.deepEqual(steps[zones]?.env, { ZONES: '${{ inputs.zones || vars.MLABS_ZONES }}' });
    assert.equal(wf.on.workflow_dispatch.inputs.zones?.default, '', 'empty = the repository variable');
  }
  const script = create.jobs.apply?.steps.find((s) => s.name === 'Zones')?.run as string;
  const dir = tempDir(t, 'zones-');
  const envFile = join(dir, 'github_env');
  const tfVars = (zones: string) => {
    writeFileSync(envFile, '');
    const r = bash(script, { ZONES: zones, GITHUB_ENV: envFile }, dir);
    return { status: r.status, out: r.stdout, env: readFileSync(envFile, 'utf8') };
  };
  assert.equal(tfVars('europe-west4-a, europe-west4-b').env, 'TF_VAR_zones=["europe-west4-a","europe-west4-b"]\n');
  assert.equal(tfVars('').env, 'TF_VAR_zones=[]\n', 'empty: every zone of the region');
  writeFileSync(join(dir, 'main.tf'), '');
  const globbed = tfVars('*');
  assert.equal(globbed.status, 1, 'no file names from a glob');
  const bad = tfVars('europe-west4-a,"];x');
  assert.equal(bad.status, 1);
  assert.match(bad.out, /::error::zones: ""\];x" is not a zone name such as europe-west4-a/);
  assert.equal(bad.env, '', 'nothing reaches Terraform');

  // What the step writes is what envs/dev's variables accept: planned by terraform, region europe-west4.
  const tf = join(dir, 'tf');
  mkdirSync(tf);
  copyFileSync(join(ROOT, 'terraform/envs/dev/variables.tf'), join(tf, 'variables.tf'));
  const tfEnv = { ...process.env, TF_CLI_CONFIG_FILE: '/dev/null', TF_VAR_region: 'europe-west4' } as Record<string, string>;
  assert.equal(spawnSync('terraform', ['init', '-input=false'], { cwd: tf, env: tfEnv }).status, 0);
  const zonesValue = (tfVars('europe-west4-a,europe-west4-c').env.trim().split('=')[1]) as string;
  const ok = spawnSync('terraform', ['plan', '-input=false', '-no-color'], { cwd: tf, env: { ...tfEnv, TF_VAR_zones: zonesValue }, encoding: 'utf8' });
  assert.equal(ok.status, 0, ok.stderr);
  const wrong = spawnSync('terraform', ['plan', '-input=false', '-no-color'], { cwd: tf, env: { ...tfEnv, TF_VAR_zones: tfVars('us-central1-a').env.trim().split('=')[1] as string }, encoding: 'utf8' });
  assert.notEqual(wrong.status, 0);
  assert.match(wrong.stderr.replace(/\s+/g, ' '), /every zone must be a zone of var\.region/);
});
