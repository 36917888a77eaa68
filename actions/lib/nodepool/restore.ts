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
  /** `unchanged`: a pool of that name already matches the snapshot, zones included; `moved`: it
   *  matches except its zones, which an earlier `zones: auto` restore changed for lack of capacity. */
  outcome: 'created' | 'unchanged' | 'replaced' | 'moved';
  pool: NodePool;
  zones: string[];
  /** The zones the snapshot recorded (the pool's locations when it was taken). */
  recordedZones: string[];
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
  // The zones the snapshot recorded, and the nodes each had: the pool comes back the same way
  // unless the `zones` input says otherwise (a list), or `auto` finds the recorded zones full.
  const recordedZones = s.zones.length ? [...s.zones] : [...(definition.locations ?? [])];
  if (recordedZones.length) definition.locations = recordedZones;
  const scaled = definition.autoscaling?.enabled === true;
  if (!scaled && s.nodeCountSource === 'instance-groups' && recordedZones.length && s.nodeCount % recordedZones.length === 0) {
    const livePerZone = s.nodeCount / recordedZones.length;
    if (livePerZone !== Number(definition.initialNodeCount ?? 1)) {
      notes.push(`The pool had ${livePerZone} node(s) per zone when the snapshot was taken (created with ${definition.initialNodeCount ?? 1}); restored with ${livePerZone}.`);
      definition.initialNodeCount = livePerZone;
    }
  }
  const perZone = Number(definition.config?.accelerators?.[0]?.acceleratorCount ?? 0) * Number(definition.initialNodeCount ?? 1);
  const spot = definition.config?.spot === true || definition.config?.preemptible === true;
  let candidates: string[][];
  if (opts.zones.mode === 'default') {
    candidates = [recordedZones];
  } else if (opts.zones.mode === 'auto') {
    // The recorded zones first, as one attempt; the ranked zones only when those lack capacity.
    const ranked = await candidateZones(opts.zones, ref.project, cluster, ref.location, { acceleratorType: definition.config?.accelerators?.[0]?.acceleratorType, gpus: perZone, spot });
    candidates = recordedZones.length ? [recordedZones, ...ranked.filter((c) => !sameZones(c, recordedZones))] : ranked;
  } else {
    candidates = await candidateZones(opts.zones, ref.project, cluster, ref.location, { acceleratorType: definition.config?.accelerators?.[0]?.acceleratorType, gpus: perZone, spot });
  }
  const allowed = candidates.flat();

  let outcome: RestoreResult['outcome'] = 'created';
  const adopted = await awaitPoolOperations(ref, definition.name, opts.deadline);
  const current = await findNodePool(ref, definition.name);
  if (current) {
    if (current.status === 'ERROR') {
      notes.push(`Node pool ${definition.name} existed in ERROR (a failed earlier create); deleted it before restoring.`);
      await removeLeftover(ref, definition.name, opts.deadline);
    } else {
      // `unchanged` means the same zones too. Only a `zones` list the caller gave, or an earlier
      // `auto` restore that had to move, accepts a pool in other zones.
      const inAllowed = allowed.length > 0 && (current.locations ?? []).every((z) => allowed.includes(z));
      const ignore = opts.zones.mode === 'list' && inAllowed ? ['locations'] : [];
      const diff = diffDefinitions(definition, createableDefinition(current), ignore);
      if (opts.zones.mode === 'auto' && inAllowed && diff.length > 0 && diff.every((d) => d.path === 'locations') && current.status === 'RUNNING') {
        notes.push(`Node pool ${definition.name} matches the snapshot except its zones: it runs in ${(current.locations ?? []).join(', ')}, the snapshot recorded ${recordedZones.join(', ')} (an earlier zones: auto restore moved it); left as it is. Set replace: true to move it back.`);
        return { outcome: 'moved', pool: current, zones: current.locations ?? [], recordedZones, attempts: [], versionNote, notes };
      }
      if (diff.length === 0) {
        const create = adoptedCreate(adopted);
        if (create && current.status === 'RUNNING') {
          notes.push(`An earlier run's create of ${definition.name} (${create.name}) was still running; this run waited for it, and the pool is RUNNING and matches the snapshot.`);
          return { outcome: 'created', pool: current, zones: current.locations ?? [], recordedZones, attempts: [], versionNote, notes };
        }
        if (current.status !== 'RUNNING') {
          throw new ActionError(`Node pool ${definition.name} matches the snapshot but is ${current.status}${current.statusMessage ? `: ${current.statusMessage}` : ''}.`, {
            fix: 'Re-run once GKE has settled the pool (gcloud container node-pools describe); a pool left in ERROR is deleted and created again.',
          });
        }
        info(`Node pool ${definition.name} already exists and matches the snapshot: nothing to do.`);
        return { outcome: 'unchanged', pool: current, zones: current.locations ?? [], recordedZones, attempts: [], versionNote, notes };
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
  if (recordedZones.length && !sameZones(created.zones, recordedZones)) {
    const lacked = created.attempts.filter((a) => a.outcome !== 'created').map((a) => `${a.zone || 'default zones'}: ${a.outcome}`);
    const nodes = Number(definition.initialNodeCount ?? 1);
    notes.push(
      `The pool runs in ${created.zones.join(', ')}, not the zones the snapshot recorded (${recordedZones.join(', ')})` +
        (opts.zones.mode === 'auto' ? `, because those lacked capacity (${lacked.join('; ') || 'refused'})` : ', as the zones input asked') +
        `: ${nodes} node(s) per zone, ${nodes * created.zones.length} in total instead of ${nodes * recordedZones.length}.`,
    );
  }
  return { outcome, pool: created.pool, zones: created.zones, recordedZones, attempts: created.attempts, versionNote, notes };
}

/** The same set of zones, in any order. */
function sameZones(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((z) => b.includes(z));
}
