/**
 * A re-run of a node-pool action can find the operation an earlier, interrupted run started
 * (a create still PROVISIONING the pool, a delete still STOPPING it). Every pool action first
 * waits for such an operation, then judges the pool as it is once that operation has ended.
 */
import { info, warning } from '../runner.js';
import { listOperations, targetsNodePool, type ClusterRef } from '../google/container.js';
import { OperationFailedError } from '../operations.js';
import { waitForGkeOperation } from '../google/container-operations.js';

export interface AdoptedOperation {
  /** The operation's short name, e.g. operation-1234-abcd. */
  name: string;
  /** CREATE_NODE_POOL, DELETE_NODE_POOL, SET_NODE_POOL_SIZE, ... */
  operationType: string;
  /** The operation's failure text when it ended failed. */
  failed?: string;
}

/**
 * Wait for every operation on node pool `pool` that is not DONE (GKE's operations list for the
 * location, filtered to operations whose targetLink is the pool). A failed one is returned, not
 * thrown: the caller judges the pool it left (e.g. in ERROR). The deadline applies.
 */
export async function awaitPoolOperations(ref: ClusterRef, pool: string, deadline: number): Promise<AdoptedOperation[]> {
  const running = (await listOperations(ref.project, ref.location)).filter((op) => op.status !== 'DONE' && targetsNodePool(op, ref, pool));
  const adopted: AdoptedOperation[] = [];
  for (const op of running) {
    const short = op.name.split('/').pop() as string;
    const type = op.operationType ?? 'operation';
    info(`Node pool ${pool} has ${type} ${short} still running (started before this run); waiting for it to end before looking at the pool.`);
    const entry: AdoptedOperation = { name: short, operationType: type };
    try {
      await waitForGkeOperation(ref.project, ref.location, op, { deadline, what: `${type} ${pool} (started before this run)` });
    } catch (err) {
      if (!(err instanceof OperationFailedError)) throw err;
      entry.failed = err.detail;
      warning(`${type} ${short} on node pool ${pool} ended failed: ${err.detail}`);
    }
    adopted.push(entry);
  }
  return adopted;
}

/** Whether an earlier run's create of the pool was waited for here and succeeded. */
export function adoptedCreate(adopted: AdoptedOperation[]): AdoptedOperation | undefined {
  return adopted.find((a) => a.operationType === 'CREATE_NODE_POOL' && a.failed === undefined);
}
