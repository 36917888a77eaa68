/**
 * The one way the suite deletes a node pool and waits for it: waits out another operation on
 * the cluster, and when the delete itself fails and leaves the pool in ERROR (GKE does that),
 * deletes it once more before giving up with the pool's state and what to do.
 */
import { ActionError } from '../errors.js';
import { isNotFound } from '../http.js';
import { warning } from '../runner.js';
import { deleteNodePool, findNodePool, type ClusterRef } from '../google/container.js';
import { OperationFailedError } from '../operations.js';
import { waitForGkeOperation } from '../google/container-operations.js';
import { withClusterLock } from './lock.js';

/** 'absent' when the pool was already gone at the first delete. */
export async function deleteNodePoolAndWait(ref: ClusterRef, name: string, deadline: number): Promise<'deleted' | 'absent'> {
  let failures = 0;
  for (;;) {
    try {
      const op = await withClusterLock(ref, deadline, `delete ${name}`, () => deleteNodePool(ref, name));
      await waitForGkeOperation(ref.project, ref.location, op, { deadline, what: `DELETE_NODE_POOL ${name}` });
      return 'deleted';
    } catch (err) {
      if (isNotFound(err)) return failures === 0 ? 'absent' : 'deleted';
      if (!(err instanceof OperationFailedError)) throw err;
      failures += 1;
      const pool = await findNodePool(ref, name);
      if (!pool) return 'deleted';
      const state = `${pool.status ?? 'an unknown state'}${pool.statusMessage ? ` (${pool.statusMessage})` : ''}`;
      if (failures === 1 && pool.status === 'ERROR') {
        warning(`The delete of node pool ${name} failed (${err.detail}); the pool is in ERROR. Deleting it once more.`);
        continue;
      }
      throw new ActionError(`Deleting node pool ${name} failed${failures > 1 ? ` ${failures} times` : ''}: ${err.detail}. The pool is still there, in ${state}; its nodes may still cost money.`, {
        fix:
          `Re-run this step: a pool in ERROR is deleted again. If it keeps failing, read the operation (gcloud container operations list --location ${ref.location} --filter="targetLink~nodePools/${name}") ` +
          `and delete the pool by hand: gcloud container node-pools delete ${name} --cluster ${ref.cluster} --location ${ref.location}`,
        cause: err,
      });
    }
  }
}
