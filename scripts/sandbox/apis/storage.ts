// Cloud Storage JSON API (storage/v1), the subset the suite and its real clients (gcloud storage,
// @google-cloud/storage) use. GCS publishes no proto, so this is modelled by hand, after
// https://cloud.google.com/storage/docs/json_api/v1 and what the two clients send and expect:
//   /storage/v1/b                         buckets list / insert
//   /storage/v1/b/B                       buckets get / delete
//   /storage/v1/b/B/o                     objects list (prefix, delimiter, matchGlob, maxResults + pageToken)
//   /storage/v1/b/B/o/O                   objects get (metadata; alt=media for content) / patch / delete
//   /storage/v1/b/B/o/O/copyTo|rewriteTo/b/D/o/DO
//   /upload/storage/v1/b/B/o              uploadType=media | multipart | resumable (+ PUT upload_id=...)
//   /resumable/upload/storage/v1/b/B/o    apitools' resumable path (gcloud)
//   /download/storage/v1/b/B/o/O          the mediaLink gcloud downloads from
// Errors use the JSON API's own shape, {"error":{"code","message","errors":[{message,domain,reason}]}},
// not the google.rpc one: that is what GCS answers and what both clients parse.
import { createHash, randomBytes } from 'node:crypto';
import type { ApiModule, SandboxContext } from '../context.js';
import type { SandboxReply, SandboxRequest } from '../router.js';

export interface StoredBucket {
  name: string;
  location: string;
  storageClass: string;
  timeCreated: string;
  updated: string;
  metageneration: string;
  labels?: Record<string, string>;
  versioning?: { enabled: boolean };
}

export interface StoredObject {
  bucket: string;
  name: string;
  generation: string;
  metageneration: string;
  contentType: string;
  size: string;
  md5Hash: string;
  crc32c: string;
  timeCreated: string;
  updated: string;
  storageClass: string;
  metadata?: Record<string, string>;
  contentEncoding?: string;
  contentDisposition?: string;
  cacheControl?: string;
  /** Content, base64. */
  data: string;
  /** Set when the generation became noncurrent (versioned buckets). */
  timeDeleted?: string;
}

/** Seed/dump shape of the `storage` section. Seed objects may give `content` (UTF-8 text) instead of `data`. */
export interface StorageState {
  buckets: Record<string, StoredBucket>;
  objects: Record<string, Record<string, StoredObject>>;
  /** Noncurrent generations of versioned buckets, oldest first (seed/dump: `objects` entries with `timeDeleted`). */
  noncurrent: Record<string, StoredObject[]>;
}

export const DEFAULT_BUCKETS = ['mlabs-demo-nodepool-snapshots', 'mlabs-demo-tfstate', 'mlabs-demo-models'];

// ---------------------------------------------------------------------------------------------
// Hashes as GCS reports them: base64 of the MD5 digest, base64 of the big-endian CRC32C.

const CRC32C_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

export function crc32c(data: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of data) crc = (CRC32C_TABLE[(crc ^ byte) & 0xff] as number) ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

export function crc32cBase64(data: Uint8Array): string {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(crc32c(data));
  return b.toString('base64');
}

export function md5Base64(data: Uint8Array): string {
  return createHash('md5').update(data).digest('base64');
}

// ---------------------------------------------------------------------------------------------
// Errors in the JSON API's shape.

class GcsFailure extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly reason: string,
    readonly extra: Record<string, string> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }

  reply(): SandboxReply {
    if (this.code === 304) return { status: 304, headers: this.headers, body: '' };
    return {
      status: this.code,
      headers: this.headers,
      json: { error: { code: this.code, message: this.message, errors: [{ message: this.message, domain: 'global', reason: this.reason, ...this.extra }] } },
    };
  }
}

const noBucket = (): GcsFailure => new GcsFailure(404, 'The specified bucket does not exist.', 'notFound');
const noObject = (b: string, o: string): GcsFailure => new GcsFailure(404, `No such object: ${b}/${o}`, 'notFound');
const preconditionFailed = (): GcsFailure =>
  new GcsFailure(412, 'At least one of the pre-conditions you specified did not hold.', 'conditionNotMet', { locationType: 'header', location: 'If-Match' });
const required = (what: string): GcsFailure => new GcsFailure(400, `Required ${what}`.trim(), 'required');
const invalid = (message: string): GcsFailure => new GcsFailure(400, message, 'invalid');

// ---------------------------------------------------------------------------------------------

function nowIso(): string {
  return new Date().toISOString();
}

let lastGeneration = 0;
/** Generations are microsecond timestamps, strictly increasing, like GCS's. */
function nextGeneration(): string {
  lastGeneration = Math.max(Date.now() * 1000, lastGeneration + 1);
  return String(lastGeneration);
}

function encodeName(name: string): string {
  return encodeURIComponent(name);
}

function originOf(req: SandboxRequest, fallback: string): string {
  const host = req.headers.host;
  return host ? `http://${host}` : fallback;
}

function etagOf(o: { generation?: string; metageneration: string; name: string }): string {
  return createHash('sha1').update(`${o.name}/${o.generation ?? ''}/${o.metageneration}`).digest('base64').slice(0, 12);
}

