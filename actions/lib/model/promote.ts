/**
 * Promote a model from the private side (MLflow registry + MinIO) to Cloud Storage:
 * resolve the version, pass the gate and the file-kind check (nothing moves before both),
 * then stream each file S3 → GCS in chunks through a resumable session (no file staged on disk;
 * memory is `parallel` chunks), skip files already there with the same source checksum,
 * verify every object (MD5 against the source's ETag, MD5 and CRC32C against what GCS computed),
 * write manifest.json last, and tag the version `mlabs.promoted` with the URI.
 */
import type { Hash } from 'node:crypto';
import { ActionError, describeError } from '../errors.js';
import { ApiError, RETRYABLE_STATUS } from '../http.js';
import { info, warning } from '../runner.js';
import * as gcs from '../google/storage.js';
import { checkFileKinds, gateModelVersion, gateS3Source, TAG_PROMOTED, type DataClass, type GateDecision } from './gate.js';
import { MlflowClient, type ModelVersion } from './mlflow.js';
import { parseS3Uri, S3Client, type S3ObjectInfo } from './s3.js';

export const MANIFEST = 'manifest.json';
/** GCS custom metadata on each promoted object: the source's ETag and the bytes' SHA-256. */
export const META_SOURCE_ETAG = 'mlabs-source-etag';
export const META_SHA256 = 'mlabs-sha256';

export type ModelRef = { kind: 'registry'; name: string; version?: string; alias?: string } | { kind: 's3'; uri: string; bucket: string; prefix: string };

/** `models:/NAME/VERSION`, `models:/NAME@alias`, or `s3://bucket/prefix`; undefined when it is none of these. */
export function parseModelUri(raw: string): ModelRef | undefined {
  let m = /^models:\/([A-Za-z0-9][A-Za-z0-9_.-]{0,255})\/(\d+)$/.exec(raw);
  if (m) return { kind: 'registry', name: m[1] as string, version: m[2] as string };
  m = /^models:\/([A-Za-z0-9][A-Za-z0-9_.-]{0,255})@([A-Za-z0-9_-]{1,255})$/.exec(raw);
  if (m) return { kind: 'registry', name: m[1] as string, alias: m[2] as string };
  const s3 = parseS3Uri(raw);
  if (s3) return { kind: 's3', uri: raw, ...s3 };
  return undefined;
}

