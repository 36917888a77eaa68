/**
 * runner-health end to end through the local workflow runner against the sandbox's GitHub API: one
 * open issue while something is wrong (a runner offline, an old image), updated rather than
 * duplicated on the next run, and closed once all is well.
 */
import { afterAll, beforeAll, test } from 'vitest';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ROOT } from '../harness.js';
import { startSandbox, type Sandbox } from '../../scripts/sandbox/index.js';
import type { GithubRestService, GithubSeed } from '../../scripts/sandbox/apis/github-rest.js';
import { sandboxDefaults } from '../../scripts/workflow/defaults.js';
import { runWorkflow, type WorkflowRunResult } from '../../scripts/workflow/runner.js';

let sb: Sandbox;
let gh: GithubRestService;
let defaults: { vars: Record<string, string>; secrets: Record<string, string> };
beforeAll(async () => {
  sb = await startSandbox({ operationMs: 50 });
  gh = sb.ctx.services.get('github-rest') as GithubRestService;
  defaults = sandboxDefaults(sb);
});
afterAll(async () => sb.stop());

const CURRENT = `sha256:${'c'.repeat(64)}`;
const OLD = `sha256:${'0'.repeat(64)}`;

function health(running: string): Promise<WorkflowRunResult> {
  return runWorkflow({
    file: join(ROOT, 'workflows/runner-health.yml'),
    event: 'schedule',
    env: { ...sb.env, MLABS_RUNNER_IMAGE_REF: `us-central1-docker.pkg.dev/mlabs-demo/mlabs-runner/mlabs-runner@${running}` },
    vars: { ...defaults.vars, MLABS_RUNNER_DIGEST: CURRENT },
    secrets: defaults.secrets,
  });
}
const explain = (r: WorkflowRunResult): string =>
  [r.error ?? '', ...r.jobs.flatMap((j) => [`${j.name}: ${j.result} ${j.error ?? ''}`, ...j.steps.map((s) => `  ${s.name}: ${s.outcome} ${s.error ?? ''}\n${s.log}`)])].join('\n');
const issues = () => ((sb.state.github as GithubSeed).issues ?? []).filter((i) => i.labels.includes('runner-health'));

test('one issue lists what is wrong, is updated on the next run, and is closed when all is well', async () => {
  gh.reset();
  const seed = sb.state.github as GithubSeed;
  const agx = seed.runners.find((r) => r.name === 'mlabs-agx');
  assert.ok(agx);
  agx.status = 'offline';

  const bad = await health(OLD);
  assert.equal(bad.conclusion, 'success', explain(bad));
  // The offline machine is not probed (its job would wait for a runner forever): wsl2 and dgx are.
  assert.deepEqual(bad.jobs.filter((j) => j.name.startsWith('probe')).map((j) => j.name).sort(), ['probe (dgx)', 'probe (wsl2)']);
  const [opened, ...more] = issues().filter((i) => i.state === 'open');
  assert.ok(opened, explain(bad));
  assert.equal(more.length, 0);
  assert.equal(opened.title, 'runner-health: machines need attention');
  assert.match(opened.body ?? '', /- agx: no runner online/);
  assert.match(opened.body ?? '', new RegExp(`- wsl2: runs \\S+@${OLD}, not the current \\S+@${CURRENT}`));
  assert.match(opened.body ?? '', /- dgx: runs /);
  assert.doesNotMatch(opened.body ?? '', /GPU not visible|GiB free/);

  agx.status = 'online';
  const still = await health(OLD);
  assert.equal(still.conclusion, 'success', explain(still));
  const open = issues().filter((i) => i.state === 'open');
  assert.deepEqual(open.map((i) => i.number), [opened.number], 'the same issue, updated');
  assert.doesNotMatch(open[0]?.body ?? '', /agx: no runner online/);
  assert.match(open[0]?.body ?? '', /- agx: runs /);

  const good = await health(CURRENT);
  assert.equal(good.conclusion, 'success', explain(good));
  assert.deepEqual(issues().filter((i) => i.state === 'open'), [], 'closed when all is well');
  assert.equal(issues().find((i) => i.number === opened.number)?.state, 'closed');
});
