/**
 * A small S3 client for the local MinIO (no AWS SDK in the bundles): AWS Signature Version 4
 * over the one transport's retry policy, and the four reads model-promote needs: ListObjectsV2,
 * HeadObject (with partNumber, for multipart ETags), GetObject by byte range, and nothing else.
 * Endpoint and credentials come from the variables every S3 client reads: AWS_ENDPOINT_URL,
 * AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION (default us-east-1).
 */
import { ActionError } from '../errors.js';
import { ApiError, defaultRetry, withRetries } from '../http.js';
import { debug } from '../runner.js';

export interface S3Config {
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
}

export interface SignInput {
  method: string;
  url: URL;
  headers: Record<string, string>;
  /** Hex SHA-256 of the body, or UNSIGNED-PAYLOAD. */
  payloadHash: string;
  now?: Date;
}

/** RFC 3986 encoding as SigV4 asks: everything but A-Z a-z 0-9 - _ . ~ (and '/' in paths). */
export function sigv4Encode(s: string, keepSlash = false): string {
  return Array.from(Buffer.from(s, 'utf8'))
    .map((b) => {
      const c = String.fromCharCode(b);
      return /[A-Za-z0-9\-_.~]/.test(c) || (keepSlash && c === '/') ? c : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
    })
    .join('');
}

const sha256Hex = (data: string | Uint8Array): string => process.getBuiltinModule('node:crypto').createHash('sha256').update(data).digest('hex');

/** The headers that sign a request (Authorization, x-amz-date, x-amz-content-sha256), added to `headers`. */
export function signV4(cfg: S3Config, input: SignInput): Record<string, string> {
  const now = input.now ?? new Date();
  const amzDate = now.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
  const date = amzDate.slice(0, 8);
  const headers: Record<string, string> = { ...input.headers, host: input.url.host, 'x-amz-date': amzDate, 'x-amz-content-sha256': input.payloadHash };
  const names = Object.keys(headers)
    .map((h) => h.toLowerCase())
    .sort();
  const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  const canonicalHeaders = names.map((n) => `${n}:${String(lower[n]).trim().replace(/\s+/g, ' ')}\n`).join('');
  const signedHeaders = names.join(';');
  const canonicalUri = input.url.pathname
    .split('/')
    .map((seg) => sigv4Encode(decodeURIComponent(seg)))
    .join('/');
  const canonicalQuery = [...input.url.searchParams]
    .map(([k, v]) => [sigv4Encode(k), sigv4Encode(v)] as const)
    .sort((a, b) => (a[0] === b[0] ? (a[1] < b[1] ? -1 : 1) : a[0] < b[0] ? -1 : 1))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  const canonicalRequest = [input.method, canonicalUri, canonicalQuery, canonicalHeaders, signedHeaders, input.payloadHash].join('\n');
  const scope = `${date}/${cfg.region}/s3/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256Hex(canonicalRequest)].join('\n');
  let key: Buffer = process.getBuiltinModule('node:crypto').createHmac('sha256', `AWS4${cfg.secretAccessKey}`).update(date).digest();
  for (const part of [cfg.region, 's3', 'aws4_request']) key = process.getBuiltinModule('node:crypto').createHmac('sha256', key).update(part).digest();
  const signature = process.getBuiltinModule('node:crypto').createHmac('sha256', key).update(stringToSign).digest('hex');
  delete headers.host;
  return { ...headers, authorization: `AWS4-HMAC-SHA256 Credential=${cfg.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}` };
}

/** The S3 settings from the environment; missing ones fail naming the variable. */
export function s3ConfigFromEnv(endpointInput = ''): S3Config {
  const endpoint = endpointInput || process.env.AWS_ENDPOINT_URL_S3 || process.env.AWS_ENDPOINT_URL || '';
  const accessKeyId = process.env.AWS_ACCESS_KEY_ID ?? '';
  const secretAccessKey = process.env.AWS_SECRET_ACCESS_KEY ?? '';
  const missing = [!endpoint && 'AWS_ENDPOINT_URL', !accessKeyId && 'AWS_ACCESS_KEY_ID', !secretAccessKey && 'AWS_SECRET_ACCESS_KEY'].filter(Boolean);
  if (missing.length) {
    throw new ActionError(`The local MinIO's S3 settings are missing: ${missing.join(', ')} ${missing.length > 1 ? 'are' : 'is'} not set.`, {
      fix: 'Set them in the job environment from the runner machine\'s MinIO secrets (env: AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID: ${{ secrets.MINIO_ACCESS_KEY }}, AWS_SECRET_ACCESS_KEY: ${{ secrets.MINIO_SECRET_KEY }}).',
    });
  }
  if (!/^https?:\/\/[^/]+/.test(endpoint)) throw new ActionError(`The S3 endpoint ${JSON.stringify(endpoint)} is not an http(s) URL.`, { fix: 'Set AWS_ENDPOINT_URL to the MinIO address, e.g. http://minio.local:9000.' });
  return { endpoint: endpoint.replace(/\/+$/, ''), accessKeyId, secretAccessKey, region: process.env.AWS_REGION || process.env.AWS_DEFAULT_REGION || 'us-east-1' };
}

