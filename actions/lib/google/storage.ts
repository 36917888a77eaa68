/**
 * Cloud Storage JSON API v1, the object operations the suite needs: metadata, download,
 * upload with generation preconditions, list with prefix/delimiter, delete.
 * Uploads go to storageUploadBase() (`.../upload/storage/v1/`), everything else to apiUrl('storage', ...).
 */
import { ActionError } from '../errors.js';
import { apiUrl, storageUploadBase } from '../endpoints.js';
import { ApiError, defaultRetry, findOrUndefined, isNotFound, parseError, request, requestJson, withRetries } from '../http.js';
import { getAccessToken } from './auth.js';

export interface GcsObject {
  bucket: string;
  name: string;
  /** int64 as a string, as the API gives it. */
  generation: string;
  metageneration: string;
  size: number;
  contentType: string;
  /** base64 MD5 and CRC32C (big-endian), as the API gives them. */
  md5Hash?: string;
  crc32c?: string;
  timeCreated: string;
  updated: string;
  /** Custom metadata (`x-goog-meta-*`). */
  metadata?: Record<string, string>;
}

export interface GcsListing {
  objects: GcsObject[];
  /** With a delimiter: the "directories" directly under the prefix, each ending in the delimiter. */
  prefixes: string[];
}

export interface UploadOptions {
  contentType?: string;
  /** Write only if the live generation is this one; `0` = only if the object does not exist yet. */
  ifGenerationMatch?: number | string;
  ifMetagenerationMatch?: number | string;
  metadata?: Record<string, string>;
}

export interface DeleteOptions {
  ifGenerationMatch?: number | string;
}

interface RawObject {
  bucket?: string;
  name?: string;
  generation?: string;
  metageneration?: string;
  size?: string;
  contentType?: string;
  md5Hash?: string;
  crc32c?: string;
  timeCreated?: string;
  updated?: string;
  metadata?: Record<string, string>;
}

function toObject(o: RawObject): GcsObject {
  return {
    bucket: o.bucket ?? '',
    name: o.name ?? '',
    generation: String(o.generation ?? '0'),
    metageneration: String(o.metageneration ?? '0'),
    size: Number(o.size ?? 0),
    contentType: o.contentType ?? 'application/octet-stream',
    ...(o.md5Hash ? { md5Hash: o.md5Hash } : {}),
    ...(o.crc32c ? { crc32c: o.crc32c } : {}),
    timeCreated: o.timeCreated ?? '',
    updated: o.updated ?? '',
    ...(o.metadata ? { metadata: o.metadata } : {}),
  };
}

const objectPath = (bucket: string, name: string): string => `b/${encodeURIComponent(bucket)}/o/${encodeURIComponent(name)}`;

/**
 * The JSON API's own error reason (`errors[0].reason`: notFound, conditionNotMet, conflict, ...):
 * GCS errors carry no google.rpc status, so ApiError.status is only the HTTP code there.
 */
export function gcsReason(err: unknown): string | undefined {
  if (!(err instanceof ApiError)) return undefined;
  const body = err.body as { error?: { errors?: Array<{ reason?: string }> } } | undefined;
  return body?.error?.errors?.[0]?.reason ?? err.reason;
}

/** A generation/metageneration precondition did not hold (HTTP 412, reason conditionNotMet). */
export function isPreconditionFailed(err: unknown): boolean {
  return err instanceof ApiError && err.httpStatus === 412;
}

function isMissingObject(err: unknown): boolean {
  return isNotFound(err) && /^No such object/.test(err.message);
}

function bucketMissing(err: unknown, bucket: string): never {
  if (isNotFound(err)) {
    throw new ActionError(`Cloud Storage bucket gs://${bucket} does not exist (or this identity cannot see it).`, {
      fix: `Check the bucket name, or create it (gcloud storage buckets create gs://${bucket}); the service account needs roles/storage.objectAdmin on it.`,
    });
  }
  throw err;
}

/** objects.get metadata; `undefined` when the object does not exist (a missing bucket throws). */
export async function findObject(bucket: string, name: string): Promise<GcsObject | undefined> {
  const token = await getAccessToken();
  try {
    return toObject(await requestJson<RawObject>(apiUrl('storage', objectPath(bucket, name)), { token }));
  } catch (err) {
    if (isMissingObject(err)) return undefined;
    return bucketMissing(err, bucket);
  }
}

/** buckets.get: whether the bucket exists (404 → false). */
export async function bucketExists(bucket: string): Promise<boolean> {
  const token = await getAccessToken();
  return (await findOrUndefined(() => requestJson<unknown>(apiUrl('storage', `b/${encodeURIComponent(bucket)}`), { token }))) !== undefined;
}

