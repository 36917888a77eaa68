// The MLflow REST subset, called with plain fetch in MLflow's documented shapes
// (https://mlflow.org/docs/latest/rest-api.html; mlflow/protos/service.proto, model_registry.proto).
import assert from 'node:assert/strict';
import { afterAll, beforeAll, test } from 'vitest';
import { startSandbox, type Sandbox } from '../../scripts/sandbox/index.js';

/** MLflow's JSON answers, read field by field as a client would. */
type Json = ReturnType<typeof JSON.parse>;

let sb: Sandbox;
let api: string;
beforeAll(async () => {
  sb = await startSandbox({});
  api = `${sb.env.MLFLOW_TRACKING_URI}/api/2.0/mlflow`;
});
afterAll(async () => {
  await sb?.stop();
});

const get = async (path: string): Promise<{ status: number; body: Record<string, Json> }> => {
  const res = await fetch(`${api}/${path}`);
  return { status: res.status, body: (await res.json()) as Record<string, Json> };
};
const send = async (method: string, path: string, body: unknown): Promise<{ status: number; body: Record<string, Json> }> => {
  const res = await fetch(`${api}/${path}`, { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Record<string, Json> };
};

test('registered model, version by number and by alias, the run with its tags', async () => {
  const m = await get('registered-models/get?name=clinical-notes');
  assert.equal(m.status, 200);
  assert.equal(m.body.registered_model.name, 'clinical-notes');
  assert.deepEqual(m.body.registered_model.aliases, [{ alias: 'champion', version: '2' }]);
  assert.equal(m.body.registered_model.latest_versions[0].version, '2');
  const v = await get('model-versions/get?name=clinical-notes&version=2');
  assert.equal(v.status, 200);
  const mv = v.body.model_version;
  assert.equal(mv.status, 'READY');
  assert.deepEqual(mv.aliases, ['champion']);
  assert.ok(mv.tags.some((t: { key: string; value: string }) => t.key === 'mlabs.deidentified' && t.value === 'true'));
  assert.match(mv.source, /^s3:\/\/mlflow\/1\/b2c3d4e5f60718293a4b5c6d7e8f9012\/artifacts\/model$/);
  const byAlias = await get('registered-models/alias?name=clinical-notes&alias=champion');
  assert.deepEqual(byAlias.body.model_version, mv);
  const run = await get(`runs/get?run_id=${mv.run_id}`);
  assert.equal(run.body.run.info.run_id, mv.run_id);
  assert.equal(run.body.run.info.artifact_uri, 's3://mlflow/1/b2c3d4e5f60718293a4b5c6d7e8f9012/artifacts');
  assert.ok(run.body.run.data.tags.some((t: { key: string; value: string }) => t.key === 'mlabs.data_class' && t.value === 'sensitive'));
});

test('artifacts/list lists one level from the S3 stand-in, with sizes', async () => {
  const top = await get('artifacts/list?run_id=b2c3d4e5f60718293a4b5c6d7e8f9012');
  assert.equal(top.body.root_uri, 's3://mlflow/1/b2c3d4e5f60718293a4b5c6d7e8f9012/artifacts');
  assert.deepEqual(top.body.files, [{ path: 'model', is_dir: true }]);
  const model = await get('artifacts/list?run_id=b2c3d4e5f60718293a4b5c6d7e8f9012&path=model');
  assert.deepEqual(model.body.files.map((f: { path: string }) => f.path), ['model/README.md', 'model/config.json', 'model/model.safetensors', 'model/tokenizer.json']);
  assert.equal(typeof model.body.files[0].file_size, 'number');
});

test('set-tag and delete-tag on a model version', async () => {
  assert.equal((await send('POST', 'model-versions/set-tag', { name: 'tiny-chat', version: '1', key: 'mlabs.promoted', value: 'gs://b/tiny-chat/1/' })).status, 200);
  let v = await get('model-versions/get?name=tiny-chat&version=1');
  assert.deepEqual(v.body.model_version.tags, [{ key: 'mlabs.promoted', value: 'gs://b/tiny-chat/1/' }]);
  assert.equal((await send('DELETE', 'model-versions/delete-tag', { name: 'tiny-chat', version: '1', key: 'mlabs.promoted' })).status, 200);
  v = await get('model-versions/get?name=tiny-chat&version=1');
  assert.equal(v.body.model_version.tags, undefined);
});

test('errors as MLflow returns them', async () => {
  assert.deepEqual(await get('registered-models/get?name=nope'), {
    status: 404,
    body: { error_code: 'RESOURCE_DOES_NOT_EXIST', message: 'Registered Model with name=nope not found' },
  });
  assert.deepEqual(await get('model-versions/get?name=clinical-notes&version=9'), {
    status: 404,
    body: { error_code: 'RESOURCE_DOES_NOT_EXIST', message: 'Model Version (name=clinical-notes, version=9) not found' },
  });
  assert.deepEqual((await get('runs/get?run_id=deadbeef')).body, { error_code: 'RESOURCE_DOES_NOT_EXIST', message: 'Run with id=deadbeef not found' });
  const alias = await get('registered-models/alias?name=clinical-notes&alias=prod');
  assert.equal(alias.status, 400);
  assert.equal(alias.body.error_code, 'INVALID_PARAMETER_VALUE');
  const missing = await send('POST', 'model-versions/set-tag', { name: 'tiny-chat', version: '1' });
  assert.equal(missing.status, 400);
  assert.match(missing.body.message, /Missing value for required parameter 'key'/);
});
