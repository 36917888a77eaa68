/**
 * Node pool snapshots in Cloud Storage.
 *
 *   gs://BUCKET/node-pools/CLUSTER/POOL/TIMESTAMP.json   one snapshot (never overwritten)
 *   gs://BUCKET/node-pools/CLUSTER/POOL/latest.json      pointer to the newest one
 *
 * The pointer is replaced only with `ifGenerationMatch` set to the generation that was read, so two
 * writers racing cannot overwrite each other silently: the loser re-reads and keeps whichever
 * snapshot is newer. The snapshot carries a sha256 checksum of its own canonical JSON.
 */
import { ActionError, describeError } from '../errors.js';
import { ApiError, isNotFound } from '../http.js';
import { info, warning } from '../runner.js';
import { getInstanceGroupManager } from '../google/compute.js';
import { getCluster, getNodePool, type Cluster, type ClusterRef, type NodePool, type NodePoolAutoscaling } from '../google/container.js';
import { deadlineIn } from '../operations.js';
import { CONTRACT_SOURCE } from './contract.generated.js';
import { canonicalJson, createableDefinition, sha256 } from './definition.js';
import { awaitPoolOperations } from './pending.js';
import { bucketExists, isPreconditionFailed, readObject, writeObject } from './store.js';

export const SNAPSHOT_FORMAT = 'mlabs.node-pool-snapshot';
export const SNAPSHOT_FORMAT_VERSION = 1;
export const SNAPSHOT_PREFIX = 'node-pools';

export interface NodePoolSnapshot {
  format: typeof SNAPSHOT_FORMAT;
  formatVersion: number;
  createdAt: string;
  project: string;
  location: string;
  cluster: string;
  pool: string;
  /** The control plane's version when the snapshot was taken. */
  clusterVersion: string;
  /** The pool's node version. */
  poolVersion: string;
  autoscaling: NodePoolAutoscaling | null;
  /** Nodes the pool ran (sum over zones) and where that number came from. */
  nodeCount: number;
  nodeCountSource: 'instance-groups' | 'definition';
  zones: string[];
  /** Which published contract decided the output-only fields. */
  contract: string;
  /** The create-able definition: CreateNodePool's `nodePool`. */
  nodePool: NodePool;
  /** `sha256:<hex>` of the canonical JSON of every other field. */
  checksum: string;
}

export interface LatestPointer {
  formatVersion: number;
  object: string;
  uri: string;
  generation: string;
  checksum: string;
  createdAt: string;
}

export interface SnapshotRef {
  uri: string;
  bucket: string;
  object: string;
  generation: string;
  snapshot: NodePoolSnapshot;
  latestGeneration?: string;
}

export const poolPrefix = (cluster: string, pool: string) => `${SNAPSHOT_PREFIX}/${cluster}/${pool}/`;
export const latestObject = (cluster: string, pool: string) => `${poolPrefix(cluster, pool)}latest.json`;

/** 20250314T120501123Z: sorts as time does, and is safe in object names. */
export function timestampName(d = new Date()): string {
  return d.toISOString().replace(/[-:]/g, '').replace('.', '');
}

export function checksumOf(doc: Omit<NodePoolSnapshot, 'checksum'> & { checksum?: string }): string {
  const { checksum: _ignored, ...rest } = doc;
  return `sha256:${sha256(canonicalJson(rest))}`;
}

/**
 * Live node count: each instance group's targetSize (Compute instanceGroupManagers.get, retried
 * like any call), else, for a pool that lists no instance groups, the definition's per-zone count.
 * A group that cannot be read is an ActionError naming it: nothing is decided on a guess.
 */
export async function liveNodeCount(pool: NodePool): Promise<{ count: number; source: NodePoolSnapshot['nodeCountSource'] }> {
  const urls = pool.instanceGroupUrls ?? [];
  if (urls.length === 0) return { count: Number(pool.initialNodeCount ?? 0) * Math.max(1, pool.locations?.length ?? 1), source: 'definition' };
  let total = 0;
  for (const url of urls) {
    try {
      total += (await getInstanceGroupManager(url)).targetSize;
    } catch (err) {
      const said = err instanceof ApiError ? `${err.httpStatus} ${err.status}: ${err.message}` : describeError(err);
      throw new ActionError(`Could not read the live size of node pool ${pool.name}: instance group ${url} (${said}).`, {
        fix: 'The job\'s service account needs compute.instanceGroupManagers.get (roles/compute.viewer, which the platform IAM grants); re-run once Compute answers. Nothing was changed.',
        cause: err,
      });
    }
  }
  return { count: total, source: 'instance-groups' };
}

