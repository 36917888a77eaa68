// The MinIO stand-in proven with real S3 clients nobody here wrote: Debian's awscli (v2) and rclone.
// Its SigV4 check is the sandbox's own; these clients sign with theirs.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, test } from 'vitest';
import type { S3Service } from '../../scripts/sandbox/apis/s3.js';
import { startSandbox, type Sandbox } from '../../scripts/sandbox/index.js';

const AWS = '/usr/bin/aws';
const RCLONE = '/usr/bin/rclone';
let sb: Sandbox;
let s3: S3Service;
let dir: string;

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[], extraEnv: Record<string, string> = {}): Promise<Result> {
  // The machine's AWS_CA_BUNDLE (for HTTPS proxies) would make rclone refuse its plain-HTTP transport.
  const env: Record<string, string | undefined> = { ...process.env, ...sb.env, HOME: dir, ...extraEnv };
  delete env.AWS_CA_BUNDLE;
  return new Promise((resolve) => {
    execFile(cmd, args, { env, timeout: 120_000, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

// Debian's awscli 2.9 predates AWS_ENDPOINT_URL, so the endpoint is passed as the example does.
const aws = (...args: string[]): Promise<Result> => run(AWS, ['--endpoint-url', sb.env.AWS_ENDPOINT_URL as string, ...args]);
const rcloneFlags = (): string[] => [
  '--s3-provider', 'Minio', '--s3-endpoint', sb.env.AWS_ENDPOINT_URL as string, '--s3-access-key-id', sb.env.AWS_ACCESS_KEY_ID as string,
  '--s3-secret-access-key', sb.env.AWS_SECRET_ACCESS_KEY as string, '--s3-region', sb.env.AWS_REGION as string, '-q',
];
const rclone = (...args: string[]): Promise<Result> => run(RCLONE, [...args, ...rcloneFlags()]);

beforeAll(async () => {
  for (const tool of [AWS, RCLONE]) {
    assert.ok((await new Promise<boolean>((r) => execFile(tool, ['--version'], (e) => r(!e)))), `${tool} is missing: apt-get install awscli rclone (scripts/install-test-deps.sh does)`);
  }
  sb = await startSandbox({});
  s3 = sb.ctx.services.get('s3') as S3Service;
  dir = mkdtempSync(join(tmpdir(), 's3-clients-'));
});
afterAll(async () => {
  await sb?.stop();
});

test('the sandbox exports the MinIO stand-in and MLflow like the other endpoints', () => {
  assert.match(sb.env.AWS_ENDPOINT_URL ?? '', /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.notEqual(sb.env.AWS_ENDPOINT_URL, sb.url, 'S3 has its own port: its clients address a host, not a path');
  assert.ok(sb.env.AWS_ACCESS_KEY_ID && sb.env.AWS_SECRET_ACCESS_KEY);
  assert.equal(sb.env.AWS_REGION, 'us-east-1');
  assert.equal(sb.env.MLFLOW_TRACKING_URI, `${sb.url}/mlflow`);
});

test('awscli: multipart cp up, ls, ranged cp down, head-object, and S3 errors in their words', async () => {
  const file = join(dir, 'weights.bin');
  const data = Buffer.alloc(18 * 1024 * 1024);
  for (let i = 0; i < data.length; i += 4096) data[i] = i & 0xff;
  writeFileSync(file, data);
  const up = await aws('s3', 'cp', '--only-show-errors', file, 's3://mlflow/cli/a b/weights.bin');
  assert.equal(up.code, 0, up.stderr);
  assert.ok(s3.requests.some((r) => r.method === 'POST' && r.query === 'uploads'), 'awscli used a multipart upload');
  const stored = s3.read('mlflow', 'cli/a b/weights.bin');
  assert.match(stored?.etag ?? '', /^"[0-9a-f]{32}-\d+"$/, 'multipart ETag: md5 of the part md5s, dash, part count');
  const ls = await aws('s3', 'ls', '--recursive', 's3://mlflow/cli/');
  assert.equal(ls.code, 0, ls.stderr);
  assert.match(ls.stdout, /18874368 cli\/a b\/weights\.bin/);
  const down = await aws('s3', 'cp', '--only-show-errors', 's3://mlflow/cli/a b/weights.bin', join(dir, 'back.bin'));
  assert.equal(down.code, 0, down.stderr);
  assert.ok(readFileSync(join(dir, 'back.bin')).equals(data));
  assert.ok(s3.requests.some((r) => r.method === 'GET' && r.status === 206), 'awscli downloaded in ranges');
  const head = await aws('s3api', 'head-object', '--bucket', 'mlflow', '--key', 'cli/a b/weights.bin', '--part-number', '1');
  assert.equal(head.code, 0, head.stderr);
  assert.equal(JSON.parse(head.stdout).PartsCount, 3);

  const missingKey = await aws('s3api', 'get-object', '--bucket', 'mlflow', '--key', 'nope', join(dir, 'x'));
  assert.notEqual(missingKey.code, 0);
  assert.match(missingKey.stderr, /NoSuchKey.*The specified key does not exist\./);
  const missingBucket = await aws('s3', 'ls', 's3://no-such-bucket/');
  assert.match(missingBucket.stderr, /NoSuchBucket.*The specified bucket does not exist/);
  const badSecret = await run(AWS, ['--endpoint-url', sb.env.AWS_ENDPOINT_URL as string, 's3', 'ls', 's3://mlflow/'], { AWS_SECRET_ACCESS_KEY: 'not-the-secret' });
  assert.match(badSecret.stderr, /SignatureDoesNotMatch.*The request signature we calculated does not match the signature you provided/);
  const badKey = await run(AWS, ['--endpoint-url', sb.env.AWS_ENDPOINT_URL as string, 's3', 'ls', 's3://mlflow/'], { AWS_ACCESS_KEY_ID: 'AKIANOBODY' });
  assert.match(badKey.stderr, /InvalidAccessKeyId/);
});

test('awscli: a presigned URL reads with plain fetch; tampered, it is refused with S3 XML', async () => {
  s3.put('mlflow', 'presign/readme.txt', 'hello');
  const p = await aws('s3', 'presign', 's3://mlflow/presign/readme.txt', '--expires-in', '300');
  assert.equal(p.code, 0, p.stderr);
  const url = p.stdout.trim();
  const ok = await fetch(url);
  assert.equal(ok.status, 200);
  assert.equal(await ok.text(), 'hello');
  const bad = await fetch(url.replace('readme.txt', 'other.txt'));
  assert.equal(bad.status, 403);
  const xml = await bad.text();
  assert.match(xml, /^<\?xml version="1.0" encoding="UTF-8"\?>\n<Error><Code>SignatureDoesNotMatch<\/Code>/);
  assert.match(xml, /<CanonicalRequest>GET\n\/mlflow\/presign\/other\.txt\n/);
  const anonymous = await fetch(`${sb.env.AWS_ENDPOINT_URL}/mlflow/presign/readme.txt`);
  assert.equal(anonymous.status, 403);
  assert.match(await anonymous.text(), /<Code>AccessDenied<\/Code><Message>Access Denied<\/Message>/);
});

test('rclone: multipart copy up, check, ranged cat, delete', async () => {
  const file = join(dir, 'adapter.safetensors');
  const data = Buffer.alloc(12 * 1024 * 1024, 3);
  data.write('rclone', 100);
  writeFileSync(file, data);
  const up = await rclone('copyto', file, ':s3:mlflow/rc/adapter.safetensors', '--s3-upload-cutoff', '5M', '--s3-chunk-size', '5M');
  assert.equal(up.code, 0, up.stderr);
  assert.match(s3.read('mlflow', 'rc/adapter.safetensors')?.etag ?? '', /-3"$/);
  const check = await rclone('check', dir, ':s3:mlflow/rc/', '--include', 'adapter.safetensors');
  assert.equal(check.code, 0, check.stderr);
  const cat = await rclone('cat', ':s3:mlflow/rc/adapter.safetensors', '--offset', '100', '--count', '6');
  assert.equal(cat.stdout, 'rclone');
  const lsl = await rclone('lsl', ':s3:mlflow/rc');
  assert.match(lsl.stdout, /12582912 .* adapter\.safetensors/);
  const del = await rclone('deletefile', ':s3:mlflow/rc/adapter.safetensors');
  assert.equal(del.code, 0, del.stderr);
  assert.equal(s3.read('mlflow', 'rc/adapter.safetensors'), undefined);
  assert.equal((await rclone('lsf', ':s3:mlflow/rc/')).stdout, '');
});

test('a single PutObject ETag is the MD5 of the bytes, as S3 gives it', async () => {
  const file = join(dir, 'config.json');
  writeFileSync(file, '{"a":1}');
  const up = await aws('s3api', 'put-object', '--bucket', 'mlflow', '--key', 'put/config.json', '--body', file);
  assert.equal(up.code, 0, up.stderr);
  assert.equal(JSON.parse(up.stdout).ETag, `"${createHash('md5').update('{"a":1}').digest('hex')}"`);
});
