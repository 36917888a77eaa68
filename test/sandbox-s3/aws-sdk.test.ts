// The MinIO stand-in proven with AWS's own JavaScript client (@aws-sdk/client-s3, pinned in
// package.json): it signs, pages, retries and parses errors with its code, not ours.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, test } from 'vitest';
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  UploadPartCommand,
  paginateListObjectsV2,
} from '@aws-sdk/client-s3';
import { MLFLOW_ARTIFACT_BUCKET } from '../../scripts/sandbox/apis/mlflow.js';
import { startSandbox, type Sandbox } from '../../scripts/sandbox/index.js';

let sb: Sandbox;
const BUCKET = MLFLOW_ARTIFACT_BUCKET;
const client = (secret = sb.env.AWS_SECRET_ACCESS_KEY as string) =>
  new S3Client({
    endpoint: sb.env.AWS_ENDPOINT_URL as string,
    region: sb.env.AWS_REGION as string,
    forcePathStyle: true,
    credentials: { accessKeyId: sb.env.AWS_ACCESS_KEY_ID as string, secretAccessKey: secret },
    maxAttempts: 1,
  });
const md5 = (b: Buffer | string) => createHash('md5').update(b).digest('hex');

beforeAll(async () => {
  sb = await startSandbox({});
});
afterAll(async () => sb?.stop());

test('PutObject, HeadObject and a ranged GetObject: the MD5 ETag, the length, the range\'s bytes and Content-Range', async () => {
  const s3 = client();
  const body = 'safetensors header and weights';
  const put = await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'sdk/one.txt', Body: body, ContentType: 'text/plain', Metadata: { owner: 'ml' } }));
  assert.equal(put.ETag, `"${md5(body)}"`);
  const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'sdk/one.txt' }));
  assert.equal(head.ContentLength, body.length);
  assert.equal(head.ETag, `"${md5(body)}"`);
  assert.equal(head.ContentType, 'text/plain');
  assert.deepEqual(head.Metadata, { owner: 'ml' });
  const part = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'sdk/one.txt', Range: 'bytes=12-17' }));
  assert.equal(part.$metadata.httpStatusCode, 206);
  assert.equal(part.ContentRange, `bytes 12-17/${body.length}`);
  assert.equal(await part.Body?.transformToString(), body.slice(12, 18));
});

test('ListObjectsV2 pages with MaxKeys and continuation tokens, and the SDK\'s paginator reads every page', async () => {
  const s3 = client();
  const keys = ['a', 'b', 'c', 'd', 'e'].map((k) => `sdk-list/page/${k}.bin`);
  for (const Key of [...keys, 'sdk-list/top.txt']) await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key, Body: Key }));
  const first = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'sdk-list/page/', MaxKeys: 2 }));
  assert.equal(first.IsTruncated, true);
  assert.equal(first.KeyCount, 2);
  assert.deepEqual(first.Contents?.map((o) => o.Key), keys.slice(0, 2));
  assert.ok(first.NextContinuationToken);
  const second = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'sdk-list/page/', MaxKeys: 2, ContinuationToken: first.NextContinuationToken }));
  assert.deepEqual(second.Contents?.map((o) => o.Key), keys.slice(2, 4));
  const all: string[] = [];
  for await (const page of paginateListObjectsV2({ client: s3, pageSize: 2 }, { Bucket: BUCKET, Prefix: 'sdk-list/page/' })) all.push(...(page.Contents ?? []).map((o) => o.Key as string));
  assert.deepEqual(all, keys);
  const folders = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'sdk-list/', Delimiter: '/' }));
  assert.deepEqual(folders.CommonPrefixes?.map((p) => p.Prefix), ['sdk-list/page/']);
  assert.deepEqual(folders.Contents?.map((o) => o.Key), ['sdk-list/top.txt']);
});

test('a multipart upload: parts, completion, the MD5-of-MD5s ETag with the part count, and the whole object read back', async () => {
  const s3 = client();
  const partA = Buffer.alloc(5 * 1024 * 1024, 7);
  const partB = Buffer.from('the last part may be small');
  const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'sdk/big.bin' }));
  assert.ok(UploadId);
  const etags: string[] = [];
  for (const [i, Body] of [partA, partB].entries()) {
    const up: { ETag?: string } = await s3.send(new UploadPartCommand({ Bucket: BUCKET, Key: 'sdk/big.bin', UploadId, PartNumber: i + 1, Body }));
    assert.equal(up.ETag, `"${md5(Body)}"`);
    etags.push(up.ETag as string);
  }
  const done = await s3.send(
    new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: 'sdk/big.bin', UploadId, MultipartUpload: { Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) } }),
  );
  const want = `"${createHash('md5').update(Buffer.concat([partA, partB].map((p) => createHash('md5').update(p).digest()))).digest('hex')}-2"`;
  assert.equal(done.ETag, want);
  const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'sdk/big.bin' }));
  assert.equal(head.ETag, want);
  assert.equal(head.ContentLength, partA.length + partB.length);
  const got = Buffer.from(await ((await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'sdk/big.bin' }))).Body?.transformToByteArray() ?? new Uint8Array()));
  assert.ok(got.equals(Buffer.concat([partA, partB])));
});

test('S3\'s XML errors as the SDK parses them: a wrong secret is SignatureDoesNotMatch, a missing key NoSuchKey', async () => {
  const bad = await client('not-the-secret').send(new GetObjectCommand({ Bucket: BUCKET, Key: 'sdk/one.txt' })).then(
    () => undefined,
    (err: unknown) => err,
  );
  assert.ok(bad instanceof S3ServiceException, String(bad));
  assert.equal(bad.name, 'SignatureDoesNotMatch');
  assert.equal(bad.$metadata.httpStatusCode, 403);
  assert.match(bad.message, /The request signature we calculated does not match the signature you provided/);
  const missing = await client().send(new GetObjectCommand({ Bucket: BUCKET, Key: 'sdk/absent.txt' })).then(
    () => undefined,
    (err: unknown) => err,
  );
  assert.ok(missing instanceof S3ServiceException, String(missing));
  assert.equal(missing.name, 'NoSuchKey');
  assert.equal(missing.$metadata.httpStatusCode, 404);
});