/** Build (but do not write) the snapshot of a live pool. */
export async function buildSnapshot(ref: ClusterRef, pool: NodePool, clusterVersion: string, now = new Date()): Promise<NodePoolSnapshot> {
  const nodes = await liveNodeCount(pool);
  const doc: Omit<NodePoolSnapshot, 'checksum'> = {
    format: SNAPSHOT_FORMAT,
    formatVersion: SNAPSHOT_FORMAT_VERSION,
    createdAt: now.toISOString(),
    project: ref.project,
    location: ref.location,
    cluster: ref.cluster,
    pool: pool.name,
    clusterVersion,
    poolVersion: pool.version ?? '',
    autoscaling: pool.autoscaling ?? null,
    nodeCount: nodes.count,
    nodeCountSource: nodes.source,
    zones: pool.locations ?? [],
    contract: CONTRACT_SOURCE,
    nodePool: createableDefinition(pool),
  };
  return { ...doc, checksum: checksumOf(doc) };
}


export async function requireBucket(bucket: string): Promise<void> {
  if (!(await bucketExists(bucket))) {
    throw new ActionError(`Bucket gs://${bucket} does not exist (or this identity cannot see it).`, {
      fix: 'Create the bucket (the platform Terraform does), or pass the right `bucket` input; the service account needs roles/storage.objectAdmin on it.',
    });
  }
}

/**
 * Read the pool and write its snapshot and the latest.json pointer. An operation still running on
 * the pool (an earlier run's create or resize) is waited for first, until `deadline` (default 1 h).
 */
export async function snapshotNodePool(ref: ClusterRef, poolName: string, bucket: string, opts: { deadline?: number } = {}): Promise<SnapshotRef> {
  await requireBucket(bucket);
  const cluster = await requireCluster(ref);
  await awaitPoolOperations(ref, poolName, opts.deadline ?? deadlineIn(3600));
  let pool: NodePool;
  try {
    pool = await getNodePool(ref, poolName);
  } catch (err) {
    if (isNotFound(err)) {
      throw new ActionError(`Node pool ${poolName} does not exist in cluster ${ref.cluster} (${ref.location}, project ${ref.project}); nothing to snapshot.`, {
        fix: `Check the pool name: \`gcloud container node-pools list --cluster ${ref.cluster} --location ${ref.location}\`.`,
        cause: err,
      });
    }
    throw err;
  }
  const snapshot = await buildSnapshot(ref, pool, cluster.currentMasterVersion ?? '');
  return writeSnapshot(bucket, snapshot);
}

/** The cluster, or an ActionError naming the cluster, location and project when it does not exist. */
export async function requireCluster(ref: ClusterRef): Promise<Cluster> {
  try {
    return await getCluster(ref);
  } catch (err) {
    if (isNotFound(err)) throw clusterNotFound(ref, err);
    throw err;
  }
}

function clusterNotFound(ref: ClusterRef, cause?: unknown): ActionError {
  return new ActionError(`Cluster ${ref.cluster} was not found in location ${ref.location} of project ${ref.project}.`, {
    fix: `Check the cluster, location and project_id inputs: \`gcloud container clusters list --project ${ref.project}\`.`,
    cause,
  });
}

/** Write a snapshot object (never overwriting one) and move latest.json to it. */
export async function writeSnapshot(bucket: string, snapshot: NodePoolSnapshot): Promise<SnapshotRef> {
  const created = new Date(snapshot.createdAt);
  let object = `${poolPrefix(snapshot.cluster, snapshot.pool)}${timestampName(created)}.json`;
  const text = `${JSON.stringify(snapshot, null, 2)}\n`;
  let generation: string;
  for (let n = 1; ; n++) {
    try {
      generation = await writeObject(bucket, object, text, '0');
      break;
    } catch (err) {
      if (!isPreconditionFailed(err) || n > 5) throw err;
      object = `${poolPrefix(snapshot.cluster, snapshot.pool)}${timestampName(created)}-${n}.json`;
    }
  }
  const uri = `gs://${bucket}/${object}`;
  info(`Snapshot written: ${uri} (generation ${generation})`);
  const latestGeneration = await movePointer(bucket, snapshot, { formatVersion: SNAPSHOT_FORMAT_VERSION, object, uri, generation, checksum: snapshot.checksum, createdAt: snapshot.createdAt });
  return { uri, bucket, object, generation, snapshot, latestGeneration };
}

/** Replace latest.json only if nobody changed it since we read it; a newer snapshot from another writer wins. */
async function movePointer(bucket: string, snapshot: NodePoolSnapshot, pointer: LatestPointer): Promise<string | undefined> {
  const name = latestObject(snapshot.cluster, snapshot.pool);
  for (let attempt = 1; attempt <= 5; attempt++) {
    const current = await readObject(bucket, name);
    if (current) {
      let theirs: Partial<LatestPointer> = {};
      try {
        theirs = JSON.parse(current.text) as LatestPointer;
      } catch {
        /* unreadable pointer: replace it */
      }
      if (theirs.createdAt && theirs.createdAt > pointer.createdAt) {
        warning(`gs://${bucket}/${name} already points at a newer snapshot (${theirs.uri}); left it there.`);
        return undefined;
      }
    }
    try {
      const gen = await writeObject(bucket, name, `${JSON.stringify(pointer, null, 2)}\n`, current ? current.generation : '0');
      info(`gs://${bucket}/${name} -> ${pointer.uri} (generation ${gen})`);
      return gen;
    } catch (err) {
      if (!isPreconditionFailed(err)) throw err;
      info(`gs://${bucket}/${name} changed while writing (another writer); re-reading`);
    }
  }
  throw new ActionError(`Could not update gs://${bucket}/${name}: it kept changing under concurrent writers.`, {
    fix: 'Re-run; or run one snapshot per pool at a time (the workflows use a concurrency group per cluster+pool).',
  });
}

