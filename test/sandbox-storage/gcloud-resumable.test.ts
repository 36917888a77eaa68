// Cloud Storage resumable uploads proven with real gcloud: a file over 100 MiB goes up through a
// resumable session, survives a connection lost after part of it persisted (the sandbox answers
// 503 having kept a 256 KiB multiple) by asking the session what arrived and resuming, and comes
// back byte for byte.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, openSync, closeSync, writeSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, test } from 'vitest';
import { startSandbox, type Sandbox } from '../../scripts/sandbox/index.js';
import { execFile } from 'node:child_process';
import { Gcloud, requireGcloud } from './_gcloud.js';

const BUCKET = 'mlabs-demo-nodepool-snapshots';
const SIZE = 110 * 1024 * 1024;
let sb: Sandbox;
let gcloud: Gcloud;
let dir: string;

beforeAll(async () => {
  requireGcloud();
  sb = await startSandbox({});
  gcloud = new Gcloud(sb);
  dir = mkdtempSync(join(tmpdir(), 'gcs-resumable-'));
});
/** gcloud with a longer limit than the helper's 90 s: 110 MiB through a busy machine takes a while. */
function gcloudLong(args: string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile('gcloud', args, { env: { ...process.env, ...sb.env, CLOUDSDK_CONFIG: gcloud.config }, timeout: 540_000, maxBuffer: 16 * 1024 * 1024 }, (err, _out, stderr) => {
      resolve({ code: err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0, stderr });
    });
  });
}

afterAll(async () => {
  gcloud?.dispose();
  await sb?.stop();
});

test('gcloud storage cp of a 110 MiB file resumes an interrupted resumable upload and round-trips', { timeout: 600_000 }, async () => {
  const file = join(dir, 'weights.bin');
  const fd = openSync(file, 'w');
  const block = Buffer.alloc(1024 * 1024);
  const md5 = createHash('md5');
  for (let i = 0; i < SIZE / block.length; i++) {
    block.fill(i & 0xff);
    block.writeUInt32BE(i, 0);
    writeSync(fd, block);
    md5.update(block);
  }
  closeSync(fd);
  const expected = md5.digest('base64');
  sb.faults.add({ kind: 'uploadInterrupted', afterBytes: 40 * 1024 * 1024 + 1000, count: 1 });
  const up = await gcloudLong(['storage', 'cp', file, `gs://${BUCKET}/big/weights.bin`]);
  assert.equal(up.code, 0, up.stderr);
  const sessions = sb.requests.filter((r) => r.method === 'POST' && r.query.uploadType === 'resumable');
  assert.equal(sessions.length, 1, 'one session: the upload resumed, it did not start over');
  const puts = sb.requests.filter((r) => r.method === 'PUT' && r.query.upload_id);
  assert.ok(puts.some((r) => r.status === 503), 'the interruption happened');
  assert.ok(puts.some((r) => r.status === 308), 'gcloud asked the session what had arrived');
  assert.equal(puts.at(-1)?.status, 200);
  const meta = await gcloud.json<{ md5_hash?: string; size?: number; metadata?: { md5Hash?: string } }[]>(['storage', 'objects', 'describe', `gs://${BUCKET}/big/weights.bin`]);
  const described = Array.isArray(meta) ? meta[0] : meta;
  assert.equal((described as { md5_hash?: string }).md5_hash, expected);
  const down = await gcloudLong(['storage', 'cp', `gs://${BUCKET}/big/weights.bin`, join(dir, 'back.bin')]);
  assert.equal(down.code, 0, down.stderr);
  assert.equal(createHash('md5').update(readFileSync(join(dir, 'back.bin'))).digest('base64'), expected);
});