function objectResource(o: StoredObject, origin: string): Record<string, unknown> {
  const enc = encodeName(o.name);
  return {
    kind: 'storage#object',
    id: `${o.bucket}/${o.name}/${o.generation}`,
    selfLink: `${origin}/storage/v1/b/${o.bucket}/o/${enc}`,
    mediaLink: `${origin}/download/storage/v1/b/${o.bucket}/o/${enc}?generation=${o.generation}&alt=media`,
    name: o.name,
    bucket: o.bucket,
    generation: o.generation,
    metageneration: o.metageneration,
    contentType: o.contentType,
    storageClass: o.storageClass,
    size: o.size,
    md5Hash: o.md5Hash,
    crc32c: o.crc32c,
    etag: etagOf(o),
    timeCreated: o.timeCreated,
    updated: o.updated,
    timeStorageClassUpdated: o.timeCreated,
    timeFinalized: o.timeCreated,
    ...(o.metadata ? { metadata: o.metadata } : {}),
    ...(o.contentEncoding ? { contentEncoding: o.contentEncoding } : {}),
    ...(o.contentDisposition ? { contentDisposition: o.contentDisposition } : {}),
    ...(o.cacheControl ? { cacheControl: o.cacheControl } : {}),
    ...(o.timeDeleted ? { timeDeleted: o.timeDeleted } : {}),
  };
}

function bucketResource(b: StoredBucket, origin: string, projectNumber: string): Record<string, unknown> {
  return {
    kind: 'storage#bucket',
    selfLink: `${origin}/storage/v1/b/${b.name}`,
    id: b.name,
    name: b.name,
    projectNumber,
    generation: String(Date.parse(b.timeCreated) * 1000),
    metageneration: b.metageneration,
    location: b.location,
    locationType: /^(US|EU|ASIA)$/.test(b.location) ? 'multi-region' : 'region',
    storageClass: b.storageClass,
    etag: etagOf({ name: b.name, metageneration: b.metageneration }),
    timeCreated: b.timeCreated,
    updated: b.updated,
    rpo: 'DEFAULT',
    iamConfiguration: {
      bucketPolicyOnly: { enabled: true },
      uniformBucketLevelAccess: { enabled: true },
      publicAccessPrevention: 'enforced',
    },
    ...(b.labels ? { labels: b.labels } : {}),
    ...(b.versioning ? { versioning: b.versioning } : {}),
  };
}

/** Parse an integer query parameter (GCS answers 400 "Invalid argument." for junk). */
function intParam(q: URLSearchParams, name: string): number | undefined {
  const v = q.get(name);
  if (v === null || v === '') return undefined;
  if (!/^-?\d+$/.test(v)) throw invalid(`Invalid argument.`);
  return Number(v);
}

/** The generation/metageneration preconditions of a request, checked against the live object (or none). */
function checkPreconditions(q: URLSearchParams, current: StoredObject | undefined, prefix = '', forRead = false): void {
  const gm = intParam(q, `if${prefix}GenerationMatch`);
  const gnm = intParam(q, `if${prefix}GenerationNotMatch`);
  const mm = intParam(q, `if${prefix}MetagenerationMatch`);
  const mnm = intParam(q, `if${prefix}MetagenerationNotMatch`);
  const gen = current ? Number(current.generation) : 0;
  if (gm !== undefined && gm !== gen) throw preconditionFailed();
  if (mm !== undefined && (!current || mm !== Number(current.metageneration))) throw preconditionFailed();
  // For reads, a failed *NotMatch is "304 Not Modified", as GCS answers GETs.
  const notMatchFailure = (): GcsFailure => (forRead ? new GcsFailure(304, 'Not Modified', 'notModified') : preconditionFailed());
  if (gnm !== undefined && current && gnm === gen) throw notMatchFailure();
  if (mnm !== undefined && current && mnm === Number(current.metageneration)) throw notMatchFailure();
}

function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] as string;
    if (c === '*') {
      if (glob[i + 1] === '*') {
        re += '.*';
        i++;
      } else re += '[^/]*';
    } else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = glob.indexOf(']', i);
      if (end < 0) re += '\\[';
      else {
        re += `[${glob.slice(i + 1, end).replace(/^!/, '^').replace(/\\/g, '\\\\')}]`;
        i = end;
      }
    } else if (c === '{') {
      const end = glob.indexOf('}', i);
      if (end < 0) re += '\\{';
      else {
        re += `(?:${glob
          .slice(i + 1, end)
          .split(',')
          .map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
          .join('|')})`;
        i = end;
      }
    } else re += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  return new RegExp(`^${re}$`, 's');
}

interface MultipartPart {
  headers: Record<string, string>;
  body: Buffer;
}