/** `gs://bucket/prefix/` (prefix ends in '/'). */
export function parseGcsPrefix(raw: string): { bucket: string; prefix: string } | undefined {
  const m = /^gs:\/\/([a-z0-9][a-z0-9._-]{1,220}[a-z0-9])\/([!-~]*)$/.exec(raw);
  if (!m) return undefined;
  const prefix = (m[2] as string).replace(/^\/+/, '');
  return { bucket: m[1] as string, prefix: prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/` };
}

export interface PromoteOptions {
  ref: ModelRef;
  /** gs://bucket/prefix/; default gs://<project>-models/NAME/VERSION/. */
  destination?: string;
  project: string;
  dataClass: DataClass | '';
  allow: string[];
  parallel: number;
  chunkBytes: number;
  mlflow?: MlflowClient;
  s3: S3Client;
  /** Attempts to resume one file's upload after interruptions. */
  resumeAttempts?: number;
}

export interface PromotedFile {
  path: string;
  size: number;
  sha256: string;
  md5: string;
  crc32c: string;
  copied: boolean;
  resumed: number;
}

export interface PromoteResult {
  uri: string;
  manifestUri: string;
  model?: { name: string; version: string; runId: string };
  source: string;
  gate: GateDecision;
  files: PromotedFile[];
  bytes: number;
  skipped: number;
  seconds: number;
  manifestWritten: boolean;
  tagged: boolean;
}

interface Resolved {
  version?: ModelVersion;
  runId?: string;
  gate: GateDecision;
  bucket: string;
  prefix: string;
  source: string;
  /** A runs:/ source: its files are listed through MLflow's artifacts API (run and path), read from S3. */
  artifacts?: { runId: string; path: string };
}

async function resolve(o: PromoteOptions): Promise<Resolved> {
  if (o.ref.kind === 's3') {
    const gate = gateS3Source(o.ref.uri, o.dataClass);
    const prefix = o.ref.prefix === '' || o.ref.prefix.endsWith('/') ? o.ref.prefix : `${o.ref.prefix}/`;
    return { gate, bucket: o.ref.bucket, prefix, source: `s3://${o.ref.bucket}/${prefix}` };
  }
  const client = o.mlflow as MlflowClient;
  const v = o.ref.alias ? await client.versionByAlias(o.ref.name, o.ref.alias) : await client.modelVersion(o.ref.name, o.ref.version as string);
  const run = await client.run(v.runId);
  const gate = gateModelVersion(v.name, v.version, v.runId, run.tags, v.tags);
  // runs:/<run>/<path>: MLflow says which files the version holds; the bytes are under that run's
  // artifact root on the local MinIO.
  const runsUri = /^runs:\/([^/]+)\/?(.*)$/.exec(v.source);
  if (runsUri) {
    const runId = runsUri[1] as string;
    const path = (runsUri[2] ?? '').replace(/^\/+|\/+$/g, '');
    const owner = runId === run.runId ? run : await client.run(runId);
    const root = parseS3Uri(owner.artifactUri);
    if (!root) {
      throw new ActionError(`${v.name} version ${v.version}'s artifacts are at ${v.source}, and run ${runId} keeps its artifacts at ${owner.artifactUri}, which is not on the local MinIO (s3://...).`, {
        fix: 'Log the model with an S3 artifact store (mlflow server --default-artifact-root s3://mlflow/), or promote an s3:// URI directly.',
      });
    }
    const base = root.prefix.replace(/\/+$/, '');
    const prefix = [base, path].filter(Boolean).join('/');
    return { version: v, runId: v.runId, gate, bucket: root.bucket, prefix: prefix ? `${prefix}/` : '', source: `runs:/${runId}/${path ? `${path}/` : ''}`, artifacts: { runId, path } };
  }
  if (v.source.startsWith('mlflow-artifacts:')) {
    throw new ActionError(`${v.name} version ${v.version}'s artifacts are at ${v.source}, behind MLflow's artifact proxy, whose store promote cannot read and verify by ETag.`, {
      fix: 'Run the MLflow server with an S3 artifact root the job can read (mlflow server --default-artifact-root s3://mlflow/ --no-serve-artifacts), or promote an s3:// URI directly.',
    });
  }
  const src = parseS3Uri(v.source) ?? parseS3Uri(`${run.artifactUri}/model`);
  if (!src) {
    throw new ActionError(`${v.name} version ${v.version}'s artifacts are at ${v.source}, which is not on the local MinIO (s3://...).`, {
      fix: 'Log the model with an S3 artifact store (mlflow server --default-artifact-root s3://mlflow/), or promote an s3:// URI directly.',
    });
  }
  const prefix = src.prefix === '' || src.prefix.endsWith('/') ? src.prefix : `${src.prefix}/`;
  return { version: v, runId: v.runId, gate, bucket: src.bucket, prefix, source: `s3://${src.bucket}/${prefix}` };
}

/** The S3 ETag of bytes as they stream: plain MD5, or MD5-of-part-MD5s for a multipart object. */
class EtagCheck {
  private readonly whole = process.getBuiltinModule('node:crypto').createHash('md5');
  private part: Hash = process.getBuiltinModule('node:crypto').createHash('md5');
  private inPart = 0;
  private readonly partDigests: Buffer[] = [];
  constructor(
    private readonly partSize: number | undefined,
    private readonly parts: number | undefined,
  ) {}

  update(buf: Buffer): void {
    this.whole.update(buf);
    if (!this.partSize) return;
    let at = 0;
    while (at < buf.length) {
      const take = Math.min(this.partSize - this.inPart, buf.length - at);
      this.part.update(buf.subarray(at, at + take));
      this.inPart += take;
      at += take;
      if (this.inPart === this.partSize) {
        this.partDigests.push(this.part.digest());
        this.part = process.getBuiltinModule('node:crypto').createHash('md5');
        this.inPart = 0;
      }
    }
  }

