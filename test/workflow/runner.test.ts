/**
 * The local workflow runner's semantics on small fixture workflows: inputs, env levels, needs and
 * outputs, if: with status functions, matrix include/exclude, permissions and OIDC, continue-on-error,
 * GitHub's two bash invocations, GITHUB_ENV/PATH/OUTPUT/STEP_SUMMARY, runs-on labels, concurrency,
 * stand-ins, and broken workflows failing with the step and expression named.
 */
import { describe, test } from 'vitest';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../harness.js';
import { runWorkflow, type JobRecord, type WorkflowRunOptions, type WorkflowRunResult } from '../../scripts/workflow/runner.js';

const fixture = (name: string): string => join(ROOT, 'test/workflow/fixtures', name);
// Stand-in OIDC variables: the runner must hand them only to jobs with id-token: write.
const OIDC = { ACTIONS_ID_TOKEN_REQUEST_URL: 'http://127.0.0.1:9/github/actions/idtoken?api-version=2.0', ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'runner-token' };
const run = (name: string, opts: Partial<WorkflowRunOptions> = {}): Promise<WorkflowRunResult> => runWorkflow({ file: fixture(name), env: OIDC, ...opts });
const job = (r: WorkflowRunResult, name: string): JobRecord => {
  const j = r.jobs.find((x) => x.name === name);
  assert.ok(j, `no job ${name} in ${r.jobs.map((x) => x.name).join(', ')}`);
  return j;
};
const step = (j: JobRecord, id: string) => {
  const s = j.steps.find((x) => x.id === id);
  assert.ok(s, `no step ${id} in job ${j.name}`);
  return s;
};
const T = 60_000;

describe('inputs', () => {
  test('defaults, typed values, env at three levels, GITHUB_ENV/OUTPUT/STEP_SUMMARY, needs outputs, runs-on from an expression', async () => {
    const r = await run('semantics.yml', { inputs: { note: 'hello', size: 'large', flag: 'true' } });
    assert.equal(r.conclusion, 'success', JSON.stringify(r.jobs, null, 1));
    assert.deepEqual(r.inputs, { size: 'large', flag: true, note: 'hello' });
    const build = job(r, 'build');
    assert.equal(step(build, 'v').log, 'level=job\n');
    assert.equal(step(build, 'see').log, 'level=step from_env=exported note=hello flag=true\n');
    assert.equal(build.summary, '### built large\n');
    assert.deepEqual(build.outputs, { version: '1.large' });
    const use = job(r, 'use');
    assert.deepEqual(use.runsOn, ['self-hosted', 'dgx']);
    assert.match(use.steps[0]?.log ?? '', /got=1\.large result=success/);
    assert.ok(!existsSync(r.dir), 'the run folder is removed');
  }, T);

  test('a wrong dispatch input fails the run before any job, naming the input, the value and what is accepted', async () => {
    const r = await run('semantics.yml', { inputs: { size: 'huge', flag: 'yes', typo: 'x' } });
    assert.equal(r.conclusion, 'failure');
    assert.equal(r.jobs.length, 0);
    assert.match(r.error ?? '', /input 'size' is 'huge'; accepted: small, large/);
    assert.match(r.error ?? '', /input 'flag' is 'yes'; a boolean input accepts true or false/);
    assert.match(r.error ?? '', /input 'note' is required/);
    assert.match(r.error ?? '', /input 'typo' is not declared/);
  }, T);
});

test('permissions: without id-token: write a job gets no OIDC request URL or token; with it, it does', async () => {
  const r = await run('semantics.yml', { inputs: { note: 'n' } });
  assert.equal(step(job(r, 'build'), 'oidc').log, 'oidc=none\n');
  assert.equal(job(r, 'build').oidc, false);
  assert.equal(step(job(r, 'use'), 'oidc').log, 'oidc=yes\n');
  assert.equal(job(r, 'use').permissions['id-token'], 'write');
}, T);

test('if: success() skips after a failure, failure() and always() run; continue-on-error sets outcome and conclusion; needs results', async () => {
  const r = await run('status.yml');
  assert.equal(r.conclusion, 'failure');
  const a = job(r, 'a');
  assert.equal(a.result, 'failure');
  assert.deepEqual(
    a.steps.map((s) => [s.id, s.outcome, s.conclusion]),
    [
      ['ok', 'success', 'success'],
      ['broken', 'failure', 'success'],
      ['after-coe', 'success', 'success'],
      ['fails', 'failure', 'failure'],
      ['skipped-by-failure', 'skipped', 'skipped'],
      ['on-failure', 'success', 'success'],
      ['always', 'success', 'success'],
    ],
  );
  assert.equal(step(a, 'after-coe').log, 'broken outcome=failure conclusion=success\n');
  assert.equal(job(r, 'b').result, 'skipped');
  assert.match(job(r, 'c').steps[0]?.log ?? '', /cleanup after a=failure/);
  assert.match(job(r, 'd').steps[0]?.log ?? '', /a=failure b=skipped/);
}, T);

