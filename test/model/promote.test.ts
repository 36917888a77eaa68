// model-promote through its bundle, against the sandbox's MLflow, MinIO stand-in and Cloud Storage.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, test } from 'vitest';
import type { MlflowSeed } from '../../scripts/sandbox/apis/mlflow.js';
import type { StorageState } from '../../scripts/sandbox/apis/storage.js';
import type { S3Service } from '../../scripts/sandbox/apis/s3.js';
import type { Sandbox } from '../../scripts/sandbox/index.js';
import { runAction } from '../harness.js';
import { gcsNames, modelSandbox, MODELS_BUCKET, registerModel, uploads, versionTags } from './helpers.js';

let sb: Sandbox;
let env: Record<string, string>;
let s3: S3Service;
beforeAll(async () => {
  ({ sb, env, s3 } = await modelSandbox());
});
afterAll(async () => {
  await sb?.stop();
});

const promote = (inputs: Record<string, string>, extraEnv: Record<string, string> = {}) => runAction('model-promote', { env: { ...env, ...extraEnv }, inputs });

test('a sensitive model without the de-identification tag is refused before any byte moves, naming the tag and how to set it', async () => {
  const before = sb.requests.length;
  const run = await promote({ model: 'models:/clinical-notes/1' });
  assert.equal(run.exitCode, 1);
  const msg = run.main.annotations.map((a) => a.message).join('\n');
  assert.match(msg, /Refused: clinical-notes version 1 was trained on sensitive data \(run a1b2c3d4e5f60718293a4b5c6d7e8f90 tag mlabs\.data_class=sensitive\) and does not carry mlabs\.deidentified=true/);
  assert.match(msg, /Fix: .*mlabs\.deidentified_by.*mlabs\.deidentified_at.*model-versions\/set-tag/);
  assert.deepEqual(gcsNames(sb, 'clinical-notes/'), []);
  assert.equal(sb.requests.slice(before).filter((r) => r.api === 'storage').length, 0, 'not one Cloud Storage request');
  assert.equal(s3.requests.filter((r) => r.path.includes('a1b2c3d4e5f60718293a4b5c6d7e8f90') && r.method === 'GET' && !r.query.includes('list-type')).length, 0, 'no artifact byte was read');
});

test('with the tag, the copy lands with its manifest last and the MLflow tag; the summary shows who and when; a re-run copies nothing', async () => {
  const run = await promote({ model: 'models:/clinical-notes@champion' });
  assert.equal(run.exitCode, 0, run.main.log);
  assert.equal(run.outputs.uri, 'gs://mlabs-demo-models/clinical-notes/2/');
  assert.equal(run.outputs.manifest_uri, 'gs://mlabs-demo-models/clinical-notes/2/manifest.json');
  assert.equal(run.outputs.files, '4');
  assert.equal(run.outputs.skipped, '0');
  assert.ok(Number(run.outputs.bytes) > 1000);
  assert.match(run.outputs.seconds ?? '', /^\d+(\.\d)?$/);
  assert.deepEqual(gcsNames(sb, 'clinical-notes/2/'), ['README.md', 'config.json', 'manifest.json', 'model.safetensors', 'tokenizer.json'].map((n) => `clinical-notes/2/${n}`));
  const st = sb.state.storage as StorageState;
  const objs = st.objects[MODELS_BUCKET] ?? {};
  const manifest = JSON.parse(Buffer.from(objs['clinical-notes/2/manifest.json']?.data ?? '', 'base64').toString('utf8'));
  assert.equal(manifest.data_class, 'sensitive');
  assert.deepEqual(manifest.deidentified, { by: 'privacy-officer@mlabs.example', at: '2025-06-03T09:30:00Z' });
  assert.equal(manifest.run_id, 'b2c3d4e5f60718293a4b5c6d7e8f9012');
  assert.equal(manifest.version, '2');
  const weights = Buffer.from(objs['clinical-notes/2/model.safetensors']?.data ?? '', 'base64');
  assert.equal(manifest.files.find((f: { path: string }) => f.path === 'model.safetensors').sha256, createHash('sha256').update(weights).digest('hex'));
  const gens = Object.values(objs).filter((o) => o.name.startsWith('clinical-notes/2/')).sort((a, b) => Number(a.generation) - Number(b.generation));
  assert.equal(gens.at(-1)?.name, 'clinical-notes/2/manifest.json', 'manifest.json is written last');
  assert.equal(versionTags(sb, 'clinical-notes', '2')['mlabs.promoted'], 'gs://mlabs-demo-models/clinical-notes/2/');
  assert.match(run.summary, /privacy-officer@mlabs\.example/);
  assert.match(run.summary, /2025-06-03T09:30:00Z/);
  assert.match(run.summary, /mlabs\.data_class=sensitive/);

  const before = uploads(sb);
  const again = await promote({ model: 'models:/clinical-notes/2' });
  assert.equal(again.exitCode, 0, again.main.log);
  assert.equal(again.outputs.bytes, '0');
  assert.equal(again.outputs.skipped, '4');
  const after = uploads(sb);
  assert.equal(after.sessions, before.sessions, 'no upload session on a re-run');
  assert.equal(after.chunks.length, before.chunks.length);
  assert.equal(Object.values(objs).filter((o) => o.name === 'clinical-notes/2/manifest.json').length, 1);
  assert.equal(gens.at(-1)?.generation, (sb.state.storage as StorageState).objects[MODELS_BUCKET]?.['clinical-notes/2/manifest.json']?.generation, 'manifest left as it was');
});

