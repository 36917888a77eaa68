// The S3 API subset of the platform's local MinIO, served on its own port (S3 clients address a
// host, not a path prefix), after the Amazon S3 API reference
// (https://docs.aws.amazon.com/AmazonS3/latest/API/) and its SigV4 specification
// (https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-authenticating-requests.html):
//   GET    /                                 ListBuckets
//   HEAD   /B                                HeadBucket
//   GET    /B?list-type=2                    ListObjectsV2 (prefix, delimiter, max-keys, continuation-token,
//                                            start-after, encoding-type=url); without list-type: ListObjects (v1)
//   GET    /B?location                       GetBucketLocation
//   HEAD   /B/K  GET /B/K                    HeadObject / GetObject (Range, partNumber, x-amz-checksum-mode)
//   PUT    /B/K                              PutObject (Content-MD5, x-amz-checksum-*, aws-chunked bodies)
//   POST   /B/K?uploads                      CreateMultipartUpload
//   PUT    /B/K?partNumber=N&uploadId=U      UploadPart
//   POST   /B/K?uploadId=U                   CompleteMultipartUpload
//   DELETE /B/K?uploadId=U                   AbortMultipartUpload
//   DELETE /B/K                              DeleteObject
// Every request is authenticated with AWS Signature Version 4, checked here independently of any
// client: the Authorization header or a presigned query, the payload hash, the clock skew. Errors
// are S3's XML <Error> documents with S3's codes and words (HEAD answers carry no body, as S3's).
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { crc32 } from 'node:zlib';
import type { ApiModule, SandboxContext } from '../context.js';
import { DEFAULT_MODEL_FILES, MLFLOW_ARTIFACT_BUCKET, defaultMlflow, type MlflowSeed } from './mlflow.js';
import { crc32cBase64 } from './storage.js';

export interface S3Credential {
  accessKeyId: string;
  secretAccessKey: string;
  /** Writes answer 403 AccessDenied. */
  readOnly?: boolean;
}

export interface S3Object {
  key: string;
  data: Buffer;
  etag: string;
  contentType: string;
  lastModified: string;
  metadata: Record<string, string>;
  /** Part sizes when written by a multipart upload (for partNumber reads and x-amz-mp-parts-count). */
  parts?: number[];
  checksums: Record<string, string>;
}

interface Upload {
  id: string;
  bucket: string;
  key: string;
  contentType: string;
  metadata: Record<string, string>;
  parts: Map<number, { data: Buffer; etag: string }>;
}

/** Seed/dump shape: `s3: { region, credentials, buckets: [{ name, objects: [{ key, content | data(base64), contentType? }] }] }`. */
export interface S3Seed {
  region?: string;
  credentials?: S3Credential[];
  buckets?: { name: string; created?: string; objects?: { key: string; content?: string; data?: string; contentType?: string; metadata?: Record<string, string> }[] }[];
}

export const S3_DEFAULT_CREDENTIAL: S3Credential = { accessKeyId: 'MLABSMINIOADMIN0001', secretAccessKey: 'mlabs-minio-sandbox-secret-key-0001' };
export const S3_DEFAULT_REGION = 'us-east-1';

const NS = 'http://s3.amazonaws.com/doc/2006-03-01/';
const EMPTY_SHA256 = createHash('sha256').update('').digest('hex');
const MIN_PART = 5 * 1024 * 1024;

export class S3Failure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly extra: Record<string, string> = {},
  ) {
    super(message);
  }
}

export function xmlEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