/** Split a multipart/related body (CRLF or bare LF line ends: apitools writes LF). */
function parseMultipart(body: Buffer, contentType: string): MultipartPart[] {
  const m = /boundary=(?:"([^"]+)"|'([^']+)'|([^;\s]+))/i.exec(contentType);
  const boundary = m?.[1] ?? m?.[2] ?? m?.[3];
  if (!boundary) throw invalid('Multipart upload is missing the boundary parameter of its Content-Type.');
  const delim = Buffer.from(`--${boundary}`);
  const positions: number[] = [];
  for (let at = body.indexOf(delim); at >= 0; at = body.indexOf(delim, at + delim.length)) positions.push(at);
  const parts: MultipartPart[] = [];
  for (let i = 0; i + 1 < positions.length; i++) {
    let start = (positions[i] as number) + delim.length;
    const eol = body.indexOf(0x0a, start);
    if (eol < 0) break;
    start = eol + 1;
    let end = positions[i + 1] as number;
    if (body[end - 1] === 0x0a) end -= 1;
    if (body[end - 1] === 0x0d) end -= 1;
    const raw = body.subarray(start, Math.max(start, end));
    let headerEnd = raw.indexOf('\r\n\r\n');
    let sep = 4;
    const lf = raw.indexOf('\n\n');
    if (headerEnd < 0 || (lf >= 0 && lf < headerEnd)) {
      headerEnd = lf;
      sep = 2;
    }
    const headers: Record<string, string> = {};
    let content: Buffer;
    if (headerEnd < 0) {
      content = raw;
    } else {
      for (const line of raw.subarray(0, headerEnd).toString('latin1').split(/\r?\n/)) {
        const c = line.indexOf(':');
        if (c > 0) headers[line.slice(0, c).trim().toLowerCase()] = line.slice(c + 1).trim();
      }
      content = raw.subarray(headerEnd + sep);
    }
    if (/^base64$/i.test(headers['content-transfer-encoding'] ?? '')) content = Buffer.from(content.toString('latin1'), 'base64');
    parts.push({ headers, body: content });
  }
  if (parts.length < 2) throw invalid('Multipart upload must have a metadata part and a media part.');
  return parts;
}

interface ResumableSession {
  bucket: string;
  name: string;
  meta: Record<string, unknown>;
  query: URLSearchParams;
  contentType: string;
  chunks: Buffer[];
  received: number;
}

/** Metadata fields a client may set on insert/patch (everything else is server-set or unsupported and ignored, as GCS does for output fields). */
function applyWritable(target: StoredObject, meta: Record<string, unknown>): void {
  if (typeof meta.contentType === 'string') target.contentType = meta.contentType;
  if (typeof meta.contentEncoding === 'string') target.contentEncoding = meta.contentEncoding;
  if (typeof meta.contentDisposition === 'string') target.contentDisposition = meta.contentDisposition;
  if (typeof meta.cacheControl === 'string') target.cacheControl = meta.cacheControl;
  if (typeof meta.storageClass === 'string') target.storageClass = meta.storageClass;
  if (meta.metadata === null) delete target.metadata;
  else if (meta.metadata && typeof meta.metadata === 'object') {
    const merged: Record<string, string> = { ...(target.metadata ?? {}) };
    for (const [k, v] of Object.entries(meta.metadata as Record<string, unknown>)) {
      if (v === null) delete merged[k];
      else merged[k] = String(v);
    }
    target.metadata = merged;
  }
}

function normaliseSeed(raw: unknown): StorageState {
  const s = (raw ?? {}) as Partial<StorageState> & { buckets?: unknown; objects?: unknown };
  const state: StorageState = { buckets: {}, objects: {}, noncurrent: {} };
  const buckets = Array.isArray(s.buckets) ? (s.buckets as Partial<StoredBucket>[]) : Object.values((s.buckets ?? {}) as Record<string, Partial<StoredBucket>>);
  for (const b of buckets) {
    if (!b.name) continue;
    const t = b.timeCreated ?? nowIso();
    state.buckets[b.name] = {
      name: b.name,
      location: (b.location ?? 'US-CENTRAL1').toUpperCase(),
      storageClass: b.storageClass ?? 'STANDARD',
      timeCreated: t,
      updated: b.updated ?? t,
      metageneration: String(b.metageneration ?? '1'),
      ...(b.labels ? { labels: b.labels } : {}),
      ...(b.versioning ? { versioning: b.versioning } : {}),
    };
    state.objects[b.name] = {};
  }
  const objs = s.objects ?? {};
  const list: (Partial<StoredObject> & { content?: string })[] = Array.isArray(objs)
    ? (objs as (Partial<StoredObject> & { content?: string })[])
    : Object.values(objs as Record<string, Record<string, Partial<StoredObject> & { content?: string }>>).flatMap((byName) => Object.values(byName));
  for (const o of list) {
    if (!o.bucket || !o.name || !state.objects[o.bucket]) continue;
    const data = o.data !== undefined ? Buffer.from(o.data, 'base64') : Buffer.from(o.content ?? '', 'utf8');
    const t = o.timeCreated ?? nowIso();
    const gen = o.generation ?? nextGeneration();
    lastGeneration = Math.max(lastGeneration, Number(gen));
    const stored: StoredObject = {
      bucket: o.bucket,
      name: o.name,
      generation: String(gen),
      metageneration: String(o.metageneration ?? '1'),
      contentType: o.contentType ?? 'application/octet-stream',
      size: String(data.length),
      md5Hash: md5Base64(data),
      crc32c: crc32cBase64(data),
      timeCreated: t,
      updated: o.updated ?? t,
      storageClass: o.storageClass ?? 'STANDARD',
      ...(o.metadata ? { metadata: o.metadata } : {}),
      ...(o.contentEncoding ? { contentEncoding: o.contentEncoding } : {}),
      data: data.toString('base64'),
      ...(o.timeDeleted ? { timeDeleted: o.timeDeleted } : {}),
    };
    if (stored.timeDeleted) (state.noncurrent[o.bucket] ??= []).push(stored);
    else (state.objects[o.bucket] as Record<string, StoredObject>)[o.name] = stored;
  }
  for (const list of Object.values(state.noncurrent)) list.sort((a, b) => Number(a.generation) - Number(b.generation));
  return state;
}