test('a runs:/ source is listed through MLflow\'s artifacts API, into its folders, not with S3 ListObjectsV2; each file is still read and verified from S3', async () => {
  const { runId } = registerModel(sb, 'runs-source', { 'mlabs.data_class': 'public' }, { 'model.safetensors': Buffer.alloc(4096, 3), 'config.json': '{"hidden":8}', 'tokenizer/vocab.json': '{"a":1}' });
  const version = (sb.state.mlflow as MlflowSeed).registered_models.find((m) => m.name === 'runs-source')?.versions[0];
  assert.ok(version);
  version.source = `runs:/${runId}/model`;
  const mark = sb.requests.length;
  const s3mark = s3.requests.length;
  const run = await promote({ model: 'models:/runs-source/1' });
  assert.equal(run.exitCode, 0, run.main.log);
  assert.equal(run.outputs.files, '3');
  assert.deepEqual(gcsNames(sb, 'runs-source/1/'), ['config.json', 'manifest.json', 'model.safetensors', 'tokenizer/vocab.json'].map((n) => `runs-source/1/${n}`));
  const listings = sb.requests.slice(mark).filter((r) => r.path.endsWith('/mlflow/api/2.0/mlflow/artifacts/list'));
  assert.deepEqual(listings.map((r) => r.query.path), ['model', 'model/tokenizer'], 'MLflow lists the version, then walks into its folder');
  assert.deepEqual(s3.requests.slice(s3mark).filter((r) => r.query.includes('list-type')), [], 'no ListObjectsV2');
  assert.equal(s3.requests.slice(s3mark).filter((r) => r.method === 'HEAD').length, 3, 'each listed file\'s ETag and size from S3');
});