test('strategy.matrix: product less exclude, include extends matching legs and adds the rest; legs named by their values', async () => {
  const r = await run('matrix.yml');
  assert.equal(r.conclusion, 'success');
  assert.deepEqual(
    r.jobs.map((j) => [j.name, j.runsOn[1], j.steps[0]?.log.trim()]),
    [
      ['legs (dgx, small, spark)', 'dgx', 'leg dgx/small/spark index=0'],
      ['legs (dgx, large, spark)', 'dgx', 'leg dgx/large/spark index=1'],
      ['legs (agx, small)', 'agx', 'leg agx/small/ index=2'],
      ['legs (wsl2, tiny)', 'wsl2', 'leg wsl2/tiny/ index=3'],
    ],
  );
}, T);

test('shell unset is bash -e (no pipefail), shell: bash adds pipefail; working-directory defaults; GITHUB_PATH', async () => {
  const r = await run('shells.yml');
  const j = job(r, 'shells');
  assert.equal(step(j, 'default-shell').outcome, 'success');
  assert.equal(step(j, 'default-shell').log, 'default shell went on after a failing pipe in sub\n');
  assert.equal(step(j, 'bash-shell').outcome, 'failure');
  assert.equal(step(j, 'bash-shell').conclusion, 'success');
  assert.doesNotMatch(step(j, 'bash-shell').log, /not reached/);
  assert.equal(step(j, 'use-path').log, 'tool-from-path\n');
  assert.equal(r.conclusion, 'success');
}, T);

