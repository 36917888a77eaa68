/**
 * Recreate a node pool from a snapshot: verify it (snapshot.ts), settle version skew, compare with a
 * pool of the same name, then create it with zone failover and wait until it is RUNNING.
 */
import { ActionError } from '../errors.js';
import { info, warning } from '../runner.js';
import { findNodePool, getServerConfig, type Cluster, type ClusterRef, type NodePool } from '../google/container.js';
import { createableDefinition, diffDefinitions, formatDiff, type DiffEntry } from './definition.js';
import { deleteNodePoolAndWait } from './delete.js';
import { createWithFailover, removeLeftover, type Attempt } from './failover.js';
import { adoptedCreate, awaitPoolOperations } from './pending.js';
import type { SnapshotRef } from './snapshot.js';
import { chooseNodeVersion } from './version.js';
import { candidateZones, type ZonesInput } from './zones.js';

export interface RestoreOptions {
  zones: ZonesInput;
  replace: boolean;
  deadline: number;
  /** The account the restored nodes run as, instead of the snapshot's. */
  serviceAccount?: string;
}

export interface RestoreResult {
  outcome: 'created' | 'unchanged' | 'replaced';
  pool: NodePool;
  zones: string[];
  attempts: Attempt[];
  versionNote?: string;
  diff?: DiffEntry[];
  notes: string[];
}

export async function restoreNodePool(ref: ClusterRef, cluster: Cluster, snap: SnapshotRef, opts: RestoreOptions): Promise<RestoreResult> {
  const notes: string[] = [];
  const s = snap.snapshot;
  const definition = structuredClone(s.nodePool);
  if (opts.serviceAccount && definition.config?.serviceAccount !== opts.serviceAccount) {
    if (definition.config?.serviceAccount) notes.push(`The snapshot's nodes ran as ${definition.config.serviceAccount}; the restored pool runs as ${opts.serviceAccount} (input service_account).`);
    definition.config = { ...definition.config, serviceAccount: opts.serviceAccount };
  }
  if (s.cluster !== ref.cluster || s.location !== ref.location || s.project !== ref.project) {
    notes.push(`The snapshot was taken from ${s.project}/${s.location}/${s.cluster}; restoring into ${ref.project}/${ref.location}/${ref.cluster}.`);
  }
  // Version skew.
  let versionNote: string | undefined;
  if (definition.version) {
    const server = await getServerConfig(ref.project, ref.location);
    const choice = chooseNodeVersion(definition.version, cluster.currentMasterVersion ?? '', server.validNodeVersions ?? []);
    if (choice.note) {
      versionNote = choice.note;
      warning(choice.note);
      definition.version = choice.version;
    }
  }
  const perZone = Number(definition.config?.accelerators?.[0]?.acceleratorCount ?? 0) * Number(definition.initialNodeCount ?? 1);
  const spot = definition.config?.spot === true || definition.config?.preemptible === true;
  const candidates = await candidateZones(opts.zones, ref.project, cluster, ref.location, { acceleratorType: definition.config?.accelerators?.[0]?.acceleratorType, gpus: perZone, spot });
  const allowed = candidates.flat();

  let outcome: RestoreResult['outcome'] = 'created';
  const adopted = await awaitPoolOperations(ref, definition.name, opts.deadline);
  const current = await findNodePool(ref, definition.name);
  if (current) {
    if (current.status === 'ERROR') {
      notes.push(`Node pool ${definition.name} existed in ERROR (a failed earlier create); deleted it before restoring.`);
      await removeLeftover(ref, definition.name, opts.deadline);
    } else {
      const ignore: string[] = [];
      const zonesOk = allowed.length === 0 ? false : (current.locations ?? []).every((z) => allowed.includes(z));
      if (zonesOk) ignore.push('locations');
      const diff = diffDefinitions(definition, createableDefinition(current), ignore);
      if (diff.length === 0) {
        const create = adoptedCreate(adopted);
        if (create && current.status === 'RUNNING') {
          notes.push(`An earlier run's create of ${definition.name} (${create.name}) was still running; this run waited for it, and the pool is RUNNING and matches the snapshot.`);
          return { outcome: 'created', pool: current, zones: current.locations ?? [], attempts: [], versionNote, notes };
        }
        if (current.status !== 'RUNNING') {
          throw new ActionError(`Node pool ${definition.name} matches the snapshot but is ${current.status}${current.statusMessage ? `: ${current.statusMessage}` : ''}.`, {
            fix: 'Re-run once GKE has settled the pool (gcloud container node-pools describe); a pool left in ERROR is deleted and created again.',
          });
        }
        info(`Node pool ${definition.name} already exists and matches the snapshot: nothing to do.`);
        return { outcome: 'unchanged', pool: current, zones: current.locations ?? [], attempts: [], versionNote, notes };
      }
      if (!opts.replace) {
        throw Object.assign(
          new ActionError(`Node pool ${definition.name} already exists and differs from the snapshot in ${diff.length} field(s):\n${formatDiff(diff)}`, {
            fix: 'Set `replace: true` to delete it and recreate it from the snapshot, or restore under another pool name.',
          }),
          { diff },
        );
      }
      info(`Replacing node pool ${definition.name} (${diff.length} field(s) differ):\n${formatDiff(diff)}`);
      await deleteNodePoolAndWait(ref, definition.name, opts.deadline);
      outcome = 'replaced';
      notes.push(`Replaced the existing pool; it differed in: ${diff.map((d) => d.path).join(', ')}.`);
    }
  }
  const created = await createWithFailover(ref, definition, candidates, { deadline: opts.deadline });
  if (created.pool.status !== 'RUNNING') {
    throw new ActionError(`Node pool ${definition.name} was created but is ${created.pool.status}: ${created.pool.statusMessage ?? ''}`);
  }
  return { outcome, pool: created.pool, zones: created.zones, attempts: created.attempts, versionNote, notes };
}