function defaultStorage(): StorageState {
  const t = '2025-01-06T09:00:00.000Z';
  return normaliseSeed({ buckets: DEFAULT_BUCKETS.map((name) => ({ name, location: 'US-CENTRAL1', timeCreated: t })), objects: [] });
}

const BUCKET = '(?<bucket>[a-z0-9][-a-z0-9_.]{1,220})';
const OBJECT = '(?<object>[^?#]+)';

/** State, helpers and services the Storage routes share. */
function storageParts(ctx: SandboxContext) {
  const st = normaliseSeed(ctx.state.section<unknown>('storage', defaultStorage));
  ctx.state.set('storage', st);
  // Dumped in the seed's own shape (arrays), so a dump seeds a sandbox again.
  ctx.state.onDump('storage', () => ({
    buckets: Object.values(st.buckets),
    objects: [...Object.values(st.objects).flatMap((byName) => Object.values(byName)), ...Object.values(st.noncurrent).flat()],
  }));
  const sessions = new Map<string, ResumableSession>();
  const { projectNumber, projectId } = ctx.project;
  ctx.services.set('storage', {
    state: st,
    /** Read an object's content (tests, other modules). */
    read: (bucket: string, name: string): Buffer | undefined => {
      const o = st.objects[bucket]?.[name];
      return o ? Buffer.from(o.data, 'base64') : undefined;
    },
  });

  const bucketOf = (name: string): StoredBucket => {
    const b = st.buckets[name];
    if (!b) throw noBucket();
    return b;
  };
  const objectsOf = (bucket: string): Record<string, StoredObject> => {
    bucketOf(bucket);
    return (st.objects[bucket] ??= {});
  };
  const objectOf = (bucket: string, name: string): StoredObject => {
    const o = objectsOf(bucket)[name];
    if (!o) throw noObject(bucket, name);
    return o;
  };
  const versioned = (bucket: string): boolean => bucketOf(bucket).versioning?.enabled === true;
  /** The live object or, with `generation`, that generation (live or noncurrent). */
  const generationOf = (bucket: string, name: string, generation: string | null): StoredObject => {
    const live = objectsOf(bucket)[name];
    if (!generation) {
      if (!live) throw noObject(bucket, name);
      return live;
    }
    if (live?.generation === generation) return live;
    const old = (st.noncurrent[bucket] ?? []).find((o) => o.name === name && o.generation === generation);
    if (!old) throw noObject(bucket, name);
    return old;
  };
  /** In a versioned bucket the replaced or deleted live object stays as a noncurrent generation. */
  const retire = (o: StoredObject): void => {
    o.timeDeleted = nowIso();
    (st.noncurrent[o.bucket] ??= []).push(o);
  };

  /** GCS answers its own 401 shape; so auth is checked here, not by the router. */
  const authorise = (req: SandboxRequest): void => {
    const m = /^Bearer\s+(.+)$/i.exec((req.headers.authorization ?? '').trim());
    if (!ctx.tokens.verify(m?.[1]?.trim())) {
      throw new GcsFailure(401, 'Invalid Credentials', 'authError', { locationType: 'header', location: 'Authorization' }, {
        'www-authenticate': 'Bearer realm="https://accounts.google.com/", error="invalid_token"',
      });
    }
  };

  const route = (method: string, pattern: string, name: string, fn: (req: SandboxRequest, p: Record<string, string>) => SandboxReply | Promise<SandboxReply>): void => {
    ctx.router.add({
      method,
      path: new RegExp(`^${pattern}$`),
      api: 'storage',
      name,
      auth: false,
      handler: async (req) => {
        try {
          authorise(req);
          return await fn(req, req.params);
        } catch (err) {
          if (err instanceof GcsFailure) return err.reply();
          throw err;
        }
      },
    });
  };

  /** Create or replace an object at bucket/name (preconditions checked against the live one). */
  const store = (bucket: string, name: string, data: Buffer, meta: Record<string, unknown>, q: URLSearchParams, contentType?: string): StoredObject => {
    const objects = objectsOf(bucket);
    if (!name) throw required('');
    if (name.length > 1024 || /[\r\n]/.test(name)) throw invalid('The specified object name is not valid.');
    checkPreconditions(q, objects[name]);
    const t = nowIso();
    const o: StoredObject = {
      bucket,
      name,
      generation: nextGeneration(),
      metageneration: '1',
      contentType: contentType || 'application/octet-stream',
      size: String(data.length),
      md5Hash: md5Base64(data),
      crc32c: crc32cBase64(data),
      timeCreated: t,
      updated: t,
      storageClass: bucketOf(bucket).storageClass,
      data: data.toString('base64'),
    };
    applyWritable(o, meta);
    if (typeof meta.md5Hash === 'string' && meta.md5Hash !== o.md5Hash) {
      throw invalid('Provided MD5 hash "' + meta.md5Hash + '" doesn\'t match calculated MD5 hash "' + o.md5Hash + '".');
    }
    if (typeof meta.crc32c === 'string' && meta.crc32c !== o.crc32c) {
      throw invalid('Provided CRC32C "' + meta.crc32c + '" doesn\'t match calculated CRC32C "' + o.crc32c + '".');
    }
    const previous = objects[name];
    if (previous && versioned(bucket)) retire(previous);
    objects[name] = o;
    return o;
  };

  const mediaReply = (req: SandboxRequest, o: StoredObject): SandboxReply => {
    const data = Buffer.from(o.data, 'base64');
    const headers: Record<string, string> = {
      'content-type': o.contentType,
      'x-goog-generation': o.generation,
      'x-goog-metageneration': o.metageneration,
      'x-goog-stored-content-length': o.size,
      'x-goog-stored-content-encoding': o.contentEncoding ?? 'identity',
      'x-goog-hash': `crc32c=${o.crc32c},md5=${o.md5Hash}`,
      'x-goog-storage-class': o.storageClass,
      etag: etagOf(o),
      'last-modified': new Date(o.updated).toUTCString(),
      'accept-ranges': 'bytes',
    };
    if (o.contentEncoding) headers['content-encoding'] = o.contentEncoding;
    const range = /^bytes=(\d*)-(\d*)$/.exec(String(req.headers.range ?? '').trim());
    if (range && (range[1] || range[2])) {
      const size = data.length;
      let start: number;
      let end: number;
      if (range[1] === '') {
        start = Math.max(0, size - Number(range[2]));
        end = size - 1;
      } else {
        start = Number(range[1]);
        end = range[2] ? Math.min(Number(range[2]), size - 1) : size - 1;
      }
      if (start >= size && size > 0) {
        return { status: 416, headers: { 'content-range': `bytes */${size}` }, json: { error: { code: 416, message: 'Request range not satisfiable', errors: [{ message: 'Request range not satisfiable', domain: 'global', reason: 'requestedRangeNotSatisfiable' }] } } };
      }
      if (size === 0) return { status: 200, headers, body: data };
      delete headers['x-goog-hash'];
      return { status: 206, headers: { ...headers, 'content-range': `bytes ${start}-${end}/${size}` }, body: data.subarray(start, end + 1) };
    }
    return { status: 200, headers, body: data };
  };

  const getObject = (req: SandboxRequest, p: Record<string, string>, media: boolean): SandboxReply => {
    const bucket = p.bucket as string;
    const name = p.object as string;
    const o = generationOf(bucket, name, req.query.get('generation'));
    checkPreconditions(req.query, o, '', true);
    if (media || req.query.get('alt') === 'media') return mediaReply(req, o);
    return { json: objectResource(o, originOf(req, ctx.baseUrl)) };
  };

  return { ctx, st, sessions, projectNumber, projectId, bucketOf, objectsOf, objectOf, generationOf, versioned, retire, authorise, route, store, mediaReply, getObject };
}