  private result?: [string, string];

  /** [md5 base64 of the bytes, the ETag they give]; the same answer on every call. */
  finish(): [string, string] {
    this.result ??= this.compute();
    return this.result;
  }

  private compute(): [string, string] {
    const md5 = this.whole.digest();
    if (!this.partSize) return [md5.toString('base64'), md5.toString('hex')];
    if (this.inPart > 0) this.partDigests.push(this.part.digest());
    const etag = `${process.getBuiltinModule('node:crypto').createHash('md5').update(Buffer.concat(this.partDigests)).digest('hex')}-${this.parts ?? this.partDigests.length}`;
    return [md5.toString('base64'), etag];
  }
}

/**
 * Resumable sessions that outlive a run: an upload cut by a killed job resumes in the next run
 * instead of restarting. Each session URI is kept in a root-only file under the runner's tool
 * cache (on the machines a named volume that outlives the runner's containers), named by a hash of
 * the destination object, the source ETag and the size: a changed source never resumes an old
 * session. Kept on the runner, not next to the model in the bucket: a session URI lets whoever
 * holds it write the object. GCS keeps a session a week; an expired one is forgotten and the
 * upload restarts.
 */
class SessionStore {
  private readonly dir: string;
  constructor(root: string) {
    this.dir = process.getBuiltinModule('node:path').join(root, 'mlabs-model-promote', 'sessions');
  }

  private file(dest: string, etag: string, size: number): string {
    const id = process.getBuiltinModule('node:crypto').createHash('sha256').update(`${dest}\n${etag}\n${size}`).digest('hex');
    return process.getBuiltinModule('node:path').join(this.dir, `${id}.json`);
  }

  find(dest: string, etag: string, size: number): string | undefined {
    try {
      const saved = JSON.parse(process.getBuiltinModule('node:fs').readFileSync(this.file(dest, etag, size), 'utf8')) as { session?: unknown; dest?: unknown };
      return typeof saved.session === 'string' && saved.dest === dest ? saved.session : undefined;
    } catch {
      return undefined;
    }
  }

  keep(dest: string, etag: string, size: number, session: string): void {
    const fs = process.getBuiltinModule('node:fs');
    try {
      fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
      fs.writeFileSync(this.file(dest, etag, size), JSON.stringify({ dest, etag, size, session }), { mode: 0o600 });
    } catch (err) {
      warning(`Could not keep the upload session of ${dest} for a later run (${describeError(err)}); an interruption would restart it.`);
    }
  }

  forget(dest: string, etag: string, size: number): void {
    process.getBuiltinModule('node:fs').rmSync(this.file(dest, etag, size), { force: true });
  }
}

function sessionStore(): SessionStore {
  return new SessionStore(process.env.RUNNER_TOOL_CACHE || process.getBuiltinModule('node:os').tmpdir());
}

function isRetryable(err: unknown): boolean {
  return err instanceof ApiError && (err.httpStatus === 0 || RETRYABLE_STATUS.has(err.httpStatus));
}

