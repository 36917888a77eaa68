// The kfp-finetune template's own workflows, as a new project gets them from project-create, through
// the local workflow runner against one sandbox: train (private first; the data class sensitive
// never bursts) → promote (refused without de-identification, then the de-identified version) →
// serve on a GKE GPU pool → retire refused while served → serve-undeploy → retire. Nothing is left.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, test } from 'vitest';
import { renderTemplate } from '../../actions/lib/project/template.js';
import { kubernetesOf } from '../../scripts/sandbox/kubernetes/index.js';
import type { Sandbox } from '../../scripts/sandbox/index.js';
import { sandboxDefaults } from '../../scripts/workflow/defaults.js';
import { runWorkflow, type WorkflowRunResult } from '../../scripts/workflow/runner.js';
import { ROOT } from '../harness.js';
import { gcsNames, modelSandbox, versionTags } from '../model/helpers.js';

let sb: Sandbox;
let project: string;
let defaults: { vars: Record<string, string>; secrets: Record<string, string> };
let machineKubeconfigs: Record<string, string>;
const IMAGE = 'us-central1-docker.pkg.dev/mlabs-demo/apps/clinical-notes-trainer:latest';

beforeAll(async () => {
  ({ sb } = await modelSandbox());
  const d = sandboxDefaults(sb);
  // The variables project-create sets on the project: the platform's, and the project's own.
  defaults = { vars: { ...d.vars, MLABS_DATA_CLASS: 'sensitive', MLABS_ALLOW_CLOUD: 'false', MLABS_TRAIN_IMAGE: IMAGE, MLABS_PLATFORM_REPOSITORY: 'mlabs/platform' }, secrets: d.secrets };
  const kube = kubernetesOf(sb);
  await kube.startCluster('dgx');
  await kube.startCluster('agx');
  machineKubeconfigs = { dgx: kube.kubeconfig('dgx'), agx: kube.kubeconfig('agx') };
  project = mkdtempSync(join(tmpdir(), 'mlabs-project-'));
  const files = renderTemplate('kfp-finetune', { PROJECT: 'clinical-notes', REPOSITORY: 'mlabs/clinical-notes', DESCRIPTION: 'Clinical notes', DATA_CLASS: 'sensitive', ALLOW_CLOUD: 'false', PLATFORM_REPOSITORY: 'mlabs/platform', TRAIN_IMAGE: IMAGE }, ROOT);
  for (const f of files) {
    mkdirSync(dirname(join(project, f.path)), { recursive: true });
    writeFileSync(join(project, f.path), f.content);
  }
});
afterAll(async () => {
  await sb?.stop();
  if (project) rmSync(project, { recursive: true, force: true });
});

const workflow = (name: string, inputs: Record<string, string>): Promise<WorkflowRunResult> =>
  runWorkflow({ file: join(project, '.github/workflows', name), env: { ...sb.env, MLABS_RETRY_BASE_MS: '1', MLABS_OPERATION_POLL_MS: '15' }, machineKubeconfigs, ...defaults, inputs });
const explain = (r: WorkflowRunResult): string =>
  [r.error ?? '', ...r.jobs.flatMap((j) => [`${j.name}: ${j.result} ${j.error ?? ''}`, ...j.steps.map((s) => `  ${s.name}: ${s.outcome} ${s.error ?? ''}\n${s.log}`)])].join('\n');

test("a project's train, promote, serve and their twins run end to end from the template's own files", { timeout: 420_000 }, async () => {
  const train = await workflow('train.yml', { gpu_memory_gb: '24' });
  assert.equal(train.conclusion, 'success', explain(train));
  const trainJob = train.jobs.find((j) => j.id === 'train');
  assert.equal(trainJob?.result, 'success', explain(train));
  assert.ok(trainJob?.runsOn.includes('dgx') || trainJob?.runsOn.includes('agx'), `trained on a private machine: ${trainJob?.runsOn.join(',')}`);
  assert.equal(train.jobs.find((j) => j.id === 'route')?.outputs.target, 'local');

  const undeidentified = await workflow('promote.yml', { model: 'clinical-notes', version: '1' });
  assert.equal(undeidentified.conclusion, 'failure');
  assert.match(explain(undeidentified), /mlabs\.deidentified/);
  assert.deepEqual(gcsNames(sb, 'clinical-notes/1/'), [], 'nothing of the refused version moved');

  const promote = await workflow('promote.yml', { model: 'clinical-notes', version: '2' });
  assert.equal(promote.conclusion, 'success', explain(promote));
  const uri = 'gs://mlabs-demo-models/clinical-notes/2/';
  assert.equal(versionTags(sb, 'clinical-notes', '2')['mlabs.promoted'], uri);

  const serve = await workflow('serve.yml', { name: 'clinical-notes', model_uri: uri });
  assert.equal(serve.conclusion, 'success', explain(serve));

  const refused = await workflow('retire.yml', { model: 'clinical-notes', version: '2' });
  assert.equal(refused.conclusion, 'failure');
  assert.match(explain(refused), /still served/);

  const undeploy = await workflow('serve-undeploy.yml', { name: 'clinical-notes' });
  assert.equal(undeploy.conclusion, 'success', explain(undeploy));
  const pools = (sb.state.container as { clusters: { name: string; nodePools?: { name: string }[] }[] }).clusters.find((c) => c.name === 'mlabs')?.nodePools?.map((p) => p.name);
  assert.deepEqual(pools, ['system'], 'serving left no pool');

  const retire = await workflow('retire.yml', { model: 'clinical-notes', version: '2' });
  assert.equal(retire.conclusion, 'success', explain(retire));
  assert.deepEqual(gcsNames(sb, 'clinical-notes/2/'), []);
});
