// model-serve through its bundle against the sandbox's GKE and Kubernetes: deploy makes the GPU pool
// (node-pool-expand's library), the Deployment and Service, reaches Ready and /v1/models lists the
// model; status reads it back; model-retire refuses meanwhile; undeploy leaves no Deployment,
// Service or pool (snapshot first).
import assert from 'node:assert/strict';
import { afterAll, beforeAll, test } from 'vitest';
import { kubernetesOf } from '../../scripts/sandbox/kubernetes/index.js';
import type { Sandbox } from '../../scripts/sandbox/index.js';
import { runAction } from '../harness.js';
import { modelSandbox } from './helpers.js';

let sb: Sandbox;
let env: Record<string, string>;
beforeAll(async () => {
  ({ sb, env } = await modelSandbox());
  env = { ...env, MLABS_OPERATION_POLL_MS: '15' };
});
afterAll(async () => {
  await sb?.stop();
});

const CLUSTER = { location: 'us-central1', cluster: 'mlabs' };
const serve = (inputs: Record<string, string>) => runAction('model-serve', { env, inputs: { ...CLUSTER, name: 'tiny-chat', ...inputs } });
const pools = (): string[] => {
  const c = (sb.state.container as { clusters: { name: string; nodePools?: { name: string }[] }[] }).clusters.find((x) => x.name === 'mlabs');
  return (c?.nodePools ?? []).map((p) => p.name).sort();
};

test('serve-deploy reaches Ready and lists the model; retire refuses while served; undeploy leaves nothing', { timeout: 240_000 }, async () => {
  const promoted = await runAction('model-promote', { env, inputs: { model: 'models:/tiny-chat/1' } });
  assert.equal(promoted.exitCode, 0, promoted.main.log);
  const uri = promoted.outputs.uri as string;

  const up = await serve({ verb: 'deploy', model_uri: uri, create_pool: 'true', service_account: 'mlabs-nodes@mlabs-demo.iam.gserviceaccount.com' });
  assert.equal(up.exitCode, 0, up.main.log);
  assert.equal(up.outputs.endpoint, 'http://tiny-chat.serving.svc.cluster.local:8000/v1');
  assert.equal(up.outputs.model, 'tiny-chat');
  assert.equal(up.outputs.ready_replicas, '1');
  assert.match(up.outputs.hourly_cost ?? '', /^~\$\d+\.\d\d\/h/);
  assert.match(up.summary, /kubectl -n serving port-forward svc\/tiny-chat 8000:8000/);
  assert.deepEqual(pools(), ['serve-tiny-chat', 'system']);
  const c = kubernetesOf(sb).get('mlabs')?.cluster;
  assert.ok(c);
  const dep = c.store.get(c.type('apps', 'deployments'), 'serving', 'tiny-chat') as { metadata: { annotations: Record<string, string>; labels: Record<string, string> } };
  assert.equal(dep.metadata.annotations['mlabs.io/model-uri'], uri);
  assert.equal(dep.metadata.labels['mlabs.io/model-server'], 'true');

  const st = await serve({ verb: 'status' });
  assert.equal(st.exitCode, 0, st.main.log);
  assert.equal(st.outputs.model, 'tiny-chat');
  assert.equal(st.outputs.ready_replicas, '1');

  const refused = await runAction('model-retire', { env, inputs: { ...CLUSTER, model: 'models:/tiny-chat/1' } });
  assert.equal(refused.exitCode, 1);
  assert.match(refused.main.annotations.map((a) => a.message).join('\n'), /is still served by serving\/tiny-chat/);

  const down = await serve({ verb: 'undeploy' });
  assert.equal(down.exitCode, 0, down.main.log);
  assert.equal(c.store.get(c.type('apps', 'deployments'), 'serving', 'tiny-chat'), undefined);
  assert.equal(c.store.get(c.type('', 'services'), 'serving', 'tiny-chat'), undefined);
  assert.deepEqual(pools(), ['system'], 'the pool deploy made is gone');
  assert.match(down.summary, /serve-tiny-chat: deleted \(snapshot gs:\/\/mlabs-demo-nodepool-snapshots\//);

  const again = await serve({ verb: 'undeploy' });
  assert.equal(again.exitCode, 0, again.main.log);
  assert.match(again.summary, /Deployment \| absent/);
});