/** Copy one object S3 → GCS through a resumable session, resuming from what the session holds after an interruption. */
async function copyOne(o: PromoteOptions, r: Resolved, dest: { bucket: string; prefix: string }, obj: S3ObjectInfo, rel: string): Promise<PromotedFile> {
  const name = `${dest.prefix}${rel}`;
  const multipart = /-\d+$/.test(obj.etag);
  let partSize: number | undefined;
  let parts: number | undefined;
  if (multipart) {
    const h = await o.s3.head(r.bucket, obj.key, 1);
    partSize = h.size;
    parts = h.parts;
  }
  const singleMd5 = multipart ? undefined : Buffer.from(obj.etag, 'hex').toString('base64');
  const store = sessionStore();
  const where = `gs://${dest.bucket}/${name}`;
  let offset = 0;
  let resumed = 0;
  // A session an earlier run left for these very bytes: continue from what it holds.
  let session = store.find(where, obj.etag, obj.size);
  if (session) {
    try {
      const st = await gcs.queryUpload(session, obj.size);
      if (st.done) {
        // It finished, but that run ended before recording the SHA-256: copy again, cleanly.
        store.forget(where, obj.etag, obj.size);
        session = undefined;
      } else {
        offset = st.persisted;
        resumed++;
        info(`${rel}: resuming the upload an earlier run left, from byte ${offset} of ${obj.size}`);
      }
    } catch (err) {
      if (!(err instanceof ApiError && (err.httpStatus === 404 || err.httpStatus === 410))) throw err;
      info(`${rel}: the upload session an earlier run left has expired (${describeError(err)}); starting again`);
      store.forget(where, obj.etag, obj.size);
      session = undefined;
    }
  }
  session ??= await gcs.startResumableUpload(dest.bucket, name, {
    contentType: rel.endsWith('.json') ? 'application/json' : 'application/octet-stream',
    metadata: { [META_SOURCE_ETAG]: obj.etag },
    size: obj.size,
    ...(singleMd5 ? { md5Hash: singleMd5 } : {}),
  });
  if (offset === 0) store.keep(where, obj.etag, obj.size, session);
  const sha = process.getBuiltinModule('node:crypto').createHash('sha256');
  const etag = new EtagCheck(partSize, parts);
  const crc = new gcs.Crc32c();
  let hashed = 0;
  // The bytes the session already holds are read again from S3 (not sent) so every hash covers the whole object.
  while (hashed < offset) {
    const part = await o.s3.range(r.bucket, obj.key, hashed, Math.min(hashed + o.chunkBytes, offset) - 1);
    sha.update(part);
    etag.update(part);
    crc.update(part);
    hashed += part.length;
  }
  const attempts = o.resumeAttempts ?? 5;
  let finished: gcs.GcsObject | undefined;
  try {
    while (!finished) {
      const end = Math.min(offset + o.chunkBytes, obj.size) - 1;
      const chunk = obj.size === 0 || offset >= obj.size ? Buffer.alloc(0) : await o.s3.range(r.bucket, obj.key, offset, end);
      // Hash each source byte once, in order, even when a resume re-reads some.
      if (offset + chunk.length > hashed) {
        const fresh = chunk.subarray(hashed - offset);
        sha.update(fresh);
        etag.update(fresh);
        crc.update(fresh);
        hashed += fresh.length;
      }
      const last = end + 1 >= obj.size;
      let md5: string | undefined;
      if (last) {
        // Every byte is hashed before the last chunk goes: a mismatch cancels the session, so no object is made.
        const [m, computedEtag] = etag.finish();
        md5 = m;
        if (computedEtag !== obj.etag) {
          await gcs.cancelUpload(session);
          store.forget(where, obj.etag, obj.size);
          throw new ActionError(`Checksum mismatch on ${rel}: the bytes read from s3://${r.bucket}/${obj.key} give ETag ${computedEtag}, the source says ${obj.etag}. Nothing was written for it.`, {
            fix: 'The source object changed or was corrupted in transit; re-run the step. If it fails again, the object on MinIO is damaged: re-log the model.',
          });
        }
      }
      let state: gcs.UploadState;
      try {
        state = await gcs.sendChunk(session, chunk, offset, last ? obj.size : undefined);
      } catch (err) {
        if (!isRetryable(err) || resumed >= attempts) throw err;
        resumed++;
        state = await gcs.queryUpload(session, last ? obj.size : undefined);
        warning(`${rel}: upload interrupted at byte ${offset + chunk.length} (${describeError(err)}); the session holds ${state.done ? obj.size : state.persisted} bytes, resuming from there`);
      }
      if (state.done) {
        finished = state.object;
        if (md5 === undefined) md5 = etag.finish()[0];
        if (finished.md5Hash && finished.md5Hash !== md5) throw new ActionError(`Checksum mismatch on ${rel}: Cloud Storage computed MD5 ${finished.md5Hash}, the source bytes give ${md5}.`, { fix: 'Re-run the step.' });
        if (finished.crc32c && finished.crc32c !== crc.base64()) throw new ActionError(`Checksum mismatch on ${rel}: Cloud Storage computed CRC32C ${finished.crc32c}, the source bytes give ${crc.base64()}.`, { fix: 'Re-run the step.' });
        break;
      }
      offset = state.persisted;
    }
  } catch (err) {
    if (err instanceof ApiError && /doesn't match calculated MD5/.test(err.message)) {
      throw new ActionError(`Checksum mismatch on ${rel}: Cloud Storage refused it (${err.message}). Nothing was written for it.`, { fix: 'Re-run the step; if it fails again, the source object is damaged.' });
    }
    throw err;
  }
  store.forget(where, obj.etag, obj.size);
  const sha256 = sha.digest('hex');
  await gcs.patchMetadata(dest.bucket, name, { [META_SHA256]: sha256 }, { ifGenerationMatch: finished.generation });
  return { path: rel, size: obj.size, sha256, md5: finished.md5Hash ?? '', crc32c: finished.crc32c ?? '', copied: true, resumed };
}