type StorageParts = ReturnType<typeof storageParts>;

/** Buckets: list, insert, get, delete. */
function bucketRoutes(p: StorageParts): void {
  const { st, projectNumber, projectId, bucketOf, route, ctx } = p;
  // ---- buckets
  route('GET', '/storage/v1/b', 'buckets.list', (req) => {
    const project = req.query.get('project');
    if (!project) throw required('');
    if (project !== projectId && project !== projectNumber) {
      throw new GcsFailure(403, `The project ${project} does not exist or you do not have permission to list its buckets.`, 'forbidden');
    }
    const prefix = req.query.get('prefix') ?? '';
    const names = Object.keys(st.buckets).filter((n) => n.startsWith(prefix)).sort();
    const { page, next } = paginate(names, req.query);
    const origin = originOf(req, ctx.baseUrl);
    return {
      json: {
        kind: 'storage#buckets',
        ...(page.length ? { items: page.map((n) => bucketResource(st.buckets[n] as StoredBucket, origin, projectNumber)) } : {}),
        ...(next ? { nextPageToken: next } : {}),
      },
    };
  });

  route('POST', '/storage/v1/b', 'buckets.insert', (req) => {
    const project = req.query.get('project');
    if (!project) throw required('');
    let body: Record<string, unknown>;
    try {
      body = (req.json() ?? {}) as Record<string, unknown>;
    } catch {
      throw new GcsFailure(400, 'Parse Error', 'parseError');
    }
    const name = body.name;
    if (typeof name !== 'string' || !name) throw required('');
    if (!/^[a-z0-9][-a-z0-9_.]{1,61}[a-z0-9]$/.test(name)) throw invalid('Invalid bucket name: ' + `'${name}'`);
    if (st.buckets[name]) {
      throw new GcsFailure(409, 'Your previous request to create the named bucket succeeded and you already own it.', 'conflict');
    }
    const t = nowIso();
    const b: StoredBucket = {
      name,
      location: String(body.location ?? 'US').toUpperCase(),
      storageClass: String(body.storageClass ?? 'STANDARD').toUpperCase(),
      timeCreated: t,
      updated: t,
      metageneration: '1',
      ...(body.labels && typeof body.labels === 'object' ? { labels: body.labels as Record<string, string> } : {}),
      ...(body.versioning && typeof body.versioning === 'object' ? { versioning: { enabled: Boolean((body.versioning as { enabled?: unknown }).enabled) } } : {}),
    };
    st.buckets[name] = b;
    st.objects[name] = {};
    return { json: bucketResource(b, originOf(req, ctx.baseUrl), projectNumber) };
  });

  route('GET', `/storage/v1/b/${BUCKET}`, 'buckets.get', (req, p) => ({
    json: bucketResource(bucketOf(p.bucket as string), originOf(req, ctx.baseUrl), projectNumber),
  }));

  // What gcloud storage asks before rm -r and mv (hierarchical namespace or flat).
  route('GET', `/storage/v1/b/${BUCKET}/storageLayout`, 'buckets.getStorageLayout', (_req, p) => {
    const b = bucketOf(p.bucket as string);
    return {
      json: {
        kind: 'storage#storageLayout',
        bucket: b.name,
        location: b.location,
        locationType: /^(US|EU|ASIA)$/.test(b.location) ? 'multi-region' : 'region',
        hierarchicalNamespace: { enabled: false },
      },
    };
  });

  route('DELETE', `/storage/v1/b/${BUCKET}`, 'buckets.delete', (_req, p) => {
    const name = p.bucket as string;
    bucketOf(name);
    if (Object.keys(st.objects[name] ?? {}).length > 0 || (st.noncurrent[name] ?? []).length > 0) {
      throw new GcsFailure(409, 'The bucket you tried to delete is not empty.', 'conflict');
    }
    delete st.buckets[name];
    delete st.objects[name];
    delete st.noncurrent[name];
    return { status: 204, body: '' };
  });
}

