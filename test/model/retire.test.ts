// model-retire through its bundle: refused while a serving Deployment points at the promoted prefix;
// then the prefix goes (manifest.json first) and the MLflow tag is cleared; a re-run does nothing.
import assert from 'node:assert/strict';
import { afterAll, beforeAll, test } from 'vitest';
import { kubernetesOf } from '../../scripts/sandbox/kubernetes/index.js';
import type { Sandbox } from '../../scripts/sandbox/index.js';
import { runAction } from '../harness.js';
import { gcsNames, modelSandbox, versionTags } from './helpers.js';

let sb: Sandbox;
let env: Record<string, string>;
beforeAll(async () => {
  ({ sb, env } = await modelSandbox());
});
afterAll(async () => {
  await sb?.stop();
});

const retire = (inputs: Record<string, string>) => runAction('model-retire', { env, inputs: { location: 'us-central1', cluster: 'mlabs', ...inputs } });

test('model-retire refuses while served, then removes the prefix manifest first and clears the tag; a re-run converges', async () => {
  const promoted = await runAction('model-promote', { env, inputs: { model: 'models:/tiny-chat/1' } });
  assert.equal(promoted.exitCode, 0, promoted.main.log);
  assert.equal(gcsNames(sb, 'tiny-chat/1/').length, 5);
  const h = kubernetesOf(sb).get('mlabs');
  assert.ok(h);
  const c = h.cluster;
  c.createObject(c.type('apps', 'deployments'), {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'tiny-chat', namespace: 'default', labels: { 'mlabs.io/model-server': 'true' }, annotations: { 'mlabs.io/model-uri': 'gs://mlabs-demo-models/tiny-chat/1/' } },
    spec: { replicas: 0, selector: { matchLabels: { app: 'tiny-chat' } }, template: { metadata: { labels: { app: 'tiny-chat' } }, spec: { containers: [{ name: 'vllm', image: 'vllm/vllm-openai:v0.6.3' }] } } },
  }, 'test');
  const refused = await retire({ model: 'models:/tiny-chat/1' });
  assert.equal(refused.exitCode, 1);
  assert.match(refused.main.annotations.map((a) => a.message).join('\n'), /Refused: gs:\/\/mlabs-demo-models\/tiny-chat\/1\/ is still served by default\/tiny-chat .*Nothing was removed\.\nFix: Undeploy it first/);
  assert.equal(gcsNames(sb, 'tiny-chat/1/').length, 5);
  assert.equal(versionTags(sb, 'tiny-chat')['mlabs.promoted'], 'gs://mlabs-demo-models/tiny-chat/1/');

  c.deleteObject(c.type('apps', 'deployments'), 'default', 'tiny-chat');
  const before = sb.requests.length;
  const done = await retire({ model: 'models:/tiny-chat/1' });
  assert.equal(done.exitCode, 0, done.main.log);
  assert.equal(done.outputs.deleted, '5');
  assert.equal(done.outputs.uri, 'gs://mlabs-demo-models/tiny-chat/1/');
  assert.deepEqual(gcsNames(sb, 'tiny-chat/1/'), []);
  const deletes = sb.requests.slice(before).filter((r) => r.method === 'DELETE' && r.api === 'storage');
  assert.match(deletes[0]?.path ?? '', /manifest\.json$/, 'the manifest goes first');
  assert.equal(versionTags(sb, 'tiny-chat')['mlabs.promoted'], undefined);

  const again = await retire({ model: 'models:/tiny-chat/1' });
  assert.equal(again.exitCode, 0, again.main.log);
  assert.equal(again.outputs.deleted, '0');
  assert.match(again.summary, /already retired or never promoted/);
});
