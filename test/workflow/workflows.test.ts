/**
 * The suite's workflows run end to end through the local runner against one sandbox, and real
 * gcloud against the same sandbox sees what they did.
 */
import { afterAll, beforeAll, describe, test } from 'vitest';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, runProgram } from '../harness.js';
import { startSandbox, type Sandbox } from '../../scripts/sandbox/index.js';
import { INPUTS_FROM_VARS, sandboxDefaults } from '../../scripts/workflow/defaults.js';
import { runWorkflow, type WorkflowRunOptions, type WorkflowRunResult } from '../../scripts/workflow/runner.js';

let sb: Sandbox;
let gcloudConfig: string;
let defaults: { vars: Record<string, string>; secrets: Record<string, string> };

beforeAll(async () => {
  sb = await startSandbox({ operationMs: 50 });
  defaults = sandboxDefaults(sb);
  gcloudConfig = mkdtempSync(join(tmpdir(), 'mlabs-gcloud-'));
});
afterAll(async () => {
  await sb.stop();
  rmSync(gcloudConfig, { recursive: true, force: true });
});

const workflow = (name: string, opts: Partial<WorkflowRunOptions> = {}): Promise<WorkflowRunResult> =>
  runWorkflow({ file: join(ROOT, 'workflows', name), env: { ...sb.env, MLABS_RETRY_BASE_MS: '1' }, ...defaults, ...opts });

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
  });

  test('a wrong dispatch input fails before any job and creates nothing', async () => {
    const before = sb.requests.length;
    const r = await workflow('gke-gpu-expand.yml', { inputs: { runner: 'laptop', spot: 'maybe' } });
    assert.equal(r.conclusion, 'failure');
    assert.equal(r.jobs.length, 0);
    assert.match(r.error ?? '', /input 'runner' is 'laptop'; accepted: wsl2, dgx, agx/);
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