/** Run `fn` over `items` with at most `limit` at once; the first failure stops new starts and is thrown after the rest settle. */
async function pool<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  let failure: unknown;
  const worker = async (): Promise<void> => {
    while (failure === undefined && next < items.length) {
      const i = next++;
      try {
        out[i] = await fn(items[i] as T);
      } catch (err) {
        failure ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure !== undefined) throw failure;
  return out;
}

export function manifestOf(res: Omit<PromoteResult, 'manifestUri' | 'seconds' | 'manifestWritten' | 'tagged' | 'bytes' | 'skipped'>): Record<string, unknown> {
  return {
    schema: 'mlabs.model-manifest/v1',
    uri: res.uri,
    source: res.source,
    ...(res.model ? { model: res.model.name, version: res.model.version, run_id: res.model.runId } : {}),
    data_class: res.gate.dataClass,
    gate_evidence: res.gate.evidence,
    deidentified: res.gate.deidentified ? { by: res.gate.deidentified.by, at: res.gate.deidentified.at } : null,
    files: res.files.map((f) => ({ path: f.path, size: f.size, sha256: f.sha256, md5: f.md5, crc32c: f.crc32c })),
  };
}

/**
 * The files of a runs:/ source as MLflow's artifacts API lists them, each with its S3 ETag and size
 * (HeadObject on the run's artifact store), which the copy verifies against; MLflow and the store
 * must agree on each size.
 */
async function listThroughMlflow(o: PromoteOptions, r: Resolved, a: { runId: string; path: string }): Promise<S3ObjectInfo[]> {
  const files = await (o.mlflow as MlflowClient).listArtifacts(a.runId, a.path);
  const out: S3ObjectInfo[] = [];
  for (const f of files) {
    const rel = a.path ? f.path.slice(a.path.length + 1) : f.path;
    const key = `${r.prefix}${rel}`;
    const head = await o.s3.head(r.bucket, key);
    if (head.size !== f.size) {
      throw new ActionError(`MLflow lists ${r.source}${rel} with ${f.size} bytes, but s3://${r.bucket}/${key} holds ${head.size}.`, {
        fix: 'The run\'s artifacts changed after MLflow listed them, or the artifact root is not the one MLflow writes to; re-run the step, then check the run\'s artifact_uri.',
      });
    }
    out.push({ key, size: head.size, etag: head.etag });
  }
  return out;
}

export async function promote(o: PromoteOptions): Promise<PromoteResult> {
  const started = Date.now();
  const r = await resolve(o);
  const modelName = r.version?.name ?? (o.ref.kind === 's3' ? '' : o.ref.name);
  const destRaw = o.destination || (r.version ? `gs://${o.project}-models/${r.version.name}/${r.version.version}/` : '');
  const dest = parseGcsPrefix(destRaw);
  if (!dest || dest.prefix === '') {
    throw new ActionError(`No destination for ${r.source}: ${destRaw ? `${JSON.stringify(destRaw)} is not a gs://bucket/prefix/ URI` : 'an s3:// source needs the destination input'}.`, {
      fix: `Pass destination: gs://${o.project}-models/${modelName || 'NAME'}/VERSION/.`,
    });
  }
  const uri = `gs://${dest.bucket}/${dest.prefix}`;
  const listed = r.artifacts ? await listThroughMlflow(o, r, r.artifacts) : (await o.s3.list(r.bucket, r.prefix)).filter((x) => !x.key.endsWith('/'));
  if (listed.length === 0) {
    throw new ActionError(`No files under ${r.source}: the model's artifacts are empty or elsewhere.`, { fix: 'Check the model version\'s source in MLflow (or the s3:// URI).' });
  }
  const rels = listed.map((x) => x.key.slice(r.prefix.length));
  checkFileKinds(rels, o.allow);
  if (rels.includes(MANIFEST)) throw new ActionError(`The model's artifacts already hold a ${MANIFEST}, the name promote writes last.`, { fix: `Rename ${r.source}${MANIFEST} in the artifacts.` });
  info(`Gate: ${r.gate.dataClass} (${r.gate.evidence}); ${listed.length} model files to ${uri}`);

  // What is there already: same source ETag and size, with its SHA-256 on record, is skipped.
  const present = new Map((await gcs.listObjects(dest.bucket, { prefix: dest.prefix })).objects.map((x) => [x.name, x]));
  const todo: { obj: S3ObjectInfo; rel: string }[] = [];
  const skippedFiles: PromotedFile[] = [];
  listed.forEach((obj, i) => {
    const rel = rels[i] as string;
    const have = present.get(`${dest.prefix}${rel}`);
    const sha = have?.metadata?.[META_SHA256];
    if (have && sha && have.size === obj.size && have.metadata?.[META_SOURCE_ETAG] === obj.etag) {
      skippedFiles.push({ path: rel, size: obj.size, sha256: sha, md5: have.md5Hash ?? '', crc32c: have.crc32c ?? '', copied: false, resumed: 0 });
    } else todo.push({ obj, rel });
  });
  // A manifest says "whole": it goes before anything under it changes, and comes back last.
  const oldManifest = present.get(`${dest.prefix}${MANIFEST}`);
  if (todo.length && oldManifest) await gcs.deleteObject(dest.bucket, `${dest.prefix}${MANIFEST}`, { ifGenerationMatch: oldManifest.generation });

  const copied = await pool(todo, o.parallel, ({ obj, rel }) => copyOne(o, r, dest, obj, rel));
  const files = [...skippedFiles, ...copied].sort((a, b) => (a.path < b.path ? -1 : 1));
  const base = { uri, source: r.source, gate: r.gate, files, ...(r.version ? { model: { name: r.version.name, version: r.version.version, runId: r.version.runId } } : {}) };
  const manifestText = `${JSON.stringify(manifestOf(base), null, 2)}\n`;
  const manifestName = `${dest.prefix}${MANIFEST}`;
  let manifestWritten = false;
  const current = todo.length ? undefined : oldManifest;
  if (!current || current.md5Hash !== process.getBuiltinModule('node:crypto').createHash('md5').update(manifestText).digest('base64')) {
    await gcs.upload(dest.bucket, manifestName, manifestText, { contentType: 'application/json', ...(current ? { ifGenerationMatch: current.generation } : {}) });
    manifestWritten = true;
  }
  let tagged = false;
  if (r.version && o.mlflow && r.version.tags[TAG_PROMOTED] !== uri) {
    await o.mlflow.setVersionTag(r.version.name, r.version.version, TAG_PROMOTED, uri);
    tagged = true;
  }
  return {
    ...base,
    manifestUri: `gs://${dest.bucket}/${manifestName}`,
    bytes: copied.reduce((n, f) => n + f.size, 0),
    skipped: skippedFiles.length,
    seconds: Math.round((Date.now() - started) / 100) / 10,
    manifestWritten,
    tagged,
  };
}

