// The suite's own SigV4 signer (actions/lib/model/s3.ts): AWS's published example, the sandbox's
// independent check, and objects a real client (awscli) wrote read back through it.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, test, vi } from 'vitest';
import { ApiError } from '../../actions/lib/http.js';
import { S3Client, s3ConfigFromEnv, signV4 } from '../../actions/lib/model/s3.js';
import type { Sandbox } from '../../scripts/sandbox/index.js';
import { modelSandbox } from './helpers.js';

let sb: Sandbox;
beforeAll(async () => {
  ({ sb } = await modelSandbox());
});
beforeEach(() => {
  for (const [k, v] of Object.entries({ ...sb.env, MLABS_RETRY_BASE_MS: '1' })) vi.stubEnv(k, v);
});
afterAll(async () => {
  await sb?.stop();
});

test("AWS's documented GetObject example signs to its published signature", () => {
  // https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html ("Example: GET Object")
  const headers = signV4(
    { endpoint: 'https://examplebucket.s3.amazonaws.com', accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', region: 'us-east-1' },
    { method: 'GET', url: new URL('https://examplebucket.s3.amazonaws.com/test.txt'), headers: { range: 'bytes=0-9' }, payloadHash: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', now: new Date('2013-05-24T00:00:00Z') },
  );
  assert.equal(
    headers.authorization,
    'AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41',
  );
});

test('what awscli wrote (multipart, a key with spaces), the signer lists, heads and reads in ranges; a wrong secret is refused by the sandbox', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'signer-'));
  const file = join(dir, 'w.bin');
  const data = Buffer.alloc(11 * 1024 * 1024);
  for (let i = 0; i < data.length; i += 1024) data.writeUInt32BE(i, i);
  writeFileSync(file, data);
  const envForAws: Record<string, string | undefined> = { ...process.env, ...sb.env, HOME: dir };
  const code = await new Promise<number>((resolve) =>
    execFile('/usr/bin/aws', ['--endpoint-url', sb.env.AWS_ENDPOINT_URL as string, 's3', 'cp', '--only-show-errors', file, 's3://mlflow/signer/a b+c/w.bin'], { env: envForAws as NodeJS.ProcessEnv }, (e) => resolve(e ? 1 : 0)),
  );
  assert.equal(code, 0);
  const client = new S3Client(s3ConfigFromEnv());
  const listed = await client.list('mlflow', 'signer/');
  assert.deepEqual(listed.map((o) => o.key), ['signer/a b+c/w.bin']);
  assert.match(listed[0]?.etag ?? '', /^[0-9a-f]{32}-2$/);
  const head = await client.head('mlflow', 'signer/a b+c/w.bin', 1);
  assert.equal(head.parts, 2);
  assert.equal(head.size, 8 * 1024 * 1024, "awscli's default part size");
  assert.ok((await client.range('mlflow', 'signer/a b+c/w.bin', 1024, 2047)).equals(data.subarray(1024, 2048)));
  const wrong = new S3Client({ ...s3ConfigFromEnv(), secretAccessKey: 'nope' });
  await assert.rejects(wrong.list('mlflow', 'signer/'), (err) => err instanceof ApiError && err.httpStatus === 403 && err.status === 'SignatureDoesNotMatch');
  await assert.rejects(client.head('mlflow', 'signer/missing'), (err) => err instanceof ApiError && err.httpStatus === 404);
  await assert.rejects(client.list('no-such-bucket', ''), (err) => err instanceof ApiError && err.status === 'NoSuchBucket');
});