/** Objects: copy and rewrite (routed first: their paths also match an object), list, get, download, delete, patch. */
function objectRoutes(p: StorageParts): void {
  const { st, objectsOf, objectOf, generationOf, versioned, retire, route, store, getObject, ctx } = p;
  // ---- objects: copy / rewrite first (their paths also match the object pattern)
  const copy = (req: SandboxRequest, p: Record<string, string>, rewrite: boolean): SandboxReply => {
    const src = generationOf(p.bucket as string, p.object as string, req.query.get('sourceGeneration'));
    checkPreconditions(req.query, src, 'Source');
    const body = (req.json() ?? {}) as Record<string, unknown>;
    const meta: Record<string, unknown> = {
      contentType: src.contentType,
      ...(src.metadata ? { metadata: src.metadata } : {}),
      ...(src.contentEncoding ? { contentEncoding: src.contentEncoding } : {}),
      ...body,
    };
    const o = store(p.dbucket as string, p.dobject as string, Buffer.from(src.data, 'base64'), meta, req.query, String(meta.contentType));
    const resource = objectResource(o, originOf(req, ctx.baseUrl));
    if (!rewrite) return { json: resource };
    return { json: { kind: 'storage#rewriteResponse', totalBytesRewritten: o.size, objectSize: o.size, done: true, resource } };
  };
  const copyPath = (verb: string): string => `/storage/v1/b/${BUCKET}/o/(?<object>[^/?#]+)/${verb}/b/(?<dbucket>[a-z0-9][-a-z0-9_.]{1,220})/o/(?<dobject>[^/?#]+)`;
  route('POST', copyPath('rewriteTo'), 'objects.rewrite', (req, p) => copy(req, p, true));
  route('POST', copyPath('copyTo'), 'objects.copy', (req, p) => copy(req, p, false));

  route('GET', `/storage/v1/b/${BUCKET}/o`, 'objects.list', (req, p) => {
    const bucket = p.bucket as string;
    const objects = objectsOf(bucket);
    const q = req.query;
    const prefix = q.get('prefix') ?? '';
    const delimiter = q.get('delimiter') ?? '';
    const glob = q.get('matchGlob');
    const globRe = glob ? globToRegExp(glob) : undefined;
    const startOffset = q.get('startOffset') ?? '';
    const endOffset = q.get('endOffset') ?? '';
    const trailing = /^true$/i.test(q.get('includeTrailingDelimiter') ?? '');
    const maxResults = intParam(q, 'maxResults') ?? 1000;
    if (maxResults < 0) throw invalid('Invalid argument.');
    const versions = /^true$/i.test(q.get('versions') ?? '');
    const old = versions ? (st.noncurrent[bucket] ?? []) : [];
    const names = [...new Set([...Object.keys(objects), ...old.map((o) => o.name)])]
      .filter((n) => n.startsWith(prefix) && (!startOffset || n >= startOffset) && (!endOffset || n < endOffset) && (!globRe || globRe.test(n)))
      .sort();
    // Entries in name order: an object, or a prefix standing for every name under it.
    const entries: { key: string; prefix: boolean; alsoItem?: boolean }[] = [];
    const seenPrefixes = new Set<string>();
    for (const n of names) {
      if (delimiter) {
        const at = n.indexOf(delimiter, prefix.length);
        if (at >= 0) {
          const pre = n.slice(0, at + delimiter.length);
          const isSelf = pre === n;
          if (!seenPrefixes.has(pre)) {
            seenPrefixes.add(pre);
            entries.push({ key: pre, prefix: true });
          }
          if (isSelf && trailing) (entries.find((e) => e.key === pre && e.prefix) as { alsoItem?: boolean }).alsoItem = true;
          continue;
        }
      }
      entries.push({ key: n, prefix: false });
    }
    const { page, next } = paginate(entries, q, (e) => e.key, Math.min(maxResults || 1000, 1000));
    const origin = originOf(req, ctx.baseUrl);
    // With versions=true every generation of a name is listed, oldest first, the live one last.
    const generations = (n: string): StoredObject[] => [...old.filter((o) => o.name === n), ...(objects[n] ? [objects[n]] : [])];
    const items = page
      .filter((e) => !e.prefix || e.alsoItem)
      .flatMap((e) => generations(e.key))
      .map((o) => objectResource(o, origin));
    const prefixes = page.filter((e) => e.prefix).map((e) => e.key);
    return {
      json: {
        kind: 'storage#objects',
        ...(next ? { nextPageToken: next } : {}),
        ...(prefixes.length ? { prefixes } : {}),
        ...(items.length ? { items } : {}),
      },
    };
  });

  route('GET', `/storage/v1/b/${BUCKET}/o/${OBJECT}`, 'objects.get', (req, p) => getObject(req, p, false));
  route('GET', `/download/storage/v1/b/${BUCKET}/o/${OBJECT}`, 'objects.get', (req, p) => getObject(req, p, true));

  route('DELETE', `/storage/v1/b/${BUCKET}/o/${OBJECT}`, 'objects.delete', (req, p) => {
    const bucket = p.bucket as string;
    const name = p.object as string;
    const gen = req.query.get('generation');
    const o = generationOf(bucket, name, gen);
    checkPreconditions(req.query, o);
    if (o.timeDeleted) {
      // A noncurrent generation: deleted for good.
      st.noncurrent[bucket] = (st.noncurrent[bucket] ?? []).filter((x) => x !== o);
      return { status: 204, body: '' };
    }
    delete objectsOf(bucket)[name];
    // Deleting the live object of a versioned bucket keeps it as noncurrent, unless its generation was named.
    if (versioned(bucket) && !gen) retire(o);
    return { status: 204, body: '' };
  });

  const patch = (req: SandboxRequest, p: Record<string, string>): SandboxReply => {
    const o = objectOf(p.bucket as string, p.object as string);
    checkPreconditions(req.query, o);
    const body = (req.json() ?? {}) as Record<string, unknown>;
    if (req.method === 'PUT') {
      delete o.metadata;
      delete o.contentEncoding;
      delete o.contentDisposition;
      delete o.cacheControl;
    }
    applyWritable(o, body);
    o.metageneration = String(Number(o.metageneration) + 1);
    o.updated = nowIso();
    return { json: objectResource(o, originOf(req, ctx.baseUrl)) };
  };
  route('PATCH', `/storage/v1/b/${BUCKET}/o/${OBJECT}`, 'objects.patch', patch);
  route('PUT', `/storage/v1/b/${BUCKET}/o/${OBJECT}`, 'objects.update', patch);
}

