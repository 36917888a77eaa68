// The sandbox's Cloud Storage JSON API through @google-cloud/storage (Google's Node client,
// pointed at it with apiEndpoint) and raw HTTP: preconditions, downloads, prefix/delimiter
// listing, pagination, error bodies, auth, resumable chunks and seeding/dumping.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, test } from 'vitest';
import { Storage } from '@google-cloud/storage';
import { startSandbox, type Sandbox } from '../../scripts/sandbox/index.js';

// @google-cloud/storage carries its own google-auth-library major: use that one's OAuth2Client.
const storageRequire = createRequire(createRequire(import.meta.url).resolve('@google-cloud/storage'));
const { OAuth2Client } = storageRequire('google-auth-library') as typeof import('google-auth-library');

const BUCKET = 'mlabs-demo-tfstate';
let sb: Sandbox;
let gcs: Storage;

beforeAll(async () => {
  sb = await startSandbox({ operationMs: 0 });
  const auth = new OAuth2Client();
  auth.setCredentials({ access_token: sb.accessToken, expiry_date: Date.now() + 3600_000 });
  gcs = new Storage({ apiEndpoint: sb.url, projectId: sb.project.projectId, authClient: auth as never, useAuthWithCustomEndpoint: true, retryOptions: { autoRetry: false } });
  // @google-cloud/storage 7.x does not pass useAuthWithCustomEndpoint on to resumable uploads
  // (File#startResumableUpload_), so they would go out without a token: add it as the client's own interceptor.
  gcs.interceptors.push({
    request: (o: { headers?: Record<string, string> }) => ({ ...o, headers: { ...o.headers, Authorization: `Bearer ${sb.accessToken}` } }),
  } as never);
});
afterAll(async () => {
  await sb?.stop();
});

