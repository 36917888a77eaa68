// serve-deploy and serve-undeploy with target local through the workflow runner, against one sandbox's
// dgx and agx machine clusters: the local job runs on the machine's runner label with no Google login;
// local-stack-deploy puts Ollama up, serve-deploy pulls the model and /v1/models lists it,
// serve-undeploy with purge leaves nothing it made; NIM on the agx is refused before anything changes.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { afterAll, beforeAll, test } from 'vitest';
import { startSandbox, type Sandbox } from '../../scripts/sandbox/index.js';
import { kubernetesOf, type KubernetesService } from '../../scripts/sandbox/kubernetes/index.js';
import { sandboxDefaults } from '../../scripts/workflow/defaults.js';
import { runWorkflow, type WorkflowRunResult } from '../../scripts/workflow/runner.js';
import { ROOT } from '../harness.js';

let sb: Sandbox;
let kube: KubernetesService;
let defaults: { vars: Record<string, string>; secrets: Record<string, string> };
let machineKubeconfigs: Record<string, string>;
beforeAll(async () => {
  sb = await startSandbox({ operationMs: 50 });
  defaults = sandboxDefaults(sb);
  kube = kubernetesOf(sb);
  await kube.startCluster('dgx');
  await kube.startCluster('agx');
  machineKubeconfigs = { dgx: kube.kubeconfig('dgx'), agx: kube.kubeconfig('agx') };
});
afterAll(async () => {
  await sb?.stop();
});

const workflow = (name: string, inputs: Record<string, string>, secrets: Record<string, string> = {}): Promise<WorkflowRunResult> =>
  runWorkflow({ file: join(ROOT, 'workflows', name), env: { ...sb.env, MLABS_RETRY_BASE_MS: '1' }, machineKubeconfigs, vars: defaults.vars, secrets: { ...defaults.secrets, ...secrets }, inputs });
const explain = (r: WorkflowRunResult): string =>
  [r.error ?? '', ...r.jobs.flatMap((j) => [`${j.name}: ${j.result} ${j.error ?? ''}`, ...j.steps.map((s) => `  ${s.name}: ${s.outcome} ${s.error ?? ''}\n${s.log}`)])].join('\n');
/** What a machine cluster holds that a workflow made (not events, nodes or leases). */
const objects = (machine: string): string[] => (kube.get(machine)?.cluster.store.all() ?? [])
  .filter((o) => !['events', 'nodes', 'leases'].includes(o.resource))
  .map((o) => `${o.resource}/${String((o.object.metadata as Record<string, unknown>).namespace ?? '')}/${String((o.object.metadata as Record<string, unknown>).name)}`)
  .sort();

test('serve-deploy target local on dgx: Ollama pulls the model, /v1/models lists it; serve-undeploy with purge leaves nothing it made', { timeout: 300_000 }, async () => {
  const stack = await workflow('local-stack-deploy.yml', { runner: 'dgx', components: 'ollama' });
  assert.equal(stack.conclusion, 'success', explain(stack));
  const before = objects('dgx');

  const deploy = await workflow('serve-deploy.yml', { name: 'chat', target: 'local', machine: 'dgx', runtime: 'ollama', local_model: 'llama3.2:3b' });
  assert.equal(deploy.conclusion, 'success', explain(deploy));
  const ran = deploy.jobs.filter((j) => j.result !== 'skipped');
  assert.deepEqual(ran.map((j) => j.runsOn), [['self-hosted', 'dgx']]);
  assert.equal(deploy.concurrency, 'mlabs-serve-chat');
  assert.equal(ran[0]?.concurrency, 'local-stack-dgx');
  assert.ok(!ran[0]?.steps.some((s) => /wif-login/.test(s.uses ?? s.name)), 'no Google login on the local job');
  assert.equal(ran[0]?.oidc, false);
  assert.equal(ran[0]?.steps.at(-1)?.outputs.endpoint, 'http://ollama.ollama.svc.cluster.local:11434/v1');
  assert.match(ran[0]?.summary ?? '', /ssh -N -L 11434:192\.168\.49\.2:31434/);
  assert.deepEqual(kube.ollamaModels('dgx', 'ollama', 'ollama'), ['llama3.2:3b']);

  const undeploy = await workflow('serve-undeploy.yml', { name: 'chat', target: 'local', machine: 'dgx', runtime: 'ollama', purge: 'true', confirm: 'llama3.2:3b' });
  assert.equal(undeploy.conclusion, 'success', explain(undeploy));
  assert.deepEqual(kube.ollamaModels('dgx', 'ollama', 'ollama'), []);
  assert.deepEqual(objects('dgx'), before);
});

test('serve-deploy target local with runtime nim on agx is refused before anything changes', { timeout: 120_000 }, async () => {
  const before = objects('agx');
  const run = await workflow('serve-deploy.yml', { name: 'chat', target: 'local', machine: 'agx', runtime: 'nim', local_model: 'meta/llama-3.1-8b-instruct:1.3.3' }, { NGC_API_KEY: 'nvapi-workflow-test-key-0123456789' });
  assert.equal(run.conclusion, 'failure');
  assert.deepEqual(run.jobs.filter((j) => j.result !== 'skipped').map((j) => j.runsOn), [['self-hosted', 'agx']]);
  assert.match(explain(run), /runtime nim cannot run on agx: not supported on jetson/);
  assert.deepEqual(objects('agx'), before);
});