/** XML's five entities and numeric references (Go's encoder writes `"` as &#34;). */
export function xmlUnescape(s: string): string {
  return s
    .replace(/&#x([0-9a-f]+);/gi, (_, h: string) => String.fromCodePoint(parseInt(h, 16)))
    .replace(/&#(\d+);/g, (_, d: string) => String.fromCodePoint(Number(d)))
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

const requestId = (): string => randomBytes(8).toString('hex').toUpperCase();

function errorXml(f: S3Failure, resource: string, reqId: string): string {
  const extra = Object.entries(f.extra)
    .map(([k, v]) => `<${k}>${xmlEscape(v)}</${k}>`)
    .join('');
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${f.code}</Code><Message>${xmlEscape(f.message)}</Message>${extra}<Resource>${xmlEscape(resource)}</Resource><RequestId>${reqId}</RequestId><HostId>${randomBytes(24).toString('base64')}</HostId></Error>`;
}

const noBucket = (b: string): S3Failure => new S3Failure(404, 'NoSuchBucket', 'The specified bucket does not exist', { BucketName: b });
const noKey = (k: string): S3Failure => new S3Failure(404, 'NoSuchKey', 'The specified key does not exist.', { Key: k });
const noUpload = (id: string): S3Failure =>
  new S3Failure(404, 'NoSuchUpload', 'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.', { UploadId: id });
const accessDenied = (): S3Failure => new S3Failure(403, 'AccessDenied', 'Access Denied');
const malformedXml = (): S3Failure => new S3Failure(400, 'MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema');

// ---------------------------------------------------------------------------------------------
// SigV4, as S3 checks it.

/** RFC 3986 percent-encoding, as SigV4 asks (unreserved: A-Z a-z 0-9 - _ . ~). */
export function uriEncode(s: string, keepSlash = false): string {
  let out = '';
  for (const byte of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(byte);
    if (/[A-Za-z0-9\-_.~]/.test(c) || (keepSlash && c === '/')) out += c;
    else out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** The raw query as [name, value] pairs, percent-decoded (a '+' stays a '+', as S3 reads it). */
function queryPairs(raw: string): [string, string][] {
  if (!raw) return [];
  return raw
    .split('&')
    .filter(Boolean)
    .map((kv) => {
      const eq = kv.indexOf('=');
      return eq < 0 ? [safeDecode(kv), ''] : [safeDecode(kv.slice(0, eq)), safeDecode(kv.slice(eq + 1))];
    });
}

function hmac(key: Buffer | string, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

function signingKey(secret: string, date: string, region: string, service: string): Buffer {
  return hmac(hmac(hmac(hmac(`AWS4${secret}`, date), region), service), 'aws4_request');
}

interface AuthInfo {
  credential: S3Credential;
  signingKey: Buffer;
  seedSignature: string;
  amzDate: string;
  scope: string;
  payloadHash: string;
}

interface Parsed {
  method: string;
  rawPath: string;
  rawQuery: string;
  query: Map<string, string>;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

function header(h: IncomingMessage['headers'], name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v.join(',') : v;
}

function amzDateMs(d: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(d);
  if (!m) return NaN;
  return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
}

function authenticate(p: Parsed, creds: S3Credential[], region: string): AuthInfo {
  const auth = header(p.headers, 'authorization');
  const presigned = p.query.get('X-Amz-Algorithm');
  let algorithm: string;
  let credential: string;
  let signedHeaders: string;
  let signature: string;
  let amzDate: string;
  let payloadHash: string;
  let excludeFromQuery: string | undefined;
  if (auth) {
    const m = /^(\S+)\s+(.*)$/.exec(auth.trim());
    algorithm = m?.[1] ?? '';
    if (algorithm !== 'AWS4-HMAC-SHA256') {
      throw new S3Failure(400, 'InvalidArgument', 'Unsupported Authorization Type', { ArgumentName: 'Authorization', ArgumentValue: auth.slice(0, 40) });
    }
    const fields = Object.fromEntries(
      (m?.[2] ?? '').split(/\s*,\s*/).map((kv) => {
        const eq = kv.indexOf('=');
        return [kv.slice(0, eq).trim(), kv.slice(eq + 1).trim()];
      }),
    );
    credential = fields.Credential ?? '';
    signedHeaders = fields.SignedHeaders ?? '';
    signature = fields.Signature ?? '';
    if (!credential || !signedHeaders || !signature) {
      throw new S3Failure(400, 'AuthorizationHeaderMalformed', `The authorization header is malformed; the authorization header requires three components: Credential, SignedHeaders, and Signature.`);
    }
    amzDate = header(p.headers, 'x-amz-date') ?? '';
    payloadHash = header(p.headers, 'x-amz-content-sha256') ?? '';
    if (!payloadHash) throw new S3Failure(400, 'InvalidRequest', 'Missing required header for this request: x-amz-content-sha256');
  } else if (presigned) {
    algorithm = presigned;
    if (algorithm !== 'AWS4-HMAC-SHA256') throw new S3Failure(400, 'AuthorizationQueryParametersError', 'X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"');
    credential = p.query.get('X-Amz-Credential') ?? '';
    signedHeaders = p.query.get('X-Amz-SignedHeaders') ?? '';
    signature = p.query.get('X-Amz-Signature') ?? '';
    amzDate = p.query.get('X-Amz-Date') ?? '';
    payloadHash = 'UNSIGNED-PAYLOAD';
    excludeFromQuery = 'X-Amz-Signature';
    const expires = Number(p.query.get('X-Amz-Expires') ?? '0');
    if (Date.now() > amzDateMs(amzDate) + expires * 1000) {
      throw new S3Failure(403, 'AccessDenied', 'Request has expired', { 'X-Amz-Expires': String(expires), Expires: new Date(amzDateMs(amzDate) + expires * 1000).toISOString(), ServerTime: new Date().toISOString() });
    }
  } else {
    throw accessDenied();
  }
  const [accessKeyId, date, credRegion, service, term] = credential.split('/');
  const cred = creds.find((c) => c.accessKeyId === accessKeyId);
  if (!cred) throw new S3Failure(403, 'InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.', { AWSAccessKeyId: accessKeyId ?? '' });
  if (!date || !credRegion || service !== 's3' || term !== 'aws4_request') {
    throw new S3Failure(400, 'AuthorizationHeaderMalformed', `The authorization header is malformed; the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".`);
  }
  if (credRegion !== region) {
    throw new S3Failure(400, 'AuthorizationHeaderMalformed', `The authorization header is malformed; the region '${credRegion}' is wrong; expecting '${region}'`, { Region: region });
  }
  const t = amzDateMs(amzDate);
  if (!Number.isFinite(t)) throw accessDenied();
  if (!amzDate.startsWith(date)) {
    throw new S3Failure(400, 'AuthorizationHeaderMalformed', `The authorization header is malformed; Invalid credential date. Date is not the same as X-Amz-Date.`);
  }
  if (Math.abs(Date.now() - t) > 15 * 60 * 1000) {
    throw new S3Failure(403, 'RequestTimeTooSkewed', 'The difference between the request time and the current time is too large.', {
      RequestTime: amzDate,
      ServerTime: new Date().toISOString(),
      MaxAllowedSkewMilliseconds: '900000',
    });
  }
  const names = signedHeaders.split(';');
  if (!names.includes('host')) throw new S3Failure(403, 'AccessDenied', 'There were headers present in the request which were not signed', { HeadersNotSigned: 'host' });
  const canonicalHeaders = names.map((n) => `${n}:${(header(p.headers, n) ?? '').trim().replace(/\s+/g, ' ')}\n`).join('');
  const canonicalUri = p.rawPath
    .split('/')
    .map((seg) => uriEncode(safeDecode(seg)))
    .join('/');
  const canonicalQuery = queryPairs(p.rawQuery)
    .filter(([k]) => k !== excludeFromQuery)
    .map(([k, v]) => [uriEncode(k), uriEncode(v)] as const)
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  const canonicalRequest = [p.method, canonicalUri, canonicalQuery, canonicalHeaders, signedHeaders, payloadHash].join('\n');
  const scope = `${date}/${credRegion}/s3/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, createHash('sha256').update(canonicalRequest).digest('hex')].join('\n');
  const key = signingKey(cred.secretAccessKey, date, credRegion, 's3');
  const expected = createHmac('sha256', key).update(stringToSign).digest('hex');
  if (expected !== signature) {
    throw new S3Failure(403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided. Check your key and signing method.', {
      AWSAccessKeyId: cred.accessKeyId,
      StringToSign: stringToSign,
      SignatureProvided: signature,
      CanonicalRequest: canonicalRequest,
    });
  }
  return { credential: cred, signingKey: key, seedSignature: signature, amzDate, scope, payloadHash };
}

/** The payload as stored: aws-chunked bodies decoded (chunk signatures checked), signed hashes compared. */
function payloadOf(p: Parsed, a: AuthInfo): { data: Buffer; trailers: Record<string, string> } {
  const trailers: Record<string, string> = {};
  if (!a.payloadHash.startsWith('STREAMING-')) {
    if (a.payloadHash !== 'UNSIGNED-PAYLOAD') {
      const actual = createHash('sha256').update(p.body).digest('hex');
      if (actual !== a.payloadHash) {
        throw new S3Failure(400, 'XAmzContentSHA256Mismatch', "The provided 'x-amz-content-sha256' header does not match what was computed.", {
          ClientComputedContentSHA256: a.payloadHash,
          S3ComputedContentSHA256: actual,
        });
      }
    }
    return { data: p.body, trailers };
  }
  const signed = a.payloadHash.startsWith('STREAMING-AWS4-HMAC-SHA256-PAYLOAD');
  const chunks: Buffer[] = [];
  let at = 0;
  let prev = a.seedSignature;
  const body = p.body;
  for (;;) {
    const eol = body.indexOf('\r\n', at);
    if (eol < 0) throw new S3Failure(400, 'IncompleteBody', 'The request body terminated unexpectedly');
    const line = body.subarray(at, eol).toString('latin1');
    const [sizeHex, ext] = line.split(';');
    const size = parseInt(sizeHex ?? '', 16);
    if (!Number.isFinite(size)) throw new S3Failure(400, 'InvalidChunkSizeError', 'Only the last chunk is allowed to have a size less than 8192 bytes');
    const chunk = body.subarray(eol + 2, eol + 2 + size);
    if (signed) {
      const given = /chunk-signature=([0-9a-f]+)/.exec(ext ?? '')?.[1] ?? '';
      const sts = ['AWS4-HMAC-SHA256-PAYLOAD', a.amzDate, a.scope, prev, EMPTY_SHA256, createHash('sha256').update(chunk).digest('hex')].join('\n');
      const expected = createHmac('sha256', a.signingKey).update(sts).digest('hex');
      if (given !== expected) {
        throw new S3Failure(403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided. Check your key and signing method.');
      }
      prev = expected;
    }
    at = eol + 2 + size;
    if (size === 0) break;
    chunks.push(chunk);
    at += 2;
  }
  for (const line of body.subarray(at).toString('latin1').split('\r\n')) {
    const c = line.indexOf(':');
    if (c > 0) trailers[line.slice(0, c).trim().toLowerCase()] = line.slice(c + 1).trim();
  }
  const data = Buffer.concat(chunks);
  const decoded = header(p.headers, 'x-amz-decoded-content-length');
  if (decoded !== undefined && Number(decoded) !== data.length) throw new S3Failure(400, 'IncompleteBody', 'You did not provide the number of bytes specified by the Content-Length HTTP header');
  return { data, trailers };
}

const CHECKSUMS: Record<string, (d: Buffer) => string> = {
  crc32: (d) => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(crc32(d) >>> 0);
    return b.toString('base64');
  },
  crc32c: (d) => crc32cBase64(d),
  sha1: (d) => createHash('sha1').update(d).digest('base64'),
  sha256: (d) => createHash('sha256').update(d).digest('base64'),
};

/** Content-MD5 and x-amz-checksum-* (header or trailer) against the bytes received. */
function checkDigests(p: Parsed, data: Buffer, trailers: Record<string, string>): Record<string, string> {
  const md5 = header(p.headers, 'content-md5');
  if (md5 && md5 !== createHash('md5').update(data).digest('base64')) throw new S3Failure(400, 'BadDigest', 'The Content-MD5 you specified did not match what we received.');
  const out: Record<string, string> = {};
  for (const [alg, fn] of Object.entries(CHECKSUMS)) {
    const given = header(p.headers, `x-amz-checksum-${alg}`) ?? trailers[`x-amz-checksum-${alg}`];
    if (!given) continue;
    const actual = fn(data);
    if (given !== actual) throw new S3Failure(400, 'BadDigest', `The ${alg.toUpperCase()} you specified did not match the calculated checksum.`);
    out[alg] = actual;
  }
  return out;
}

function metadataOf(h: IncomingMessage['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) if (k.startsWith('x-amz-meta-') && v !== undefined) out[k.slice('x-amz-meta-'.length)] = Array.isArray(v) ? v.join(',') : v;
  return out;
}

const md5Hex = (d: Buffer): string => createHash('md5').update(d).digest('hex');
const httpDate = (iso: string): string => new Date(iso).toUTCString();

// ---------------------------------------------------------------------------------------------

export interface S3Service {
  url: string;
  region: string;
  credential: S3Credential;
  buckets: Map<string, { created: string; objects: Map<string, S3Object> }>;
  /** Store bytes directly (tests and other modules); ETag as a single PutObject gives it. */
  put(bucket: string, key: string, data: Buffer | string, contentType?: string): S3Object;
  read(bucket: string, key: string): S3Object | undefined;
  /** Serve `key` with one byte changed (its ETag left as it was): a corruption in transit. */
  corrupt(bucket: string, key: string): void;
  /** Requests served, in order (method, path, status). */
  requests: { method: string; path: string; query: string; status: number }[];
}

function s3Parts(ctx: SandboxContext, port: number) {
  const seed = ctx.state.section<S3Seed>('s3', () => ({}));
  const region = seed.region ?? S3_DEFAULT_REGION;
  const creds = seed.credentials?.length ? seed.credentials : [S3_DEFAULT_CREDENTIAL];
  const buckets = new Map<string, { created: string; objects: Map<string, S3Object> }>();
  const uploads = new Map<string, Upload>();
  const corrupted = new Set<string>();
  const requests: S3Service['requests'] = [];
  const now = (): string => new Date().toISOString();
  const put = (bucket: string, key: string, data: Buffer | string, contentType = 'application/octet-stream', metadata: Record<string, string> = {}): S3Object => {
    const b = buckets.get(bucket);
    if (!b) throw noBucket(bucket);
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    const o: S3Object = { key, data: bytes, etag: `"${md5Hex(bytes)}"`, contentType, lastModified: now(), metadata, checksums: {} };
    b.objects.set(key, o);
    corrupted.delete(`${bucket}/${key}`);
    return o;
  };
  for (const b of seed.buckets ?? [{ name: MLFLOW_ARTIFACT_BUCKET }]) {
    buckets.set(b.name, { created: b.created ?? '2025-01-06T09:00:00.000Z', objects: new Map() });
    for (const o of b.objects ?? []) put(b.name, o.key, o.data !== undefined ? Buffer.from(o.data, 'base64') : (o.content ?? ''), o.contentType, o.metadata);
  }
  // No S3 seed: the default MLflow registry's runs get their logged model files.
  if (!seed.buckets) {
    const defaults = new Set(defaultMlflow().runs.map((r) => r.run_id));
    for (const r of ctx.state.section<MlflowSeed>('mlflow', defaultMlflow).runs) {
      if (!defaults.has(r.run_id) || r.artifact_uri) continue;
      for (const [path, content] of Object.entries(DEFAULT_MODEL_FILES)) put(MLFLOW_ARTIFACT_BUCKET, `${r.experiment_id}/${r.run_id}/artifacts/${path}`, content);
    }
  }
  ctx.state.onDump('s3', () => ({
    region,
    credentials: creds,
    buckets: [...buckets].map(([name, b]) => ({
      name,
      created: b.created,
      objects: [...b.objects.values()].map((o) => ({ key: o.key, data: o.data.toString('base64'), contentType: o.contentType, metadata: o.metadata })),
    })),
  }));
  const service: S3Service = {
    url: `http://127.0.0.1:${port}`,
    region,
    credential: creds[0] as S3Credential,
    buckets,
    put: (bucket, key, data, contentType) => put(bucket, key, data, contentType),
    read: (bucket, key) => buckets.get(bucket)?.objects.get(key),
    corrupt: (bucket, key) => void corrupted.add(`${bucket}/${key}`),
    requests,
  };
  const bucketOf = (name: string): { created: string; objects: Map<string, S3Object> } => {
    const b = buckets.get(name);
    if (!b) throw noBucket(name);
    return b;
  };
  const served = (bucket: string, o: S3Object): Buffer => {
    if (!corrupted.has(`${bucket}/${o.key}`) || o.data.length === 0) return o.data;
    const copy = Buffer.from(o.data);
    copy[copy.length >> 1] = ((copy[copy.length >> 1] as number) ^ 0xff) & 0xff;
    return copy;
  };
  return { region, creds, buckets, uploads, put, service, bucketOf, served };
}

type Parts = ReturnType<typeof s3Parts>;

interface Reply {
  status: number;
  headers?: Record<string, string>;
  body?: Buffer | string;
}

const xml = (body: string, status = 200, headers: Record<string, string> = {}): Reply => ({
  status,
  headers: { 'content-type': 'application/xml', ...headers },
  body: `<?xml version="1.0" encoding="UTF-8"?>\n${body}`,
});

function listObjects(parts: Parts, bucket: string, q: Map<string, string>): Reply {
  const b = parts.bucketOf(bucket);
  const v2 = q.get('list-type') === '2';
  const prefix = q.get('prefix') ?? '';
  const delimiter = q.get('delimiter') ?? '';
  const maxKeysRaw = q.get('max-keys') ?? '1000';
  if (!/^\d+$/.test(maxKeysRaw)) throw new S3Failure(400, 'InvalidArgument', 'Provided max-keys not an integer or within integer range', { ArgumentName: 'max-keys', ArgumentValue: maxKeysRaw });
  const maxKeys = Math.min(Number(maxKeysRaw), 1000);
  const encode = q.get('encoding-type') === 'url';
  if (q.has('encoding-type') && !encode) throw new S3Failure(400, 'InvalidArgument', 'Invalid Encoding Method specified in Request', { ArgumentName: 'encoding-type', ArgumentValue: q.get('encoding-type') ?? '' });
  const enc = (s: string): string => xmlEscape(encode ? uriEncode(s, true) : s);
  let after = '';
  const token = q.get('continuation-token');
  if (v2 && token) {
    after = Buffer.from(token, 'base64').toString('utf8');
    if (!after) throw new S3Failure(400, 'InvalidArgument', 'The continuation token provided is incorrect', { ArgumentName: 'continuation-token' });
  } else if (v2) after = q.get('start-after') ?? '';
  else after = q.get('marker') ?? '';
  const keys = [...b.objects.keys()].filter((k) => k.startsWith(prefix) && k > after).sort();
  const entries: { key: string; prefix: boolean }[] = [];
  const seen = new Set<string>();
  for (const k of keys) {
    if (delimiter) {
      const at = k.indexOf(delimiter, prefix.length);
      if (at >= 0) {
        const pre = k.slice(0, at + delimiter.length);
        if (after && pre <= after) continue;
        if (!seen.has(pre)) {
          seen.add(pre);
          entries.push({ key: pre, prefix: true });
        }
        continue;
      }
    }
    entries.push({ key: k, prefix: false });
  }
  const page = entries.slice(0, maxKeys);
  const truncated = entries.length > page.length;
  const last = page[page.length - 1];
  const lastKey = last ? (last.prefix ? `${last.key}\uffff` : last.key) : '';
  const contents = page
    .filter((e) => !e.prefix)
    .map((e) => {
      const o = b.objects.get(e.key) as S3Object;
      return `<Contents><Key>${enc(o.key)}</Key><LastModified>${o.lastModified}</LastModified><ETag>${xmlEscape(o.etag)}</ETag><Size>${o.data.length}</Size><StorageClass>STANDARD</StorageClass></Contents>`;
    })
    .join('');
  const common = page
    .filter((e) => e.prefix)
    .map((e) => `<CommonPrefixes><Prefix>${enc(e.key)}</Prefix></CommonPrefixes>`)
    .join('');
  const head = `<Name>${xmlEscape(bucket)}</Name><Prefix>${enc(prefix)}</Prefix>${delimiter ? `<Delimiter>${enc(delimiter)}</Delimiter>` : ''}<MaxKeys>${maxKeys}</MaxKeys>${encode ? '<EncodingType>url</EncodingType>' : ''}<IsTruncated>${truncated}</IsTruncated>`;
  if (v2) {
    const next = truncated ? `<NextContinuationToken>${Buffer.from(lastKey, 'utf8').toString('base64')}</NextContinuationToken>` : '';
    const cont = token ? `<ContinuationToken>${xmlEscape(token)}</ContinuationToken>` : '';
    const sa = q.has('start-after') ? `<StartAfter>${enc(q.get('start-after') ?? '')}</StartAfter>` : '';
    return xml(`<ListBucketResult xmlns="${NS}">${head}<KeyCount>${page.length}</KeyCount>${cont}${next}${sa}${contents}${common}</ListBucketResult>`);
  }
  const marker = `<Marker>${enc(q.get('marker') ?? '')}</Marker>`;
  const next = truncated && delimiter ? `<NextMarker>${enc(last?.key ?? '')}</NextMarker>` : '';
  return xml(`<ListBucketResult xmlns="${NS}">${head}${marker}${next}${contents}${common}</ListBucketResult>`);
}

function objectHeaders(o: S3Object, checksumMode: boolean): Record<string, string> {
  const h: Record<string, string> = {
    'content-type': o.contentType,
    etag: o.etag,
    'last-modified': httpDate(o.lastModified),
    'accept-ranges': 'bytes',
  };
  for (const [k, v] of Object.entries(o.metadata)) h[`x-amz-meta-${k}`] = v;
  if (checksumMode) for (const [alg, v] of Object.entries(o.checksums)) h[`x-amz-checksum-${alg}`] = v;
  return h;
}

function getObject(parts: Parts, p: Parsed, bucket: string, key: string): Reply {
  const o = parts.bucketOf(bucket).objects.get(key);
  if (!o) throw noKey(key);
  const data = parts.served(bucket, o);
  const headers = objectHeaders(o, header(p.headers, 'x-amz-checksum-mode') === 'ENABLED');
  const ifMatch = header(p.headers, 'if-match');
  if (ifMatch && ifMatch !== o.etag && ifMatch !== '*') throw new S3Failure(412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', { Condition: 'If-Match' });
  const ifNone = header(p.headers, 'if-none-match');
  if (ifNone && (ifNone === o.etag || ifNone === '*')) return { status: 304, headers: { etag: o.etag } };
  const size = data.length;
  let start = 0;
  let end = size - 1;
  let partial = false;
  const partNumber = p.query.get('partNumber');
  if (partNumber !== undefined) {
    const n = Number(partNumber);
    const sizes = o.parts ?? [size];
    if (!Number.isInteger(n) || n < 1 || n > 10000) throw new S3Failure(400, 'InvalidArgument', 'Part number must be an integer between 1 and 10000, inclusive', { ArgumentName: 'partNumber', ArgumentValue: partNumber });
    if (n > sizes.length) throw new S3Failure(416, 'InvalidPartNumber', 'The requested partnumber is not satisfiable', { PartNumberRequested: partNumber, ActualPartCount: String(sizes.length) });
    start = sizes.slice(0, n - 1).reduce((a, b) => a + b, 0);
    end = start + (sizes[n - 1] as number) - 1;
    partial = Boolean(o.parts);
    if (o.parts) headers['x-amz-mp-parts-count'] = String(o.parts.length);
  }
  const range = header(p.headers, 'range');
  if (range && partNumber === undefined) {
    const m = /^bytes=(\d*)-(\d*)$/.exec(range.trim());
    if (m && (m[1] || m[2])) {
      if (m[1] === '') {
        start = Math.max(0, size - Number(m[2]));
      } else {
        start = Number(m[1]);
        if (m[2]) end = Math.min(Number(m[2]), size - 1);
      }
      if (start >= size || (m[2] && m[1] && Number(m[2]) < start)) {
        throw new S3Failure(416, 'InvalidRange', 'The requested range is not satisfiable', { RangeRequested: range, ActualObjectSize: String(size) });
      }
      partial = true;
      // A byte range gets no full-object checksum headers, as S3 answers (its checksums cover the
      // whole object, and a client validating the range's bytes against them would fail).
      for (const k of Object.keys(headers)) if (k.startsWith('x-amz-checksum-')) delete headers[k];
    }
  }
  const slice = data.subarray(start, end + 1);
  if (partial) headers['content-range'] = `bytes ${start}-${end}/${size}`;
  headers['content-length'] = String(slice.length);
  return { status: partial ? 206 : 200, headers, body: p.method === 'HEAD' ? '' : slice };
}

function requireWrite(a: AuthInfo): void {
  if (a.credential.readOnly) throw accessDenied();
}

function handleObject(parts: Parts, p: Parsed, a: AuthInfo, bucket: string, key: string): Reply {
  const b = parts.bucketOf(bucket);
  const q = p.query;
  if (p.method === 'GET' || p.method === 'HEAD') return getObject(parts, p, bucket, key);
  if (p.method === 'PUT' && q.has('uploadId')) {
    requireWrite(a);
    const up = parts.uploads.get(q.get('uploadId') ?? '');
    if (!up || up.bucket !== bucket || up.key !== key) throw noUpload(q.get('uploadId') ?? '');
    const n = Number(q.get('partNumber'));
    if (!Number.isInteger(n) || n < 1 || n > 10000) throw new S3Failure(400, 'InvalidArgument', 'Part number must be an integer between 1 and 10000, inclusive', { ArgumentName: 'partNumber', ArgumentValue: q.get('partNumber') ?? '' });
    const { data, trailers } = payloadOf(p, a);
    const sums = checkDigests(p, data, trailers);
    const etag = `"${md5Hex(data)}"`;
    up.parts.set(n, { data, etag });
    const extra: Record<string, string> = {};
    for (const [alg, v] of Object.entries(sums)) extra[`x-amz-checksum-${alg}`] = v;
    return { status: 200, headers: { etag, ...extra }, body: '' };
  }
  if (p.method === 'PUT') {
    requireWrite(a);
    if (header(p.headers, 'x-amz-copy-source')) throw new S3Failure(501, 'NotImplemented', 'A header you provided implies functionality that is not implemented', { Header: 'x-amz-copy-source' });
    const { data, trailers } = payloadOf(p, a);
    const sums = checkDigests(p, data, trailers);
    const o = parts.put(bucket, key, data, header(p.headers, 'content-type') ?? 'binary/octet-stream', metadataOf(p.headers));
    o.checksums = sums;
    return { status: 200, headers: { etag: o.etag }, body: '' };
  }
  if (p.method === 'POST' && q.has('uploads')) {
    requireWrite(a);
    const id = randomBytes(24).toString('base64url');
    parts.uploads.set(id, { id, bucket, key, contentType: header(p.headers, 'content-type') ?? 'binary/octet-stream', metadata: metadataOf(p.headers), parts: new Map() });
    return xml(`<InitiateMultipartUploadResult xmlns="${NS}"><Bucket>${xmlEscape(bucket)}</Bucket><Key>${xmlEscape(key)}</Key><UploadId>${id}</UploadId></InitiateMultipartUploadResult>`);
  }
  if (p.method === 'POST' && q.has('uploadId')) {
    requireWrite(a);
    const id = q.get('uploadId') ?? '';
    const up = parts.uploads.get(id);
    if (!up || up.bucket !== bucket || up.key !== key) throw noUpload(id);
    const text = p.body.toString('utf8');
    if (!/<CompleteMultipartUpload[\s>]/.test(text)) throw malformedXml();
    const listed = [...text.matchAll(/<Part>([\s\S]*?)<\/Part>/g)].map((m) => ({
      n: Number(/<PartNumber>\s*(\d+)\s*<\/PartNumber>/.exec(m[1] ?? '')?.[1]),
      etag: xmlUnescape(/<ETag>([\s\S]*?)<\/ETag>/.exec(m[1] ?? '')?.[1] ?? '').trim(),
    }));
    if (listed.length === 0) throw malformedXml();
    const chosen: { data: Buffer; etag: string }[] = [];
    let prev = 0;
    for (const { n, etag } of listed) {
      if (!(n > prev)) throw new S3Failure(400, 'InvalidPartOrder', 'The list of parts was not in ascending order. The parts list must be specified in order by part number.', { UploadId: id });
      prev = n;
      const part = up.parts.get(n);
      const quoted = etag.startsWith('"') ? etag : `"${etag}"`;
      if (!part || part.etag !== quoted) {
        throw new S3Failure(400, 'InvalidPart', "One or more of the specified parts could not be found.  The part may not have been uploaded, or the specified entity tag may not have matched the part's entity tag.", {
          UploadId: id,
          PartNumber: String(n),
          ETag: etag,
        });
      }
      chosen.push(part);
    }
    chosen.slice(0, -1).forEach((part, i) => {
      if (part.data.length < MIN_PART) {
        throw new S3Failure(400, 'EntityTooSmall', 'Your proposed upload is smaller than the minimum allowed size', {
          ProposedSize: String(part.data.length),
          MinSizeAllowed: String(MIN_PART),
          PartNumber: String(listed[i]?.n),
          ETag: part.etag,
        });
      }
    });
    const data = Buffer.concat(chosen.map((c) => c.data));
    const etag = `"${createHash('md5')
      .update(Buffer.concat(chosen.map((c) => Buffer.from(c.etag.replace(/"/g, ''), 'hex'))))
      .digest('hex')}-${chosen.length}"`;
    const o = parts.put(bucket, key, data, up.contentType, up.metadata);
    o.etag = etag;
    o.parts = chosen.map((c) => c.data.length);
    parts.uploads.delete(id);
    return xml(
      `<CompleteMultipartUploadResult xmlns="${NS}"><Location>${xmlEscape(`${parts.service.url}/${bucket}/${uriEncode(key, true)}`)}</Location><Bucket>${xmlEscape(bucket)}</Bucket><Key>${xmlEscape(key)}</Key><ETag>${xmlEscape(etag)}</ETag></CompleteMultipartUploadResult>`,
    );
  }
  if (p.method === 'DELETE' && q.has('uploadId')) {
    requireWrite(a);
    const id = q.get('uploadId') ?? '';
    const up = parts.uploads.get(id);
    if (!up || up.bucket !== bucket || up.key !== key) throw noUpload(id);
    parts.uploads.delete(id);
    return { status: 204, body: '' };
  }
  if (p.method === 'DELETE') {
    requireWrite(a);
    b.objects.delete(key);
    return { status: 204, body: '' };
  }
  throw new S3Failure(405, 'MethodNotAllowed', 'The specified method is not allowed against this resource.', { Method: p.method, ResourceType: 'OBJECT' });
}

function handle(parts: Parts, p: Parsed): Reply {
  const a = authenticate(p, parts.creds, parts.region);
  const segs = p.rawPath.replace(/^\//, '');
  const slash = segs.indexOf('/');
  const bucket = safeDecode(slash < 0 ? segs : segs.slice(0, slash));
  const key = slash < 0 ? '' : safeDecode(segs.slice(slash + 1));
  if (!bucket) {
    if (p.method !== 'GET') throw new S3Failure(405, 'MethodNotAllowed', 'The specified method is not allowed against this resource.', { Method: p.method, ResourceType: 'SERVICE' });
    const list = [...parts.buckets]
      .sort(([x], [y]) => (x < y ? -1 : 1))
      .map(([name, b]) => `<Bucket><Name>${xmlEscape(name)}</Name><CreationDate>${b.created}</CreationDate></Bucket>`)
      .join('');
    return xml(`<ListAllMyBucketsResult xmlns="${NS}"><Owner><ID>mlabs</ID><DisplayName>mlabs</DisplayName></Owner><Buckets>${list}</Buckets></ListAllMyBucketsResult>`);
  }
  if (!key && p.method === 'PUT') {
    requireWrite(a);
    if (parts.buckets.has(bucket)) {
      throw new S3Failure(409, 'BucketAlreadyOwnedByYou', 'Your previous request to create the named bucket succeeded and you already own it.', { BucketName: bucket });
    }
    if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) throw new S3Failure(400, 'InvalidBucketName', 'The specified bucket is not valid.', { BucketName: bucket });
    parts.buckets.set(bucket, { created: new Date().toISOString(), objects: new Map() });
    return { status: 200, headers: { location: `/${bucket}` }, body: '' };
  }
  if (!key) {
    const b = parts.bucketOf(bucket);
    if (p.method === 'HEAD') return { status: 200, headers: { 'x-amz-bucket-region': parts.region }, body: '' };
    if (p.method === 'GET' && p.query.has('location')) return xml(`<LocationConstraint xmlns="${NS}">${parts.region === 'us-east-1' ? '' : parts.region}</LocationConstraint>`);
    if (p.method === 'GET') return listObjects(parts, bucket, p.query);
    void b;
    throw new S3Failure(405, 'MethodNotAllowed', 'The specified method is not allowed against this resource.', { Method: p.method, ResourceType: 'BUCKET' });
  }
  return handleObject(parts, p, a, bucket, key);
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

const s3: ApiModule = {
  id: 's3',
  async register(ctx: SandboxContext) {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const port = (server.address() as AddressInfo).port;
    const parts = s3Parts(ctx, port);
    ctx.services.set('s3', parts.service);
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      void (async () => {
        const raw = req.url ?? '/';
        const qAt = raw.indexOf('?');
        const rawPath = qAt < 0 ? raw : raw.slice(0, qAt);
        const rawQuery = qAt < 0 ? '' : raw.slice(qAt + 1);
        const method = (req.method ?? 'GET').toUpperCase();
        const reqId = requestId();
        let reply: Reply;
        try {
          const body = await readBody(req);
          const p: Parsed = { method, rawPath, rawQuery, query: new Map(queryPairs(rawQuery)), headers: req.headers, body };
          reply = handle(parts, p);
        } catch (err) {
          if (!(err instanceof S3Failure)) console.error('[sandbox s3] handler crashed:', err);
          const f = err instanceof S3Failure ? err : new S3Failure(500, 'InternalError', 'We encountered an internal error. Please try again.');
          reply = method === 'HEAD' ? { status: f.status, body: '' } : { status: f.status, headers: { 'content-type': 'application/xml' }, body: errorXml(f, safeDecode(rawPath), reqId) };
        }
        parts.service.requests.push({ method, path: rawPath, query: rawQuery, status: reply.status });
        const headers = { 'x-amz-request-id': reqId, server: 'MinIO', ...(reply.headers ?? {}) };
        if (method === 'HEAD') {
          res.writeHead(reply.status, headers);
          res.end();
          return;
        }
        res.writeHead(reply.status, headers);
        res.end(reply.body ?? '');
      })();
    });
    ctx.onStop(
      () =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    );
    ctx.exportEnv({
      AWS_ENDPOINT_URL: parts.service.url,
      AWS_ACCESS_KEY_ID: parts.service.credential.accessKeyId,
      AWS_SECRET_ACCESS_KEY: parts.service.credential.secretAccessKey,
      AWS_REGION: parts.region,
      AWS_DEFAULT_REGION: parts.region,
    });
  },
};

export default s3;
