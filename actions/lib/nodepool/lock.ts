/**
 * GKE allows one mutation per cluster at a time: a second one is refused with HTTP 400
 * FAILED_PRECONDITION "Cluster is running incompatible operation operation-<id>." (ErrorInfo reason
 * CLUSTER_ALREADY_HAS_OPERATION). `withClusterLock` waits for that operation and tries again.
 */
import { ApiError } from '../http.js';
import { info } from '../runner.js';
import type { ClusterRef } from '../google/container.js';
import { OperationFailedError, OperationTimeoutError } from '../operations.js';
import { waitForGkeOperation } from '../google/container-operations.js';

export function blockingOperation(err: unknown): string | undefined {
  if (!(err instanceof ApiError) || err.status !== 'FAILED_PRECONDITION') return undefined;
  if (err.reason !== 'CLUSTER_ALREADY_HAS_OPERATION' && !/incompatible operation/i.test(err.message)) return undefined;
  return /operation-[A-Za-z0-9-]+/.exec(err.message)?.[0] ?? '';
}

export async function withClusterLock<T>(ref: ClusterRef, deadline: number, what: string, fn: () => Promise<T>): Promise<T> {
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      const blocking = blockingOperation(err);
      if (blocking === undefined) throw err;
      if (Date.now() >= deadline) {
        throw new OperationTimeoutError(`${what} (waiting for ${blocking || 'another operation'} on cluster ${ref.cluster})`, 0, undefined);
      }
      info(`${what}: cluster ${ref.cluster} is busy with ${blocking || 'another operation'}; waiting for it to finish`);
      if (blocking) {
        try {
          await waitForGkeOperation(ref.project, ref.location, { name: blocking }, { deadline, what: `operation ${blocking} (blocking ${what})` });
        } catch (e) {
          if (!(e instanceof OperationFailedError)) throw e; // its failure is not ours; retry ours
        }
      } else {
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }
}
