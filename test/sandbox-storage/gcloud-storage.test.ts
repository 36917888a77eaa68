// Real `gcloud storage` against the sandbox's Cloud Storage JSON API: listing, uploads (the
// multipart path apitools picks for small files), downloads through the mediaLink, cat, rm,
// copies between buckets (rewriteTo), the create-only precondition and missing objects.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, test } from 'vitest';
import { startSandbox, type Sandbox } from '../../scripts/sandbox/index.js';
import { Gcloud, requireGcloud } from './_gcloud.js';

const SNAPS = 'mlabs-demo-nodepool-snapshots';
const STATE = 'mlabs-demo-tfstate';

let sb: Sandbox;
let gc: Gcloud;
let dir: string;
beforeAll(async () => {
  requireGcloud();
  sb = await startSandbox({ operationMs: 0 });
  gc = new Gcloud(sb);
  dir = mkdtempSync(join(tmpdir(), 'gcs-files-'));
});
afterAll(async () => {
  await sb?.stop();
  gc?.dispose();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const storageCalls = (): string[] => sb.requests.filter((r) => r.api === 'storage').map((r) => `${r.method} ${r.path} ${r.status}`);

test('gcloud storage ls lists the seeded buckets', async () => {
  const out = await gc.ok(['storage', 'ls']);
  assert.deepEqual(out.trim().split('\n').sort(), ['gs://mlabs-demo-models/', `gs://${SNAPS}/`, `gs://${STATE}/`]);
});

test('gcloud storage cp up, ls, cat, cp down, rm: the bytes survive the round trip', async () => {
  const body = `{"pool":"gpu-l4","nodes":2}\n${'x'.repeat(3000)}\n`;
  const local = join(dir, 'pool.json');
  writeFileSync(local, body);
  await gc.ok(['storage', 'cp', local, `gs://${SNAPS}/mlabs/gpu-l4/pool.json`]);
  assert.ok(
    storageCalls().some((c) => /^POST \/upload\/storage\/v1\/b\/mlabs-demo-nodepool-snapshots\/o 200$/.test(c)),
    `the upload went to /upload/storage/v1: ${storageCalls().join('\n')}`,
  );

  const top = await gc.ok(['storage', 'ls', `gs://${SNAPS}/`]);
  assert.equal(top.trim(), `gs://${SNAPS}/mlabs/`);
  const deep = await gc.ok(['storage', 'ls', `gs://${SNAPS}/mlabs/gpu-l4/`]);
  assert.equal(deep.trim(), `gs://${SNAPS}/mlabs/gpu-l4/pool.json`);
  const long = await gc.ok(['storage', 'ls', '-l', `gs://${SNAPS}/mlabs/gpu-l4/pool.json`]);
  assert.match(long, new RegExp(`^\\s*${Buffer.byteLength(body)}\\s+\\S+\\s+gs://${SNAPS}/mlabs/gpu-l4/pool.json$`, 'm'));

  assert.equal(await gc.ok(['storage', 'cat', `gs://${SNAPS}/mlabs/gpu-l4/pool.json`]), body);

  const back = join(dir, 'back.json');
  await gc.ok(['storage', 'cp', `gs://${SNAPS}/mlabs/gpu-l4/pool.json`, back]);
  assert.equal(readFileSync(back, 'utf8'), body);
  assert.ok(storageCalls().some((c) => c.startsWith('GET /download/storage/v1/b/mlabs-demo-nodepool-snapshots/o/mlabs%2Fgpu-l4%2Fpool.json')), 'downloaded via the mediaLink');

  await gc.ok(['storage', 'rm', `gs://${SNAPS}/mlabs/gpu-l4/pool.json`]);
  const gone = await gc.run(['storage', 'ls', `gs://${SNAPS}/mlabs/gpu-l4/pool.json`]);
  assert.notEqual(gone.code, 0);
  assert.match(gone.stderr, /matched no objects/);
});

test('gcloud storage cp between buckets copies server-side (rewriteTo) with the same hashes', async () => {
  const local = join(dir, 'state.tfstate');
  writeFileSync(local, '{"version":4}\n');
  await gc.ok(['storage', 'cp', local, `gs://${STATE}/platform/default.tfstate`]);
  await gc.ok(['storage', 'cp', `gs://${STATE}/platform/default.tfstate`, `gs://${SNAPS}/backup/default.tfstate`]);
  assert.ok(storageCalls().some((c) => c.startsWith(`POST /storage/v1/b/${STATE}/o/platform%2Fdefault.tfstate/rewriteTo/b/${SNAPS}/o/backup%2Fdefault.tfstate`)));
  const [a, b] = await Promise.all([
    gc.json<Record<string, string>[]>(['storage', 'objects', 'describe', `gs://${STATE}/platform/default.tfstate`]),
    gc.json<Record<string, string>[]>(['storage', 'objects', 'describe', `gs://${SNAPS}/backup/default.tfstate`]),
  ]);
  const one = (x: unknown): Record<string, string> => (Array.isArray(x) ? x[0] : x) as Record<string, string>;
  assert.equal(one(a).md5_hash, one(b).md5_hash);
  assert.equal(one(a).crc32c_hash, one(b).crc32c_hash);
  assert.equal(await gc.ok(['storage', 'cat', `gs://${SNAPS}/backup/default.tfstate`]), '{"version":4}\n');
});

test('gcloud storage cp --if-generation-match=0 refuses to overwrite: 412 with Google wording', async () => {
  const local = join(dir, 'once.txt');
  writeFileSync(local, 'first\n');
  await gc.ok(['storage', 'cp', '--if-generation-match=0', local, `gs://${STATE}/once.txt`]);
  writeFileSync(local, 'second\n');
  const again = await gc.run(['storage', 'cp', '--if-generation-match=0', local, `gs://${STATE}/once.txt`]);
  assert.notEqual(again.code, 0);
  assert.match(again.stderr, /412: At least one of the pre-conditions you specified did not hold\./);
  assert.equal(await gc.ok(['storage', 'cat', `gs://${STATE}/once.txt`]), 'first\n');
});

test('missing objects and buckets: gcloud reports them as Google does', async () => {
  const obj = await gc.run(['storage', 'cat', `gs://${STATE}/no/such/object`]);
  assert.notEqual(obj.code, 0);
  assert.match(obj.stderr, /matched no objects/);
  const bucket = await gc.run(['storage', 'ls', 'gs://no-such-bucket-here/']);
  assert.notEqual(bucket.code, 0);
  assert.match(bucket.stderr, /gs:\/\/no-such-bucket-here not found: 404/);
});
