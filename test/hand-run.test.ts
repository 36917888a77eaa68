/**
 * A hand run (`node dist/index.js` with only the inputs given, no INPUT_* for the defaulted ones)
 * behaves like a runner run (which passes action.yml's defaults): the defaults live only in
 * action.yml and the bundle reads them from there.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { afterAll, beforeAll, test } from 'vitest';
import { startSandbox, type Sandbox } from '../scripts/sandbox/index.js';
import type { GithubSeed } from '../scripts/sandbox/apis/github-rest.js';
import { ROOT, runAction, type ActionRun, type RunOptions } from './harness.js';

let sb: Sandbox;
beforeAll(async () => {
  sb = await startSandbox({ operationMs: 50 });
});
afterAll(async () => {
  await sb.stop();
});

const errorOf = (r: ActionRun): string => r.main.annotations.find((a) => a.level === 'error')?.message ?? '';

/** The same action run by the runner and by hand; both results. */
async function both(name: string, opts: RunOptions): Promise<[ActionRun, ActionRun]> {
  const runner = await runAction(name, opts);
  const hand = await runAction(name, { ...opts, runnerDefaults: false });
  return [runner, hand];
}

test('terraform-plan-summary without protect refuses the plan deleting the snapshot bucket, by hand as on the runner', async () => {
  const [runner, hand] = await both('terraform-plan-summary', { inputs: { plan_json: join(ROOT, 'test/terraform/fixtures/plan-destroy-all.json'), allow_destroy: true } });
  for (const r of [runner, hand]) {
    assert.equal(r.exitCode, 1);
    assert.match(r.outputs.protected ?? '', /module\.storage\.google_storage_bucket\.snapshots/);
    assert.match(errorOf(r), /protected/);
  }
  assert.deepEqual(hand.outputs, runner.outputs);
  assert.equal(hand.summary, runner.summary);
  assert.match(hand.summary, /^## Terraform plan/m);
});

test('route-job with only a token decides the same by hand as on the runner (gpus, arch, data_class, cloud_accelerator defaults)', async () => {
  const token = (sb.state.github as GithubSeed).tokens[0]?.token as string;
  const [runner, hand] = await both('route-job', { inputs: { github_token: token }, env: { ...sb.env, MLABS_RETRY_BASE_MS: '1' } });
  assert.equal(runner.exitCode, 0, errorOf(runner));
  assert.equal(hand.exitCode, 0, errorOf(hand));
  assert.deepEqual(hand.outputs, runner.outputs);
  assert.equal(hand.outputs.cloud_accelerator, runner.outputs.cloud_accelerator);
});

test('gpu-capacity with only the accelerator type reads the same count and regions by hand as on the runner', async () => {
  const [runner, hand] = await both('gpu-capacity', { inputs: { accelerator_type: 'nvidia-l4' }, env: { ...sb.env, MLABS_RETRY_BASE_MS: '1' } });
  assert.equal(runner.exitCode, 0, errorOf(runner));
  assert.equal(hand.exitCode, 0, errorOf(hand));
  assert.deepEqual(hand.outputs, runner.outputs);
  assert.equal(hand.summary, runner.summary);
});

test('gpu-quota by hand defaults mode to ensure, as on the runner: count is then required, refused before any request', async () => {
  const before = sb.requests.length;
  const [runner, hand] = await both('gpu-quota', { inputs: { region: 'us-central1', gpu_family: 'nvidia-l4' }, env: { ...sb.env, MLABS_RETRY_BASE_MS: '1' } });
  for (const r of [runner, hand]) {
    assert.equal(r.exitCode, 1);
    assert.match(errorOf(r), /^Input "count" is empty/);
  }
  assert.equal(sb.requests.length, before);
});