async function raw(method: string, path: string, opts: { body?: Buffer | string; headers?: Record<string, string>; token?: string | null } = {}) {
  const token = opts.token === undefined ? sb.accessToken : opts.token;
  const res = await fetch(`${sb.url}${path}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...opts.headers },
    ...(opts.body !== undefined ? { body: typeof opts.body === 'string' ? opts.body : new Uint8Array(opts.body) } : {}),
  });
  const text = await res.text();
  let json: Record<string, unknown> = {};
  try {
    json = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  } catch {
    /* media */
  }
  return { status: res.status, headers: res.headers, text, json };
}

test('@google-cloud/storage: create-only upload twice, the second is refused with 412 conditionNotMet', async () => {
  const file = gcs.bucket(BUCKET).file('locks/apply.lock');
  await file.save('held by run 1', { preconditionOpts: { ifGenerationMatch: 0 }, resumable: true });
  // The resumable path surfaces gaxios' error: HTTP status plus GCS's body.
  await assert.rejects(file.save('held by run 2', { preconditionOpts: { ifGenerationMatch: 0 }, resumable: true }), (err: { status?: number; response?: { data?: unknown } }) => {
    assert.equal(err.status, 412);
    const body = err.response?.data as { error: { message: string; errors: { reason: string }[] } };
    assert.equal(body.error.message, 'At least one of the pre-conditions you specified did not hold.');
    assert.equal(body.error.errors[0]?.reason, 'conditionNotMet');
    return true;
  });
  const [content] = await file.download();
  assert.equal(content.toString(), 'held by run 1');
  // The same rule on the multipart path.
  await assert.rejects(file.save('again', { preconditionOpts: { ifGenerationMatch: 0 }, resumable: false }), (err: { code?: number; message?: string }) => {
    assert.equal(err.code, 412);
    assert.match(String(err.message), /At least one of the pre-conditions you specified did not hold\./);
    return true;
  });
});

test('@google-cloud/storage: metadata, download (hash-validated) and generation match', async () => {
  const file = gcs.bucket(BUCKET).file('snap/meta.json');
  await file.save('{"a":1}', { resumable: false, contentType: 'application/json', metadata: { metadata: { cluster: 'mlabs' } } });
  const [meta] = await file.getMetadata();
  assert.equal(meta.contentType, 'application/json');
  assert.equal(meta.size, '7');
  assert.equal(meta.metageneration, '1');
  assert.deepEqual(meta.metadata, { cluster: 'mlabs' });
  assert.match(String(meta.md5Hash), /^[A-Za-z0-9+/]{22}==$/);
  assert.match(String(meta.crc32c), /^[A-Za-z0-9+/]{6}==$/);
  const [data] = await file.download({ validation: 'crc32c' });
  assert.equal(data.toString(), '{"a":1}');
  // Overwrite only if the generation is still the one we read.
  await file.save('{"a":2}', { resumable: false, preconditionOpts: { ifGenerationMatch: Number(meta.generation) } });
  const [meta2] = await file.getMetadata();
  assert.ok(BigInt(String(meta2.generation)) > BigInt(String(meta.generation)), 'a new generation');
  await assert.rejects(file.save('{"a":3}', { resumable: false, preconditionOpts: { ifGenerationMatch: Number(meta.generation) } }), (e: { code?: number }) => e.code === 412);
});

test('@google-cloud/storage: list with prefix and delimiter returns items and prefixes', async () => {
  const b = gcs.bucket(BUCKET);
  for (const n of ['tree/a.txt', 'tree/b.txt', 'tree/sub/c.txt', 'tree/sub/d.txt', 'tree/other/e.txt', 'treetop.txt']) await b.file(n).save(n, { resumable: false });
  const [files, , resp] = await b.getFiles({ prefix: 'tree/', delimiter: '/', autoPaginate: false });
  assert.deepEqual(files.map((f) => f.name), ['tree/a.txt', 'tree/b.txt']);
  assert.deepEqual((resp as { prefixes?: string[] }).prefixes, ['tree/other/', 'tree/sub/']);
  const [all] = await b.getFiles({ prefix: 'tree' });
  assert.deepEqual(all.map((f) => f.name), ['tree/a.txt', 'tree/b.txt', 'tree/other/e.txt', 'tree/sub/c.txt', 'tree/sub/d.txt', 'treetop.txt']);
});

test('objects.list pagination: maxResults + pageToken walk every entry once, prefixes counted as entries', async () => {
  for (let i = 0; i < 7; i++) await raw('POST', `/upload/storage/v1/b/${BUCKET}/o?uploadType=media&name=page/${String(i).padStart(2, '0')}.txt`, { body: `n${i}` });
  await raw('POST', `/upload/storage/v1/b/${BUCKET}/o?uploadType=media&name=page/dir/x.txt`, { body: 'x' });
  const seen: string[] = [];
  const prefixes: string[] = [];
  let token: string | undefined;
  let pages = 0;
  do {
    const q = new URLSearchParams({ prefix: 'page/', delimiter: '/', maxResults: '3', ...(token ? { pageToken: token } : {}) });
    const r = await raw('GET', `/storage/v1/b/${BUCKET}/o?${q}`);
    assert.equal(r.status, 200);
    const items = (r.json.items as { name: string }[] | undefined) ?? [];
    seen.push(...items.map((i) => i.name));
    prefixes.push(...((r.json.prefixes as string[] | undefined) ?? []));
    assert.ok(items.length + ((r.json.prefixes as string[] | undefined)?.length ?? 0) <= 3);
    token = r.json.nextPageToken as string | undefined;
    pages++;
  } while (token);
  assert.equal(pages, 3);
  assert.deepEqual(seen, ['page/00.txt', 'page/01.txt', 'page/02.txt', 'page/03.txt', 'page/04.txt', 'page/05.txt', 'page/06.txt']);
  assert.deepEqual(prefixes, ['page/dir/']);
});

test('404s carry GCS wording: missing bucket, missing object', async () => {
  const nb = await raw('GET', '/storage/v1/b/no-such-bucket/o/x');
  assert.equal(nb.status, 404);
  assert.deepEqual(nb.json, {
    error: { code: 404, message: 'The specified bucket does not exist.', errors: [{ message: 'The specified bucket does not exist.', domain: 'global', reason: 'notFound' }] },
  });
  const no = await raw('GET', `/storage/v1/b/${BUCKET}/o/${encodeURIComponent('nope/x.bin')}?alt=media`);
  assert.equal(no.status, 404);
  assert.equal((no.json.error as { message: string }).message, `No such object: ${BUCKET}/nope/x.bin`);
  await assert.rejects(gcs.bucket(BUCKET).file('nope/y').download(), (e: { code?: number }) => e.code === 404);
  const del = await raw('DELETE', `/storage/v1/b/${BUCKET}/o/nope`);
  assert.equal(del.status, 404);
});

test('412 body for every precondition kind, as GCS answers', async () => {
  await raw('POST', `/upload/storage/v1/b/${BUCKET}/o?uploadType=media&name=pre.txt`, { body: 'v1' });
  const meta = (await raw('GET', `/storage/v1/b/${BUCKET}/o/pre.txt`)).json as { generation: string; metageneration: string };
  const expected = {
    error: {
      code: 412,
      message: 'At least one of the pre-conditions you specified did not hold.',
      errors: [{ message: 'At least one of the pre-conditions you specified did not hold.', domain: 'global', reason: 'conditionNotMet', locationType: 'header', location: 'If-Match' }],
    },
  };
  for (const q of ['ifGenerationMatch=0', `ifGenerationNotMatch=${meta.generation}`, 'ifMetagenerationMatch=7']) {
    const r = await raw('POST', `/upload/storage/v1/b/${BUCKET}/o?uploadType=media&name=pre.txt&${q}`, { body: 'v2' });
    assert.equal(r.status, 412, q);
    assert.deepEqual(r.json, expected);
  }
  const d = await raw('DELETE', `/storage/v1/b/${BUCKET}/o/pre.txt?ifGenerationMatch=1`);
  assert.equal(d.status, 412);
  const ok = await raw('DELETE', `/storage/v1/b/${BUCKET}/o/pre.txt?ifGenerationMatch=${meta.generation}`);
  assert.equal(ok.status, 204);
});

test('401 without a token or with an expired one; the buckets are untouched', async () => {
  const none = await raw('GET', `/storage/v1/b/${BUCKET}/o`, { token: null });
  assert.equal(none.status, 401);
  assert.equal((none.json.error as { errors: { reason: string }[] }).errors[0]?.reason, 'authError');
  assert.match(String(none.headers.get('www-authenticate')), /invalid_token/);
  const up = await raw('POST', `/upload/storage/v1/b/${BUCKET}/o?uploadType=media&name=sneaky.txt`, { token: 'ya29.not-issued-here', body: 'x' });
  assert.equal(up.status, 401);
  const t = sb.ctx.tokens.issue({ subject: 'short-lived', ttlSeconds: 60 });
  sb.ctx.tokens.expire(t.token);
  assert.equal((await raw('GET', `/storage/v1/b/${BUCKET}`, { token: t.token })).status, 401);
  assert.equal((await raw('GET', `/storage/v1/b/${BUCKET}/o/sneaky.txt`)).status, 404);
});

test('multipart/related upload, resumable upload in chunks (308 then 200), media download with Range', async () => {
  const boundary = 'xyzzy';
  const mp = [
    `--${boundary}`, 'Content-Type: application/json; charset=UTF-8', '', JSON.stringify({ name: 'mp/obj.bin', metadata: { k: 'v' } }),
    `--${boundary}`, 'Content-Type: application/octet-stream', '', 'multipart body', `--${boundary}--`, '',
  ].join('\r\n');
  const r1 = await raw('POST', `/upload/storage/v1/b/${BUCKET}/o?uploadType=multipart`, { body: mp, headers: { 'content-type': `multipart/related; boundary=${boundary}` } });
  assert.equal(r1.status, 200, r1.text);
  assert.equal(r1.json.size, '14');
  assert.deepEqual(r1.json.metadata, { k: 'v' });

  const init = await raw('POST', `/upload/storage/v1/b/${BUCKET}/o?uploadType=resumable&name=big.bin`, { body: '{}', headers: { 'content-type': 'application/json', 'x-upload-content-type': 'application/x-tar' } });
  assert.equal(init.status, 200);
  const session = new URL(String(init.headers.get('location')));
  const part1 = await raw('PUT', session.pathname + session.search, { body: 'abcde', headers: { 'content-range': 'bytes 0-4/10' } });
  assert.equal(part1.status, 308);
  assert.equal(part1.headers.get('range'), 'bytes=0-4');
  const status = await raw('PUT', session.pathname + session.search, { body: '', headers: { 'content-range': 'bytes */10' } });
  assert.equal(status.status, 308);
  const part2 = await raw('PUT', session.pathname + session.search, { body: 'fghij', headers: { 'content-range': 'bytes 5-9/10' } });
  assert.equal(part2.status, 200);
  assert.equal(part2.json.contentType, 'application/x-tar');
  const media = await raw('GET', `/storage/v1/b/${BUCKET}/o/big.bin?alt=media`, { headers: { range: 'bytes=2-5' } });
  assert.equal(media.status, 206);
  assert.equal(media.text, 'cdef');
  assert.equal(media.headers.get('content-range'), 'bytes 2-5/10');
});

test('buckets: insert, 409 on a second insert, list; state dumps and seeds again', async () => {
  const created = await raw('POST', `/storage/v1/b?project=${sb.project.projectId}`, { body: JSON.stringify({ name: 'mlabs-demo-scratch', location: 'us-central1' }), headers: { 'content-type': 'application/json' } });
  assert.equal(created.status, 200);
  assert.equal(created.json.location, 'US-CENTRAL1');
  const twice = await raw('POST', `/storage/v1/b?project=${sb.project.projectId}`, { body: JSON.stringify({ name: 'mlabs-demo-scratch' }), headers: { 'content-type': 'application/json' } });
  assert.equal(twice.status, 409);
  assert.equal((twice.json.error as { errors: { reason: string }[] }).errors[0]?.reason, 'conflict');
  const list = await raw('GET', `/storage/v1/b?project=${sb.project.projectId}`);
  assert.deepEqual((list.json.items as { name: string }[]).map((b) => b.name), ['mlabs-demo-models', 'mlabs-demo-nodepool-snapshots', 'mlabs-demo-scratch', 'mlabs-demo-tfstate']);

  await raw('POST', `/upload/storage/v1/b/mlabs-demo-scratch/o?uploadType=media&name=keep.txt`, { body: 'kept' });
  const dump = sb.dump();
  const again = await startSandbox({ seed: dump, operationMs: 0 });
  try {
    const r = await fetch(`${again.url}/storage/v1/b/mlabs-demo-scratch/o/keep.txt?alt=media`, { headers: { authorization: `Bearer ${again.accessToken}` } });
    assert.equal(await r.text(), 'kept');
  } finally {
    await again.stop();
  }
});
