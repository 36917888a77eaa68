/**
 * The CLI as a new user runs it: `npm run workflow -- workflows/gke-gpu-expand.yml --input ...`
 * attached to a sandbox whose export lines are in the environment creates the pool, real gcloud
 * against the same sandbox lists it, and the destroy twin removes it; a wrong input exits non-zero.
 */
import { afterAll, beforeAll, test } from 'vitest';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, runProgram } from '../harness.js';
import { startSandbox, type Sandbox } from '../../scripts/sandbox/index.js';

let sb: Sandbox;
let home: string;
beforeAll(async () => {
  sb = await startSandbox({ operationMs: 50 });
  home = mkdtempSync(join(tmpdir(), 'mlabs-cli-'));
});
afterAll(async () => {
  await sb.stop();
  rmSync(home, { recursive: true, force: true });
});

const shellEnv = () => ({ PATH: process.env.PATH ?? '', HOME: home, ...sb.env, CLOUDSDK_CONFIG: join(home, 'gcloud'), MLABS_RETRY_BASE_MS: '1' });
const cli = (...args: string[]) => runProgram('npm', ['run', '-s', 'workflow', '--', ...args], shellEnv(), ROOT);
const pools = async (): Promise<string[]> => {
  const r = await runProgram('gcloud', ['container', 'node-pools', 'list', '--cluster', 'mlabs', '--location', 'us-central1', '--format=value(name)'], shellEnv());
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.split('\n').filter(Boolean).sort();
};

test('npm run workflow on gke-gpu-expand creates the pool gcloud then lists; gke-gpu-destroy removes it; a wrong input exits 1 before any job', async () => {
  const before = await pools();
  const expand = await cli('workflows/gke-gpu-expand.yml', '--input', 'pool=gpu-cli', '--input', 'zones=us-central1-a');
  assert.equal(expand.code, 0, expand.stdout + expand.stderr);
  assert.match(expand.stdout, new RegExp(`Using the sandbox at ${sb.url}`));
  assert.match(expand.stdout, /✓ Run mlabs\/mlabs-actions\/actions\/node-pool-expand@v1 \(success/);
  assert.match(expand.stdout, /✓ gke-gpu-expand: success/);
  assert.deepEqual(await pools(), [...before, 'gpu-cli'].sort());

  const destroy = await cli('workflows/gke-gpu-destroy.yml', '--input', 'pool=gpu-cli', '--input', 'snapshot=false');
  assert.equal(destroy.code, 0, destroy.stdout + destroy.stderr);
  assert.deepEqual(await pools(), before);

  const wrong = await cli('workflows/gke-gpu-expand.yml', '--input', 'pool=gpu-cli', '--input', 'no_such_input=1');
  assert.equal(wrong.code, 1);
  assert.match(wrong.stdout + wrong.stderr, /input 'no_such_input' is not declared/);
  assert.deepEqual(await pools(), before);
}, 300_000);