/** objects.get alt=media: the content (of `generation`, when given), checked against the CRC32C GCS reports. */
export async function download(bucket: string, name: string, opts: { generation?: string } = {}): Promise<Buffer> {
  const token = await getAccessToken();
  const res = await request(apiUrl('storage', objectPath(bucket, name)), { token, query: { alt: 'media', generation: opts.generation } });
  const data = Buffer.from(await res.arrayBuffer());
  const reported = /(?:^|,)\s*crc32c=([^,]+)/.exec(res.headers.get('x-goog-hash') ?? '')?.[1];
  if (reported && reported !== crc32cBase64(data)) {
    throw new ActionError(`Download of gs://${bucket}/${name} is corrupt: CRC32C ${crc32cBase64(data)} does not match ${reported}.`, {
      fix: 'Re-run the step; if it persists, the object itself is damaged.',
    });
  }
  return data;
}

/** download() as UTF-8 text. */
export async function downloadText(bucket: string, name: string, opts: { generation?: string } = {}): Promise<string> {
  return (await download(bucket, name, opts)).toString('utf8');
}

/**
 * objects.insert: a media upload, or multipart/related when custom metadata is given.
 * With `ifGenerationMatch: 0` it only creates; a 412 then means the object exists (see isPreconditionFailed).
 */