/** Uploads: media, multipart and resumable. */
function uploadRoutes(p: StorageParts): void {
  const { st, sessions, bucketOf, route, store, ctx } = p;
  // ---- uploads
  const upload = (req: SandboxRequest, p: Record<string, string>): SandboxReply => {
    const bucket = p.bucket as string;
    bucketOf(bucket);
    const q = req.query;
    const type = q.get('uploadType') ?? (String(req.headers['content-type'] ?? '').startsWith('multipart/') ? 'multipart' : 'media');
    const origin = originOf(req, ctx.baseUrl);
    const contentType = String(req.headers['content-type'] ?? '');
    if (type === 'media') {
      const name = q.get('name');
      if (!name) throw required('');
      const o = store(bucket, name, req.body, {}, q, contentType.split(';')[0] || undefined);
      return { json: objectResource(o, origin) };
    }
    if (type === 'multipart') {
      const [metaPart, mediaPart] = parseMultipart(req.body, contentType);
      let meta: Record<string, unknown>;
      try {
        meta = JSON.parse((metaPart as MultipartPart).body.toString('utf8') || '{}') as Record<string, unknown>;
      } catch {
        throw new GcsFailure(400, 'Metadata part is too large or is not valid JSON.', 'invalid');
      }
      const name = q.get('name') ?? (typeof meta.name === 'string' ? meta.name : '');
      if (!name) throw required('');
      const mediaType = (mediaPart as MultipartPart).headers['content-type'];
      const o = store(bucket, name, (mediaPart as MultipartPart).body, meta, q, (typeof meta.contentType === 'string' ? meta.contentType : mediaType) ?? undefined);
      return { json: objectResource(o, origin) };
    }
    if (type === 'resumable') {
      const meta = ((req.body.length ? req.json() : undefined) ?? {}) as Record<string, unknown>;
      const name = q.get('name') ?? (typeof meta.name === 'string' ? meta.name : '');
      if (!name) throw required('');
      // Preconditions are checked when the session starts and again when it completes.
      checkPreconditions(q, st.objects[bucket]?.[name]);
      const id = `ADPyc${randomBytes(24).toString('base64url')}`;
      sessions.set(id, {
        bucket,
        name,
        meta,
        query: new URLSearchParams(q),
        contentType: String(req.headers['x-upload-content-type'] ?? (typeof meta.contentType === 'string' ? meta.contentType : '')),
        chunks: [],
        received: 0,
      });
      const location = new URL(`${origin}${req.path}`);
      for (const [k, v] of q) if (k !== 'upload_id') location.searchParams.append(k, v);
      location.searchParams.set('upload_id', id);
      return { status: 200, headers: { location: location.toString(), 'x-guploader-uploadid': id }, body: '' };
    }
    throw invalid(`Invalid upload type: ${type}`);
  };

  /** 308 Resume Incomplete, with the bytes persisted so far (no Range header before the first). */
  const incomplete = (s: ResumableSession, id: string): SandboxReply => ({
    status: 308,
    headers: { ...(s.received > 0 ? { range: `bytes=0-${s.received - 1}` } : {}), 'x-guploader-uploadid': id },
    body: '',
  });
  const finished = new Map<string, { bucket: string; name: string; generation: string }>();

  const resume = (req: SandboxRequest): SandboxReply => {
    const id = req.query.get('upload_id');
    // A finished session answers every later request with the object it made, as GCS does (200).
    const done = id ? finished.get(id) : undefined;
    if (done) {
      if (req.method === 'DELETE') return { status: 499, body: '' };
      const o = st.objects[done.bucket]?.[done.name];
      if (o && o.generation === done.generation) return { json: objectResource(o, originOf(req, ctx.baseUrl)) };
    }
    const s = id ? sessions.get(id) : undefined;
    if (!s) throw new GcsFailure(404, 'No such upload session.', 'notFound');
    if (req.method === 'DELETE') {
      sessions.delete(id as string);
      return { status: 499, body: '' };
    }
    const cr = String(req.headers['content-range'] ?? '').trim();
    let total: number | undefined;
    let chunkStart = s.received;
    if (cr) {
      const full = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(cr);
      const status = /^bytes \*\/(\d+|\*)$/.exec(cr);
      // "bytes N-*/*": the rest of the object in this one request (a stream of unknown length).
      const streamed = /^bytes (\d+)-\*\/\*$/.exec(cr);
      if (streamed) {
        chunkStart = Number(streamed[1]);
        total = chunkStart + req.body.length;
      } else if (full) {
        chunkStart = Number(full[1]);
        if (full[3] !== '*') total = Number(full[3]);
      } else if (status) {
        if (status[1] !== '*') total = Number(status[1]);
      } else throw invalid(`Invalid Content-Range header: ${cr}`);
    } else {
      total = s.received + req.body.length;
    }
    if (req.body.length > 0) {
      // A chunk that starts past what arrived leaves a gap: GCS answers 308 with what it has.
      if (chunkStart > s.received) return incomplete(s, id as string);
      const skip = s.received - chunkStart;
      if (skip < req.body.length) {
        let take = req.body.subarray(skip);
        const cut = ctx.faults.take('uploadInterrupted', (r) => s.received + take.length > r.afterBytes && (!r.object || new RegExp(r.object).test(s.name)));
        if (cut) {
          const keep = Math.max(0, Math.floor((cut.afterBytes - s.received) / (256 * 1024)) * 256 * 1024);
          take = take.subarray(0, Math.min(keep, take.length));
          s.chunks.push(take);
          s.received += take.length;
          return { status: 503, json: { error: { code: 503, message: 'Backend Error', errors: [{ message: 'Backend Error', domain: 'global', reason: 'backendError' }] } } };
        }
        s.chunks.push(take);
        s.received += take.length;
      }
    }
    if (total !== undefined && s.received > total) throw invalid(`Upload chunk carries more bytes (${s.received}) than the object's declared size (${total}).`);
    if (total !== undefined && s.received === total) {
      const data = Buffer.concat(s.chunks);
      const o = store(s.bucket, s.name, data, s.meta, s.query, s.contentType || undefined);
      sessions.delete(id as string);
      finished.set(id as string, { bucket: o.bucket, name: o.name, generation: o.generation });
      return { json: objectResource(o, originOf(req, ctx.baseUrl)) };
    }
    return incomplete(s, id as string);
  };

  for (const root of ['/upload/storage/v1', '/resumable/upload/storage/v1']) {
    route('POST', `${root}/b/${BUCKET}/o`, 'objects.insert', (req, p) => (req.query.get('upload_id') ? resume(req) : upload(req, p)));
    route('PUT', `${root}/b/${BUCKET}/o`, 'objects.insert', (req) => resume(req));
    route('DELETE', `${root}/b/${BUCKET}/o`, 'objects.insert', (req) => resume(req));
  }
}

const storage: ApiModule = {
  id: 'storage',
  register(ctx: SandboxContext) {
    const parts = storageParts(ctx);
    bucketRoutes(parts);
    objectRoutes(parts);
    uploadRoutes(parts);
  },
};

/** Page through sorted keys: the token is the last key returned (opaque base64 to clients). */
function paginate<T>(entries: T[], q: URLSearchParams, key: (e: T) => string = (e) => String(e), max?: number): { page: T[]; next?: string } {
  const limit = max ?? Math.min(intParam(q, 'maxResults') ?? 1000, 1000);
  const token = q.get('pageToken');
  let rest = entries;
  if (token) {
    let after: string;
    try {
      after = Buffer.from(token, 'base64url').toString('utf8');
    } catch {
      throw invalid('Invalid page token.');
    }
    // Entries are already collapsed under their prefixes, so "after the last key" is exact.
    rest = entries.filter((e) => key(e) > after);
  }
  const page = rest.slice(0, limit || 1000);
  const next = rest.length > page.length && page.length > 0 ? Buffer.from(key(page[page.length - 1] as T), 'utf8').toString('base64url') : undefined;
  return { page, ...(next ? { next } : {}) };
}

export default storage;
