/**
 * Delete a node pool, snapshotting it first. Reused by cost-cleanup and platform-destroy:
 * `destroyNodePool(ref, pool, { bucket, force, deadline })`.
 */
import { ActionError } from '../errors.js';
import { isNotFound } from '../http.js';
import { info } from '../runner.js';
import { getNodePool, listNodePools, type ClusterRef, type NodePool } from '../google/container.js';
import { deleteNodePoolAndWait } from './delete.js';
import { awaitPoolOperations } from './pending.js';
import { requireCluster, snapshotNodePool, type SnapshotRef } from './snapshot.js';
import { isManaged, MANAGED_LABEL } from './spec.js';

export interface DestroyOptions {
  /** Snapshot to this bucket first; undefined = no snapshot. */
  bucket?: string;
  /** Delete even the cluster's last pool or a pool without the suite's label. */
  force?: boolean;
  deadline: number;
}

export interface DestroyResult {
  outcome: 'deleted' | 'absent';
  /** The pool as it was (undefined when absent). */
  pool?: NodePool;
  snapshot?: SnapshotRef;
  note?: string;
}


export async function destroyNodePool(ref: ClusterRef, name: string, opts: DestroyOptions): Promise<DestroyResult> {
  await requireCluster(ref);
  const adopted = await awaitPoolOperations(ref, name, opts.deadline);
  let pool: NodePool;
  try {
    pool = await getNodePool(ref, name);
  } catch (err) {
    if (!isNotFound(err)) throw err;
    const earlier = adopted.find((a) => a.operationType === 'DELETE_NODE_POOL' && a.failed === undefined);
    if (earlier) {
      const note = `Node pool ${name} was deleted by ${earlier.name}, the delete an earlier run started; this run waited for it to finish.`;
      info(note);
      return { outcome: 'deleted', note };
    }
    const note = `Node pool ${name} does not exist in cluster ${ref.cluster}: nothing to delete.`;
    info(note);
    return { outcome: 'absent', note };
  }
  if (!opts.force) {
    const others = (await listNodePools(ref)).filter((p) => p.name !== name && p.status !== 'STOPPING');
    if (others.length === 0) {
      throw new ActionError(`Refusing to delete node pool ${name}: it is the last node pool of cluster ${ref.cluster}, and a cluster without nodes cannot run its system workloads.`, {
        fix: 'Set `force: true` if that is really wanted.',
      });
    }
    if (!isManaged(pool)) {
      throw new ActionError(`Refusing to delete node pool ${name}: it does not carry the label ${MANAGED_LABEL}=true, so the suite did not create it.`, {
        fix: `Set \`force: true\` to delete it anyway, or label it: gcloud container node-pools update ${name} --cluster ${ref.cluster} --location ${ref.location} --node-labels=${MANAGED_LABEL}=true`,
      });
    }
  }
  const snapshot = opts.bucket ? await snapshotNodePool(ref, name, opts.bucket, { deadline: opts.deadline }) : undefined;
  if ((await deleteNodePoolAndWait(ref, name, opts.deadline)) === 'absent') {
    return { outcome: 'absent', pool, snapshot, note: `Node pool ${name} disappeared while it was being deleted (another run deleted it).` };
  }
  return { outcome: 'deleted', pool, snapshot };
}