describe('broken workflows fail naming the step and the expression', () => {
  test('a step output name typo', async () => {
    const r = await run('broken-typo.yml');
    assert.equal(r.conclusion, 'failure');
    const print = job(r, 'build').steps.find((s) => s.name === 'Print the version');
    assert.equal(print?.outcome, 'failure');
    assert.match(print?.error ?? '', /step 'Print the version': \$\{\{ .*steps\.v\.outputs\.verison.* \}\}: step 'v' wrote no output 'verison' \(it wrote: version\)/);
  }, T);

  test('a job output name typo in needs', async () => {
    const r = await run('broken-needs-output.yml');
    assert.equal(r.conclusion, 'failure');
    assert.equal(job(r, 'build').result, 'success');
    const deploy = job(r, 'deploy').steps[0];
    assert.equal(deploy?.outcome, 'failure');
    assert.match(deploy?.error ?? '', /step 'Deploy the version': \$\{\{ .*needs\.build\.outputs\.vesion.* \}\}: job 'build' has no output 'vesion' \(it declares: version\)/);
  }, T);

  test('a missing needs', async () => {
    const r = await run('broken-needs.yml');
    assert.equal(r.conclusion, 'failure');
    const deploy = job(r, 'deploy').steps[0];
    assert.equal(deploy?.outcome, 'failure');
    assert.match(deploy?.error ?? '', /step 'Deploy the version': \$\{\{ .*needs\.build\.outputs\.version.* \}\}: job 'build' is not in this job's needs \(it has none\)/);
  }, T);
});

test('runs-on outside the suite labels and a foreign action fail their jobs with a clear message', async () => {
  const r = await run('bad-runs-on.yml');
  assert.equal(r.conclusion, 'failure');
  assert.match(job(r, 'hosted').error ?? '', /runs-on \[ubuntu-latest\] names no runner of the suite/);
  assert.match(job(r, 'foreign').steps[0]?.error ?? '', /uses: someone\/else@v1: the local runner cannot run this action \(no stand-in registered/);
}, T);

test('concurrency: runs of one group queue, the second starting after the first ends', async () => {
  const [a, b] = await Promise.all([run('concurrency.yml'), run('concurrency.yml')]);
  assert.equal(a?.concurrency, 'fixture-concurrency');
  const times = (r: WorkflowRunResult | undefined) => (r?.jobs[0]?.steps[0]?.log.match(/\d+/g) ?? []).map(BigInt);
  const [aStart, aEnd] = times(a);
  const [bStart, bEnd] = times(b);
  assert.ok(aStart !== undefined && aEnd !== undefined && bStart !== undefined && bEnd !== undefined, JSON.stringify([a?.jobs, b?.jobs]));
  assert.ok(bStart > aEnd || aStart > bEnd, 'one run started after the other ended');
}, T);

test('concurrency: a third run cancels the one still waiting, as GitHub keeps one pending run per group', async () => {
  const runs = await Promise.all([run('concurrency.yml'), run('concurrency.yml'), run('concurrency.yml')]);
  const cancelled = runs.filter((r) => r.conclusion === 'cancelled');
  assert.equal(cancelled.length, 1, runs.map((r) => r.conclusion).join(', '));
  assert.equal(cancelled[0]?.jobs.length, 0);
  assert.match(cancelled[0]?.error ?? '', /a newer run of concurrency group fixture-concurrency arrived while this one waited/);
  assert.equal(runs.filter((r) => r.conclusion === 'success').length, 2);
}, T);

test('stand-ins: setup-terraform, terraform and nvidia-smi recorded with their argument arrays; a step timeout stops the step', async () => {
  const r = await run('standins.yml');
  const j = job(r, 'tools');
  assert.match(j.steps[1]?.log ?? '', /cluster=mlabs/);
  assert.match(j.steps[2]?.log ?? '', /NVIDIA L4, 23034 MiB/);
  assert.deepEqual(
    r.toolCalls.map((c) => [c.tool, c.args]),
    [
      ['terraform', ['init', '-input=false']],
      ['terraform', ['output', '-raw', 'cluster_name']],
      ['nvidia-smi', ['--query-gpu=name,memory.total', '--format=csv']],
    ],
  );
  assert.equal(step(j, 'timeout').outcome, 'failure');
  assert.match(step(j, 'timeout').error ?? '', /timeout/);
  assert.equal(r.conclusion, 'success');
}, T);

test('secrets and ::add-mask:: values are masked in the logs and summaries the runner returns', async () => {
  const r = await run('secrets.yml', { secrets: { API_TOKEN: 's3cr3t-token-value' } });
  assert.equal(r.conclusion, 'success');
  const j = job(r, 'leak');
  assert.equal(j.steps[0]?.log, 'token is ***\n');
  assert.equal(j.summary, 'derived=abc-***\n');
  assert.equal(j.steps[1]?.log, 'later ***\n');
  assert.ok(!JSON.stringify(r.jobs).includes('s3cr3t-token-value'));
}, T);

test('a schedule run has an empty inputs context and github.event.schedule; a job timeout cancels the job and cancelled() steps run', async () => {
  const r = await run('scheduled.yml', { event: 'schedule' });
  const j = job(r, 'show');
  assert.equal(j.steps[0]?.log, 'event=schedule cron=17 6 * * 1 mode=[] default=report\n');
  assert.equal(step(j, 'slow').outcome, 'failure');
  assert.match(step(j, 'slow').error ?? '', /timeout/);
  assert.equal(step(j, 'after-timeout').log, 'cancelled job=cancelled\n');
  assert.equal(j.result, 'cancelled');
  assert.equal(r.conclusion, 'failure');
  const dispatched = await run('scheduled.yml', { inputs: { mode: 'report' } });
  assert.match(dispatched.jobs[0]?.steps[0]?.log ?? '', /^event=workflow_dispatch cron= mode=\[report\]/);
}, T);

test("a step's stdout and stderr are one log in the order written, as the Actions log shows it", async () => {
  const r = await run('interleave.yml');
  assert.equal(r.conclusion, 'success');
  assert.equal(step(job(r, 'log'), 'both').log, 'out-1\nerr-1\nout-2\nerr-2\nout-3\n');
}, T);

test('concurrency cancel-in-progress: true: a newer run cancels the one in progress (its step stopped, always() steps run), then runs', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mlabs-cancel-'));
  const marker = join(dir, 'started');
  try {
    const first = run('concurrency-cancel.yml', { inputs: { marker, seconds: '120' } });
    while (!existsSync(marker)) await new Promise((r) => setTimeout(r, 20));
    const second = await run('concurrency-cancel.yml');
    const a = await first;
    assert.equal(a.conclusion, 'cancelled', JSON.stringify(a.jobs, null, 1));
    assert.match(a.error ?? '', /cancelled in progress/);
    const one = job(a, 'one');
    assert.equal(one.result, 'cancelled');
    assert.equal(step(one, 'work').outcome, 'cancelled');
    assert.doesNotMatch(step(one, 'work').log, /finished/);
    assert.equal(step(one, 'after').outcome, 'skipped');
    assert.equal(step(one, 'cleanup').log, 'cleanup ran, job status cancelled\n');
    assert.equal(second.conclusion, 'success');
    assert.equal(step(job(second, 'one'), 'work').log, 'finished\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, T);

test('post steps run at the end of the job in reverse order, each with its own state; a job with continue-on-error: true may fail without failing the run', async () => {
  const r = await run('posts.yml');
  const probes = job(r, 'probes');
  assert.deepEqual(probes.steps.map((s) => [s.name, s.outcome]), [
    ['Run ./test/fixtures/probe-action', 'success'],
    ['Run ./test/fixtures/probe-action', 'success'],
    ['Run echo "between the mains, before any post"', 'success'],
    ['Post Run ./test/fixtures/probe-action', 'success'],
    ['Post Run ./test/fixtures/probe-action', 'success'],
  ]);
  const posts = probes.steps.filter((s) => s.post);
  assert.deepEqual(posts.map((s) => s.id), ['second', 'first'], 'reverse order of the mains');
  assert.match(posts[0]?.log ?? '', /post sees PROBE_GREETING=second/);
  assert.match(posts[0]?.log ?? '', /removed .*probe-file/);
  assert.equal(job(r, 'allowed-to-fail').result, 'success');
  assert.equal(job(r, 'allowed-to-fail').steps[0]?.outcome, 'failure');
  assert.equal(r.conclusion, 'success');
}, T);
