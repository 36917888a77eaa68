/**
 * The local runner's actions/github-script stand-in against the sandbox's GitHub API: the script's
 * github/context/core, the job token, outputs and result, and the ways a script step fails.
 */
import { afterAll, beforeAll, test } from 'vitest';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ROOT } from '../harness.js';
import { startSandbox, type Sandbox } from '../../scripts/sandbox/index.js';
import type { GithubRestService } from '../../scripts/sandbox/apis/github-rest.js';
import { sandboxDefaults } from '../../scripts/workflow/defaults.js';
import { runWorkflow } from '../../scripts/workflow/runner.js';

let sb: Sandbox;
beforeAll(async () => {
  sb = await startSandbox({ operationMs: 50 });
});
afterAll(async () => {
  await sb.stop();
});

test('github-script runs the script with github, context and core against the sandbox, as the job token; missing methods, setFailed and API errors fail the step', async () => {
  const { vars, secrets } = sandboxDefaults(sb);
  const r = await runWorkflow({ file: join(ROOT, 'test/workflow/fixtures/github-script.yml'), env: sb.env, vars, secrets });
  const steps = Object.fromEntries((r.jobs[0]?.steps ?? []).map((s) => [s.id, s]));
  const file = steps.file;
  assert.equal(file?.outcome, 'success', file?.log);
  assert.match(file?.standIn ?? '', /github-script ran the script against the sandbox's GitHub API/);
  const issues = (sb.ctx.services.get('github-rest') as GithubRestService).issues();
  assert.equal(issues.length, 1);
  const issue = issues[0];
  assert.equal(issue?.title, 'filed by a script');
  assert.equal(issue?.body, `run ${r.runId} (workflow_dispatch)`);
  assert.equal(issue?.state, 'closed');
  assert.equal(issue?.user, 'github-actions[bot]');
  assert.deepEqual(file?.outputs, { number: String(issue?.number), result: JSON.stringify({ number: issue?.number, listed: 1 }) });
  assert.match(file?.log ?? '', /filed #1; 1 labelled probe/);

  assert.equal(steps.missing?.outcome, 'failure');
  assert.match(steps.missing?.log ?? '', /github\.rest\.pulls is not in the local runner's github-script stand-in \(it has github\.rest\.issues\)/);
  assert.equal(steps.failed?.outcome, 'failure');
  assert.match(steps.failed?.log ?? '', /nothing to report/);
  assert.equal(steps.refused?.outcome, 'failure');
  assert.match(steps.refused?.log ?? '', /Unhandled error: HttpError: Bad credentials/);
  assert.equal(r.conclusion, 'success', 'the failing steps continue on error');
});

test("each job's GITHUB_TOKEN has that job's permissions (GitHub's defaults when absent); the sandbox refuses a call they do not allow with GitHub's 403", async () => {
  const { vars, secrets } = sandboxDefaults(sb);
  const github = sb.ctx.services.get('github-rest') as GithubRestService;
  const before = github.issues().length;
  const r = await runWorkflow({ file: join(ROOT, 'test/workflow/fixtures/token-scopes.yml'), env: sb.env, vars, secrets });
  const jobs = Object.fromEntries(r.jobs.map((j) => [j.id, j]));
  assert.deepEqual(jobs.writer?.permissions, { issues: 'write' });
  assert.deepEqual(jobs.reader?.permissions, { contents: 'read' });
  assert.deepEqual(jobs.defaults?.permissions, { contents: 'read', packages: 'read' });
  const writer = jobs.writer?.steps.find((s) => s.id === 'file');
  assert.equal(writer?.outcome, 'success', writer?.log);
  assert.deepEqual(github.issues().slice(before).map((i) => i.title), ['filed with issues: write'], 'only the job with issues: write filed an issue');
  for (const id of ['reader', 'defaults']) {
    const step = jobs[id]?.steps.find((s) => s.id === 'file');
    assert.equal(step?.outcome, 'failure', `${id}: ${step?.log}`);
    assert.match(step?.log ?? '', /HttpError: Resource not accessible by integration/, id);
  }
  const token = jobs.reader?.steps.find((s) => s.id === 'token');
  assert.equal(token?.outcome, 'success', token?.log);
  assert.equal(token?.log, 'same token in secrets and github: ***\n', 'the job token is masked');
  assert.notEqual(secrets.GITHUB_TOKEN, undefined);
});