test('a dataset file among the artifacts is refused by name, unless an allow pattern lists it', async () => {
  registerModel(sb, 'with-data', { 'mlabs.data_class': 'internal' }, { 'config.json': '{}', 'weights.safetensors': 'w'.repeat(100), 'eval/holdout.parquet': 'PAR1', 'train.csv': 'a,b\n1,2\n' });
  const run = await promote({ model: 'models:/with-data/1' });
  assert.equal(run.exitCode, 1);
  const msg = run.main.annotations.map((a) => a.message).join('\n');
  assert.match(msg, /Refused: 2 files in the model's artifacts are not model files: eval\/holdout\.parquet \(\.parquet is a data file\), train\.csv \(\.csv is a data file\)\. Nothing was copied\./);
  assert.match(msg, /allow/);
  assert.deepEqual(gcsNames(sb, 'with-data/'), []);
  const allowed = await promote({ model: 'models:/with-data/1', allow: 'eval/*.parquet, train.csv' });
  assert.equal(allowed.exitCode, 0, allowed.main.log);
  assert.equal(allowed.outputs.files, '4');
});

test('an interrupted 200 MiB upload resumes from what the session holds rather than restarting', { timeout: 300_000 }, async () => {
  const size = 200 * 1024 * 1024;
  const big = Buffer.alloc(size);
  for (let i = 0; i < size; i += 512) big.writeUInt32BE(i, i);
  registerModel(sb, 'big-public', { 'mlabs.data_class': 'public' }, { 'config.json': '{"n":1}', 'model.safetensors': big });
  const before = uploads(sb);
  sb.faults.add({ kind: 'uploadInterrupted', afterBytes: 100 * 1024 * 1024 + 12345, object: 'model\\.safetensors$', count: 1 });
  const run = await promote({ model: 'models:/big-public/1', chunk_mib: '16', parallel: '2' });
  assert.equal(run.exitCode, 0, run.main.log);
  const after = uploads(sb);
  assert.equal(after.sessions - before.sessions, 2, 'one session per file: the large one was not started again');
  const chunks = after.chunks.slice(before.chunks.length);
  assert.equal(chunks.filter((c) => c.status === 503).length, 1);
  assert.equal(chunks.filter((c) => c.status === 308).length >= 13, true);
  // 200 MiB in 16 MiB chunks is 13 chunk PUTs, plus the status query and the one chunk resent from the persisted offset.
  assert.ok(chunks.length <= 13 + 1 + 1 + 1, `${chunks.length} upload PUTs: a restart would be about twice as many`);
  assert.match(run.main.log, /upload interrupted at byte .*the session holds 104857600 bytes, resuming from there/);
  const o = (sb.state.storage as StorageState).objects[MODELS_BUCKET]?.['big-public/1/model.safetensors'];
  assert.equal(o?.md5Hash, createHash('md5').update(big).digest('base64'));
  assert.match(run.summary, /resumed 1x/);
});

test('an upload killed mid-way resumes in the next run from the session it left, sending only the rest, and the object verifies', { timeout: 300_000 }, async () => {
  const size = 200 * 1024 * 1024;
  const big = Buffer.alloc(size);
  for (let i = 0; i < size; i += 512) big.writeUInt32BE(i ^ 0x5a5a5a5a, i);
  registerModel(sb, 'big-killed', { 'mlabs.data_class': 'public' }, { 'config.json': '{"k":1}', 'model.safetensors': big });
  // The runner's tool cache, kept between the two runs as the machine's named volume keeps it.
  const toolCache = mkdtempSync(join(tmpdir(), 'promote-toolcache-'));
  const inputs = { model: 'models:/big-killed/1', chunk_mib: '16', parallel: '1' };
  const start = uploads(sb);
  // The job is killed (a lost runner, a cancelled run) once Cloud Storage holds four chunks of the weights.
  const kill = new AbortController();
  const watch = setInterval(() => {
    if (uploads(sb).chunks.slice(start.chunks.length).filter((c) => c.status === 308).length >= 4) kill.abort();
  }, 10);
  const first = await runAction('model-promote', { env: { ...env, RUNNER_TOOL_CACHE: toolCache }, inputs, signal: kill.signal }).finally(() => clearInterval(watch));
  assert.notEqual(first.exitCode, 0, 'the first run was killed');
  assert.ok(!gcsNames(sb, 'big-killed/1/').includes('big-killed/1/model.safetensors'), 'no object from the killed run');
  const mid = uploads(sb);

  const second = await runAction('model-promote', { env: { ...env, RUNNER_TOOL_CACHE: toolCache }, inputs });
  assert.equal(second.exitCode, 0, second.main.log);
  const from = Number(/model\.safetensors: resuming the upload an earlier run left, from byte (\d+) of 209715200/.exec(second.main.log)?.[1]);
  assert.ok(from >= 4 * 16 * 1024 * 1024, `resumed from byte ${from}`);
  const after = uploads(sb);
  assert.equal(after.sessions, mid.sessions, 'no new session: the one the killed run left was continued');
  // Bytes sent by the second run: what the session lacked, in 16 MiB chunks, plus the one status query.
  const sent = after.chunks.slice(mid.chunks.length);
  assert.equal(sent.length, 1 + Math.ceil((size - from) / (16 * 1024 * 1024)), `${sent.length} PUTs`);
  assert.ok(sent.length < 13, 'fewer than a whole upload');
  const o = (sb.state.storage as StorageState).objects[MODELS_BUCKET]?.['big-killed/1/model.safetensors'];
  assert.equal(o?.md5Hash, createHash('md5').update(big).digest('base64'));
  assert.equal(o?.metadata?.['mlabs-sha256'], createHash('sha256').update(big).digest('hex'));
  assert.deepEqual(readdirSync(join(toolCache, 'mlabs-model-promote', 'sessions')), [], 'the finished session is forgotten');
});

test('a session an earlier run left that has expired is forgotten, and the upload restarts cleanly', async () => {
  const weights = 'W'.repeat(3000);
  registerModel(sb, 'stale-session', { 'mlabs.data_class': 'public' }, { 'config.json': '{"s":1}', 'model.safetensors': weights });
  const toolCache = mkdtempSync(join(tmpdir(), 'promote-toolcache-'));
  // What a killed run a week ago left: a session Cloud Storage no longer knows.
  const dest = 'gs://mlabs-demo-models/stale-session/1/model.safetensors';
  const etag = createHash('md5').update(weights).digest('hex');
  const dir = join(toolCache, 'mlabs-model-promote', 'sessions');
  mkdirSync(dir, { recursive: true });
  const session = `${sb.url}/upload/storage/v1/b/mlabs-demo-models/o?uploadType=resumable&upload_id=expired-a-week-ago`;
  writeFileSync(join(dir, `${createHash('sha256').update(`${dest}\n${etag}\n${weights.length}`).digest('hex')}.json`), JSON.stringify({ dest, etag, size: weights.length, session }));
  const before = uploads(sb);
  const run = await promote({ model: 'models:/stale-session/1' }, { RUNNER_TOOL_CACHE: toolCache });
  assert.equal(run.exitCode, 0, run.main.log);
  assert.match(run.main.log, /model\.safetensors: the upload session an earlier run left has expired \(.*No such upload session.*\); starting again/);
  assert.equal(uploads(sb).sessions - before.sessions, 2, 'a new session for each file');
  assert.equal(Buffer.from((sb.state.storage as StorageState).objects[MODELS_BUCKET]?.['stale-session/1/model.safetensors']?.data ?? '', 'base64').toString(), weights);
  assert.deepEqual(readdirSync(dir), []);
});

test('a checksum mismatch fails naming the file, and writes neither it nor a manifest', async () => {
  const { prefix } = registerModel(sb, 'corrupt', { 'mlabs.data_class': 'public' }, { 'config.json': '{"c":1}', 'adapter.safetensors': 'A'.repeat(5000) });
  s3.corrupt('mlflow', `${prefix}/adapter.safetensors`);
  const run = await promote({ model: 'models:/corrupt/1', parallel: '1' });
  assert.equal(run.exitCode, 1);
  assert.match(run.main.annotations.map((a) => a.message).join('\n'), /Checksum mismatch on adapter\.safetensors: the bytes read from s3:\/\/mlflow\/.*adapter\.safetensors give ETag [0-9a-f]{32}, the source says [0-9a-f]{32}\. Nothing was written for it\./);
  assert.ok(!gcsNames(sb, 'corrupt/1/').includes('corrupt/1/adapter.safetensors'));
  assert.ok(!gcsNames(sb, 'corrupt/1/').includes('corrupt/1/manifest.json'));
  assert.equal(versionTags(sb, 'corrupt')['mlabs.promoted'], undefined);
});

test('wrong inputs fail before any request, naming the input', async () => {
  const before = sb.requests.length;
  const bad = await promote({ model: 'runs:/abc/model' });
  assert.equal(bad.exitCode, 1);
  assert.match(bad.main.annotations[0]?.message ?? '', /Input "model" is "runs:\/abc\/model": expected models:\/NAME\/VERSION, models:\/NAME@alias or s3:\/\/bucket\/prefix\//);
  const s3src = await promote({ model: 's3://mlflow/7/x/artifacts/model/' });
  assert.match(s3src.main.annotations[0]?.message ?? '', /Input "destination" is empty: an s3:\/\/ source/);
  const par = await promote({ model: 'models:/tiny-chat/1', parallel: '0' });
  assert.match(par.main.annotations[0]?.message ?? '', /Input "parallel" is "0": expected a whole number from 1 to 16/);
  assert.equal(sb.requests.length, before);
});