export async function upload(bucket: string, name: string, data: string | Uint8Array, opts: UploadOptions = {}): Promise<GcsObject> {
  const token = await getAccessToken();
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data);
  const contentType = opts.contentType ?? (typeof data === 'string' ? 'text/plain; charset=utf-8' : 'application/octet-stream');
  const query = {
    name: opts.metadata ? undefined : name,
    uploadType: opts.metadata ? 'multipart' : 'media',
    ifGenerationMatch: opts.ifGenerationMatch === undefined ? undefined : String(opts.ifGenerationMatch),
    ifMetagenerationMatch: opts.ifMetagenerationMatch === undefined ? undefined : String(opts.ifMetagenerationMatch),
  };
  const url = `${storageUploadBase()}b/${encodeURIComponent(bucket)}/o`;
  let body: Uint8Array = bytes;
  let headerType = contentType;
  if (opts.metadata) {
    const boundary = `mlabs-${Math.random().toString(36).slice(2)}${Date.now().toString(36)}`;
    const meta = JSON.stringify({ name, contentType, metadata: opts.metadata });
    body = Buffer.concat([
      Buffer.from(`--${boundary}\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n${meta}\r\n--${boundary}\r\nContent-Type: ${contentType}\r\n\r\n`),
      bytes,
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    headerType = `multipart/related; boundary=${boundary}`;
  }
  try {
    return toObject(await requestJson<RawObject>(url, { method: 'POST', token, query, body, headers: { 'content-type': headerType }, idempotent: true /* the same bytes under the same name */ }));
  } catch (err) {
    if (isNotFound(err)) return bucketMissing(err, bucket);
    throw err;
  }
}

/**
 * objects.list over every page. With a delimiter (usually '/'), names below the next delimiter
 * are rolled up into `prefixes`, as `gcloud storage ls` shows them.
 */
export async function listObjects(bucket: string, opts: { prefix?: string; delimiter?: string; pageSize?: number } = {}): Promise<GcsListing> {
  const token = await getAccessToken();
  const url = apiUrl('storage', `b/${encodeURIComponent(bucket)}/o`);
  const out: GcsListing = { objects: [], prefixes: [] };
  let pageToken: string | undefined;
  try {
    do {
      const page = await requestJson<{ items?: RawObject[]; prefixes?: string[]; nextPageToken?: string }>(url, {
        token,
        query: { prefix: opts.prefix, delimiter: opts.delimiter, maxResults: opts.pageSize, pageToken },
      });
      out.objects.push(...(page.items ?? []).map(toObject));
      out.prefixes.push(...(page.prefixes ?? []));
      pageToken = page.nextPageToken;
    } while (pageToken);
  } catch (err) {
    return bucketMissing(err, bucket);
  }
  return out;
}

/** objects.delete; `false` when there was nothing to delete. A failed precondition throws (412). */
export async function deleteObject(bucket: string, name: string, opts: DeleteOptions = {}): Promise<boolean> {
  const token = await getAccessToken();
  try {
    await request(apiUrl('storage', objectPath(bucket, name)), {
      method: 'DELETE',
      token,
      query: { ifGenerationMatch: opts.ifGenerationMatch === undefined ? undefined : String(opts.ifGenerationMatch) },
    });
    return true;
  } catch (err) {
    if (isMissingObject(err)) return false;
    return bucketMissing(err, bucket);
  }
}

/** objects.patch of custom metadata (merged; a null value removes a key). */
export async function patchMetadata(bucket: string, name: string, metadata: Record<string, string | null>, opts: { ifGenerationMatch?: string } = {}): Promise<GcsObject> {
  const token = await getAccessToken();
  return toObject(
    await requestJson<RawObject>(apiUrl('storage', objectPath(bucket, name)), {
      method: 'PATCH',
      token,
      body: { metadata },
      query: { ifGenerationMatch: opts.ifGenerationMatch },
      idempotent: true /* the same metadata twice */,
    }),
  );
}

export interface ResumableStart {
  contentType?: string;
  metadata?: Record<string, string>;
  /** base64 MD5 / CRC32C the finished object must have: GCS refuses the last chunk otherwise. */
  md5Hash?: string;
  crc32c?: string;
  size?: number;
  ifGenerationMatch?: string;
}

/** Start a resumable upload session; returns the session URI chunks are PUT to. */
export async function startResumableUpload(bucket: string, name: string, opts: ResumableStart = {}): Promise<string> {
  const token = await getAccessToken();
  const url = `${storageUploadBase()}b/${encodeURIComponent(bucket)}/o`;
  const headers: Record<string, string> = { 'content-type': 'application/json; charset=UTF-8' };
  if (opts.contentType) headers['x-upload-content-type'] = opts.contentType;
  if (opts.size !== undefined) headers['x-upload-content-length'] = String(opts.size);
  try {
    const res = await request(url, {
      method: 'POST',
      token,
      headers,
      query: { uploadType: 'resumable', name, ifGenerationMatch: opts.ifGenerationMatch },
      body: JSON.stringify({
        name,
        ...(opts.contentType ? { contentType: opts.contentType } : {}),
        ...(opts.metadata ? { metadata: opts.metadata } : {}),
        ...(opts.md5Hash ? { md5Hash: opts.md5Hash } : {}),
        ...(opts.crc32c ? { crc32c: opts.crc32c } : {}),
      }),
      idempotent: true /* a second session for the same object is harmless */,
    });
    const location = res.headers.get('location');
    if (!location) throw new ActionError(`Cloud Storage started no upload session for gs://${bucket}/${name} (no Location header).`, { fix: 'Re-run the step.' });
    return location;
  } catch (err) {
    if (isNotFound(err)) return bucketMissing(err, bucket);
    throw err;
  }
}

/** Where a resumable session stands: finished (the object), or how many bytes it has persisted. */
export type UploadState = { done: true; object: GcsObject } | { done: false; persisted: number };

async function sessionCall(session: string, body: Uint8Array, contentRange: string, retry = true): Promise<UploadState> {
  const token = await getAccessToken();
  const where = session.replace(/\?.*$/, '');
  return withRetries<UploadState>({ method: 'PUT', where, policy: retry ? defaultRetry() : false }, async (budget) => {
    const res = await fetch(session, {
      method: 'PUT',
      headers: { authorization: `Bearer ${token}`, 'content-range': contentRange, 'user-agent': 'mlabs-actions' },
      body: body as unknown as RequestInit['body'],
      redirect: 'manual',
      signal: AbortSignal.timeout(budget),
    });
    if (res.status === 308) {
      const range = /^bytes=0-(\d+)$/.exec(res.headers.get('range') ?? '');
      await res.arrayBuffer();
      return { ok: true, value: { done: false, persisted: range ? Number(range[1]) + 1 : 0 } };
    }
    const text = await res.text();
    if (res.ok) return { ok: true, value: { done: true, object: toObject(JSON.parse(text) as RawObject) } };
    return { ok: false, error: parseError('PUT', where, res.status, res.statusText, text), retryAfter: res.headers.get('retry-after') };
  });
}

/**
 * Send bytes [offset, offset + chunk.length) of an object; `total` on the last chunk (else the
 * size stays open). Returns what the session then holds: a chunk that was cut short answers
 * `persisted` below the end sent, and the caller resumes from there.
 */
export async function sendChunk(session: string, chunk: Uint8Array, offset: number, total?: number): Promise<UploadState> {
  const end = offset + chunk.length - 1;
  const range = chunk.length === 0 ? `bytes */${total ?? '*'}` : `bytes ${offset}-${end}/${total ?? '*'}`;
  // Not retried here: after a failure the caller asks the session what arrived and resumes from there.
  return sessionCall(session, chunk, range, false);
}

/** Ask a session how much it has (`Content-Range: bytes *\/N`). */
export async function queryUpload(session: string, total?: number): Promise<UploadState> {
  return sessionCall(session, new Uint8Array(0), `bytes */${total ?? '*'}`);
}

/** Cancel a session (nothing of it remains). */
export async function cancelUpload(session: string): Promise<void> {
  const token = await getAccessToken();
  // Best effort, once: GCS answers a cancelled session with 499, which the transport reports as an error.
  await request(session, { method: 'DELETE', token, retry: false, timeoutMs: 30_000 }).then((r) => r.arrayBuffer()).catch(() => undefined);
}

// CRC32C (Castagnoli), as GCS reports it: base64 of the big-endian 32-bit value.
const TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC32C fed in pieces (a streamed upload), read as GCS reports it. */
export class Crc32c {
  private crc = 0xffffffff;
  update(data: Uint8Array): this {
    let c = this.crc;
    for (let i = 0; i < data.length; i++) c = (TABLE[(c ^ (data[i] as number)) & 0xff] as number) ^ (c >>> 8);
    this.crc = c;
    return this;
  }
  base64(): string {
    const b = Buffer.alloc(4);
    b.writeUInt32BE((this.crc ^ 0xffffffff) >>> 0);
    return b.toString('base64');
  }
}

export function crc32cBase64(data: Uint8Array): string {
  return new Crc32c().update(data).base64();
}
