// The suite's own clients (actions/lib/google/storage.ts, artifactregistry.ts) against a sandbox,
// called directly with the sandbox's environment (no action harness).
import assert from 'node:assert/strict';
import { afterAll, beforeAll, beforeEach, test, vi } from 'vitest';
import * as ar from '../../actions/lib/google/artifactregistry.js';
import * as gcs from '../../actions/lib/google/storage.js';
import { ActionError } from '../../actions/lib/errors.js';
import { seedDigest } from '../../scripts/sandbox/apis/artifactregistry.js';
import { startSandbox, type Sandbox } from '../../scripts/sandbox/index.js';

const BUCKET = 'mlabs-demo-nodepool-snapshots';
let sb: Sandbox;

beforeAll(async () => {
  sb = await startSandbox({ operationMs: 50 });
});
// The library reads its endpoints from the environment, as in an action: each test sees the
// sandbox's, and vitest puts the environment back after it.
beforeEach(() => {
  for (const [k, v] of Object.entries({ ...sb.env, MLABS_RETRY_BASE_MS: '1' })) vi.stubEnv(k, v);
});
afterAll(async () => {
  await sb?.stop();
});

test('storage: upload create-only, a second create-only is a precondition failure, findObject and download', async () => {
  const o = await gcs.upload(BUCKET, 'mlabs/gpu-l4/2025-01-01.json', '{"nodes":2}', { contentType: 'application/json', ifGenerationMatch: 0 });
  assert.equal(o.size, 11);
  assert.equal(o.crc32c, gcs.crc32cBase64(Buffer.from('{"nodes":2}')));
  await assert.rejects(gcs.upload(BUCKET, 'mlabs/gpu-l4/2025-01-01.json', 'other', { ifGenerationMatch: 0 }), (err) => {
    assert.ok(gcs.isPreconditionFailed(err));
    assert.equal(gcs.gcsReason(err), 'conditionNotMet');
    return true;
  });
  const meta = await gcs.findObject(BUCKET, 'mlabs/gpu-l4/2025-01-01.json');
  assert.equal(meta?.generation, o.generation);
  assert.equal(meta?.contentType, 'application/json');
  assert.equal(await gcs.downloadText(BUCKET, 'mlabs/gpu-l4/2025-01-01.json'), '{"nodes":2}');
  assert.equal(await gcs.findObject(BUCKET, 'nope.json'), undefined);
  // Overwrite when the generation still matches; custom metadata goes multipart.
  const o2 = await gcs.upload(BUCKET, 'mlabs/gpu-l4/2025-01-01.json', '{"nodes":3}', { ifGenerationMatch: o.generation, metadata: { pool: 'gpu-l4' } });
  assert.deepEqual(o2.metadata, { pool: 'gpu-l4' });
  assert.notEqual(o2.generation, o.generation);
});

test('storage: listObjects with prefix/delimiter across pages, deleteObject', async () => {
  for (let i = 0; i < 5; i++) await gcs.upload(BUCKET, `list/p${i}.json`, String(i));
  await gcs.upload(BUCKET, 'list/sub/a.json', 'a');
  await gcs.upload(BUCKET, 'list/sub2/b.json', 'b');
  const listing = await gcs.listObjects(BUCKET, { prefix: 'list/', delimiter: '/', pageSize: 2 });
  assert.deepEqual(listing.objects.map((o) => o.name), ['list/p0.json', 'list/p1.json', 'list/p2.json', 'list/p3.json', 'list/p4.json']);
  assert.deepEqual(listing.prefixes, ['list/sub/', 'list/sub2/']);
  assert.ok(sb.requests.filter((r) => r.rpc === 'objects.list').length >= 4, 'it followed nextPageToken');
  const flat = await gcs.listObjects(BUCKET, { prefix: 'list/sub' });
  assert.deepEqual(flat.objects.map((o) => o.name), ['list/sub/a.json', 'list/sub2/b.json']);
  assert.equal(await gcs.deleteObject(BUCKET, 'list/p0.json'), true);
  assert.equal(await gcs.deleteObject(BUCKET, 'list/p0.json'), false);
  const p1 = await gcs.findObject(BUCKET, 'list/p1.json');
  await assert.rejects(gcs.deleteObject(BUCKET, 'list/p1.json', { ifGenerationMatch: 1 }), (e) => gcs.isPreconditionFailed(e));
  assert.equal(await gcs.deleteObject(BUCKET, 'list/p1.json', { ifGenerationMatch: p1?.generation }), true);
});

test('storage: a missing bucket is an ActionError that says how to fix it', async () => {
  await assert.rejects(gcs.listObjects('no-such-bucket'), (e) => e instanceof ActionError && /gs:\/\/no-such-bucket does not exist/.test(e.message));
  await assert.rejects(gcs.upload('no-such-bucket', 'x', 'y'), ActionError);
});

test('artifactregistry: versions with tags and ages, tags, delete tag and version (force)', async () => {
  const pkg = ar.packageOfImage('us-central1-docker.pkg.dev/mlabs-demo/mlabs-runner/mlabs-runner');
  assert.equal(pkg, 'projects/mlabs-demo/locations/us-central1/repositories/mlabs-runner/packages/mlabs-runner');
  assert.throws(() => ar.packageOfImage('docker.io/library/ubuntu:22.04'), ActionError);

  const versions = await ar.listVersions(pkg);
  assert.equal(versions.length, 7);
  const latest = versions.find((v) => v.tags.includes('latest'));
  assert.equal(latest?.digest, seedDigest('mlabs-runner:v1.4.0'));
  assert.deepEqual(latest?.tags.sort(), ['latest', 'v1.4.0']);
  assert.equal(versions.filter((v) => v.tags.length === 0).length, 3);
  assert.ok(versions.every((v) => v.createTime && v.sizeBytes && v.sizeBytes > 0));

  const tags = await ar.listTags(pkg);
  assert.equal(tags.find((t) => t.tag === 'v1.3.0')?.digest, seedDigest('mlabs-runner:v1.3.0'));

  assert.equal(await ar.deleteTag(`${pkg}/tags/v1.3.0`), true);
  assert.equal(await ar.deleteTag(`${pkg}/tags/v1.3.0`), false);

  const untagged = versions.find((v) => v.digest === seedDigest('mlabs-runner:untagged-15d'));
  assert.equal(await ar.deleteVersion(untagged?.name ?? ''), true);
  const tagged = versions.find((v) => v.digest === seedDigest('mlabs-runner:v1.2.0'));
  await assert.rejects(ar.deleteVersion(tagged?.name ?? ''), (e: { httpStatus?: number; status?: string }) => e.httpStatus === 400 && e.status === 'FAILED_PRECONDITION');
  assert.equal(await ar.deleteVersion(tagged?.name ?? '', { force: true }), true);

  const after = await ar.listVersions(pkg);
  assert.equal(after.length, 5);
  assert.ok(!(await ar.listTags(pkg)).some((t) => t.tag === 'v1.2.0'), 'force removed its tags');
  assert.equal(await ar.deleteVersion(untagged?.name ?? ''), false);
});