function xmlText(xml: string, tag: string): string | undefined {
  const m = new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`).exec(xml);
  return m ? unescapeXml(m[1] as string) : undefined;
}

function unescapeXml(s: string): string {
  return s
    .replace(/&#x([0-9a-f]+);/gi, (_, h: string) => String.fromCodePoint(parseInt(h, 16)))
    .replace(/&#(\d+);/g, (_, d: string) => String.fromCodePoint(Number(d)))
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

export interface S3ObjectInfo {
  key: string;
  size: number;
  /** As S3 gives it, quotes removed: an MD5 hex, or `<md5-of-part-md5s>-<parts>` after a multipart upload. */
  etag: string;
}

export class S3Client {
  constructor(readonly cfg: S3Config) {}

  private url(bucket: string, key = '', query: Record<string, string | undefined> = {}): URL {
    const u = new URL(`${this.cfg.endpoint}/${sigv4Encode(bucket)}${key ? `/${sigv4Encode(key, true)}` : ''}`);
    for (const [k, v] of Object.entries(query)) if (v !== undefined) u.searchParams.set(k, v);
    return u;
  }

  /** One signed request, retried by the transport's policy; S3's XML error becomes an ApiError (status = S3's Code). */
  async send(method: string, url: URL, headers: Record<string, string> = {}): Promise<Response> {
    const where = `${url.origin}${url.pathname}`;
    return withRetries<Response>({ method, where, policy: defaultRetry() }, async (budget) => {
      const res = await fetch(url, { method, headers: { 'user-agent': 'mlabs-actions', ...signV4(this.cfg, { method, url, headers, payloadHash: sha256Hex('') }) }, signal: AbortSignal.timeout(budget) });
      debug(`${method} ${where} -> ${res.status}`);
      if (res.ok) return { ok: true, value: res };
      const text = method === 'HEAD' ? '' : await res.text();
      const code = xmlText(text, 'Code') ?? (res.status === 404 ? 'NotFound' : String(res.status));
      const message = xmlText(text, 'Message') ?? res.statusText;
      return { ok: false, error: new ApiError(method, where, res.status, code, `${method} ${where}: ${code}: ${message}`, code, text), retryAfter: res.headers.get('retry-after') };
    });
  }

  /** Every object under `prefix` (ListObjectsV2, all pages), in key order. */
  async list(bucket: string, prefix: string): Promise<S3ObjectInfo[]> {
    const out: S3ObjectInfo[] = [];
    let token: string | undefined;
    do {
      const res = await this.send('GET', this.url(bucket, '', { 'list-type': '2', prefix, 'continuation-token': token }));
      const xml = await res.text();
      for (const m of xml.matchAll(/<Contents>([\s\S]*?)<\/Contents>/g)) {
        const c = m[1] as string;
        out.push({ key: xmlText(c, 'Key') ?? '', size: Number(xmlText(c, 'Size') ?? 0), etag: (xmlText(c, 'ETag') ?? '').replace(/"/g, '') });
      }
      token = xmlText(xml, 'IsTruncated') === 'true' ? xmlText(xml, 'NextContinuationToken') : undefined;
    } while (token);
    return out;
  }

  /** HeadObject; with `partNumber`, the size of that part and how many parts there are. */
  async head(bucket: string, key: string, partNumber?: number): Promise<{ size: number; etag: string; parts?: number }> {
    const res = await this.send('HEAD', this.url(bucket, key, { partNumber: partNumber === undefined ? undefined : String(partNumber) }));
    const parts = res.headers.get('x-amz-mp-parts-count');
    return { size: Number(res.headers.get('content-length') ?? 0), etag: (res.headers.get('etag') ?? '').replace(/"/g, ''), ...(parts ? { parts: Number(parts) } : {}) };
  }

  /** GetObject of bytes [start, end] (inclusive); the answer must be exactly that range. */
  async range(bucket: string, key: string, start: number, end: number): Promise<Buffer> {
    const res = await this.send('GET', this.url(bucket, key), { range: `bytes=${start}-${end}` });
    const data = Buffer.from(await res.arrayBuffer());
    if (data.length !== end - start + 1) {
      throw new ActionError(`s3://${bucket}/${key}: asked for bytes ${start}-${end}, got ${data.length} bytes.`, { fix: 'The object changed while it was read; re-run the step.' });
    }
    return data;
  }
}

/** Split `s3://bucket/prefix` (prefix may be empty). */
export function parseS3Uri(uri: string): { bucket: string; prefix: string } | undefined {
  const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(uri);
  return m ? { bucket: m[1] as string, prefix: m[2] ?? '' } : undefined;
}