/** Parse `gs://bucket/object`. */
export function parseGsUri(uri: string): { bucket: string; object: string } | undefined {
  const m = /^gs:\/\/([a-z0-9][a-z0-9._-]{1,220}[a-z0-9])\/(.+)$/.exec(uri);
  return m ? { bucket: m[1] as string, object: m[2] as string } : undefined;
}

/** Load a snapshot (`latest` or a gs:// URI) and verify format and checksum. */
export async function loadSnapshot(bucket: string, cluster: string, pool: string, source: string): Promise<SnapshotRef> {
  let target: { bucket: string; object: string };
  let latestGeneration: string | undefined;
  if (source === 'latest') {
    await requireBucket(bucket);
    const ptr = await readObject(bucket, latestObject(cluster, pool));
    if (!ptr) {
      throw new ActionError(`No snapshot of node pool ${pool} in cluster ${cluster}: gs://${bucket}/${latestObject(cluster, pool)} does not exist.`, {
        fix: 'Take one first (node-pool-snapshot, or node-pool-destroy with snapshot: true), or pass a snapshot URI; check the cluster and pool names.',
      });
    }
    latestGeneration = ptr.generation;
    let pointer: Partial<LatestPointer>;
    try {
      pointer = JSON.parse(ptr.text) as LatestPointer;
    } catch {
      throw new ActionError(`gs://${bucket}/${ptr.name} is not valid JSON.`, { fix: 'Restore from an explicit snapshot URI instead of latest.' });
    }
    if (!pointer.object) throw new ActionError(`gs://${bucket}/${ptr.name} names no snapshot object.`, { fix: 'Restore from an explicit snapshot URI instead of latest.' });
    target = { bucket, object: pointer.object };
  } else {
    const parsed = parseGsUri(source);
    if (!parsed) throw new ActionError(`Snapshot ${JSON.stringify(source)} is neither "latest" nor a gs://BUCKET/OBJECT URI.`);
    target = parsed;
    await requireBucket(target.bucket);
  }
  const obj = await readObject(target.bucket, target.object);
  const uri = `gs://${target.bucket}/${target.object}`;
  if (!obj) throw new ActionError(`Snapshot ${uri} does not exist.`, { fix: `List what there is: \`gcloud storage ls gs://${target.bucket}/${poolPrefix(cluster, pool)}\`.` });
  return { uri, bucket: target.bucket, object: target.object, generation: obj.generation, snapshot: verifySnapshot(obj.text, uri), latestGeneration };
}

/** Parse and verify a snapshot's text: JSON, known format version, checksum. */
export function verifySnapshot(text: string, uri: string): NodePoolSnapshot {
  let doc: NodePoolSnapshot;
  try {
    doc = JSON.parse(text) as NodePoolSnapshot;
  } catch {
    throw new ActionError(`Snapshot ${uri} is not valid JSON (corrupted or truncated).`, { fix: 'Restore from an earlier snapshot URI.' });
  }
  if (doc?.format !== SNAPSHOT_FORMAT || typeof doc.formatVersion !== 'number') {
    throw new ActionError(`${uri} is not a node pool snapshot (format ${JSON.stringify(doc?.format)}).`, { fix: 'Pass a snapshot written by node-pool-snapshot.' });
  }
  if (doc.formatVersion !== SNAPSHOT_FORMAT_VERSION) {
    throw new ActionError(`Snapshot ${uri} has format version ${doc.formatVersion}; this version of the action reads version ${SNAPSHOT_FORMAT_VERSION}.`, {
      fix: doc.formatVersion > SNAPSHOT_FORMAT_VERSION ? 'Use the release of mlabs-actions that wrote it (or newer).' : 'Take a fresh snapshot with this release.',
    });
  }
  const expected = checksumOf(doc);
  if (doc.checksum !== expected) {
    throw new ActionError(`Snapshot ${uri} failed its checksum (recorded ${doc.checksum}, content gives ${expected}): it was changed or corrupted after it was written.`, {
      fix: 'Restore from an earlier snapshot URI; do not edit snapshots by hand.',
    });
  }
  if (!doc.nodePool?.name) throw new ActionError(`Snapshot ${uri} holds no node pool definition.`);
  return doc;
}
