// The model workflows end to end through the local workflow runner, against one sandbox:
// model-promote (on dgx) → serve-deploy → model-retire refused while served → serve-undeploy →
// model-retire; nothing left behind.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { afterAll, beforeAll, test } from 'vitest';
import { kubernetesOf } from '../../scripts/sandbox/kubernetes/index.js';
import type { Sandbox } from '../../scripts/sandbox/index.js';
import { sandboxDefaults } from '../../scripts/workflow/defaults.js';
import { runWorkflow, type WorkflowRunResult } from '../../scripts/workflow/runner.js';
import { ROOT } from '../harness.js';
import { gcsNames, modelSandbox, versionTags } from './helpers.js';

let sb: Sandbox;
let defaults: { vars: Record<string, string>; secrets: Record<string, string> };
let machineKubeconfigs: Record<string, string>;
beforeAll(async () => {
  ({ sb } = await modelSandbox());
  defaults = sandboxDefaults(sb);
  const kube = kubernetesOf(sb);
  await kube.startCluster('dgx');
  machineKubeconfigs = { dgx: kube.kubeconfig('dgx') };
});
afterAll(async () => {
  await sb?.stop();
});

const workflow = (name: string, inputs: Record<string, string>): Promise<WorkflowRunResult> =>
  runWorkflow({ file: join(ROOT, 'workflows', name), env: { ...sb.env, MLABS_RETRY_BASE_MS: '1', MLABS_OPERATION_POLL_MS: '15' }, machineKubeconfigs, ...defaults, inputs });
const explain = (r: WorkflowRunResult): string =>
  [r.error ?? '', ...r.jobs.flatMap((j) => [`${j.name}: ${j.result} ${j.error ?? ''}`, ...j.steps.map((s) => `  ${s.name}: ${s.outcome} ${s.error ?? ''}\n${s.log}`)])].join('\n');

test('promote, serve, retire refused while served, undeploy, retire: each workflow through the runner', { timeout: 300_000 }, async () => {
  const promote = await workflow('model-promote.yml', { model: 'clinical-notes', version: '@champion' });
  assert.equal(promote.conclusion, 'success', explain(promote));
  assert.deepEqual(promote.jobs[0]?.runsOn, ['self-hosted', 'dgx']);
  assert.equal(promote.concurrency, 'mlabs-model-clinical-notes');
  assert.equal(versionTags(sb, 'clinical-notes', '2')['mlabs.promoted'], 'gs://mlabs-demo-models/clinical-notes/2/');

  const deploy = await workflow('serve-deploy.yml', { name: 'clinical-notes', model_uri: 'gs://mlabs-demo-models/clinical-notes/2/' });
  assert.equal(deploy.conclusion, 'success', explain(deploy));
  assert.equal(deploy.jobs[0]?.concurrency, 'mlabs-platform-mlabs-demo');

  const refused = await workflow('model-retire.yml', { model: 'clinical-notes', version: '2' });
  assert.equal(refused.conclusion, 'failure');
  assert.match(explain(refused), /still served by serving\/clinical-notes/);

  const undeploy = await workflow('serve-undeploy.yml', { name: 'clinical-notes' });
  assert.equal(undeploy.conclusion, 'success', explain(undeploy));
  const pools = (sb.state.container as { clusters: { name: string; nodePools?: { name: string }[] }[] }).clusters.find((c) => c.name === 'mlabs')?.nodePools?.map((p) => p.name);
  assert.deepEqual(pools, ['system']);

  const retire = await workflow('model-retire.yml', { model: 'clinical-notes', version: '2' });
  assert.equal(retire.conclusion, 'success', explain(retire));
  assert.deepEqual(gcsNames(sb, 'clinical-notes/2/'), []);
  assert.equal(versionTags(sb, 'clinical-notes', '2')['mlabs.promoted'], undefined);
});
