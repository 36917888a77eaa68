/**
 * Create a node pool, zone by zone, until one has the capacity. A GPU stockout is not refused at
 * request time: the CREATE_NODE_POOL operation runs, fails, and leaves the pool in ERROR, which must
 * be deleted before trying elsewhere. Quota shortfalls and accelerators a zone does not offer are
 * refused at once. Every attempt is recorded; after a total failure nothing is left behind.
 */
import { retryBaseMs } from '../config.js';
import { permissionError } from '../google/iam-denial.js';
import { ActionError, describeError } from '../errors.js';
import { ApiError } from '../http.js';
import { info, warning } from '../runner.js';
import { createNodePool, findNodePool, getNodePool, type ClusterRef, type NodePool } from '../google/container.js';
import { OperationFailedError, OperationTimeoutError } from '../operations.js';
import { waitForGkeOperation } from '../google/container-operations.js';
import { deleteNodePoolAndWait } from './delete.js';
import { withClusterLock } from './lock.js';

export type AttemptOutcome = 'created' | 'stockout' | 'quota' | 'unavailable' | 'failed';

export interface Attempt {
  /** Zones the attempt asked for, comma-joined ('' = the cluster's default zones). */
  zone: string;
  outcome: AttemptOutcome;
  /** Why it failed, in Google's words. */
  message?: string;
  /** What was done about a pool the failed attempt left behind. */
  cleanup?: 'deleted' | 'none-left' | 'failed';
  seconds: number;
}

export class FailoverError extends ActionError {
  constructor(
    message: string,
    readonly attempts: Attempt[],
    fix?: string,
  ) {
    super(message, { fix });
    this.name = 'FailoverError';
  }
}

const STOCKOUT = /GCE_STOCKOUT|ZONE_RESOURCE_POOL_EXHAUSTED|does not have enough resources available|resource pool exhausted/i;
const QUOTA = /GCE_QUOTA_EXCEEDED|QUOTA_EXCEEDED|Insufficient (regional|project)? ?quota|quota exceeded/i;

/** Which failures move the search to the next zone. */
export function classify(text: string, reason?: string): AttemptOutcome {
  if (STOCKOUT.test(text) || reason === 'GCE_STOCKOUT') return 'stockout';
  if (QUOTA.test(text) || reason === 'GCE_QUOTA_EXCEEDED') return 'quota';
  if (/does not exist in zone|is not a valid zone|not available in zone/i.test(text)) return 'unavailable';
  return 'failed';
}

export interface FailoverOptions {
  deadline: number;
  /** Pause between zones (ms). Default: config.ts's retryBaseMs, or 5 s. */
  pauseMs?: number;
}

export interface FailoverResult {
  pool: NodePool;
  zones: string[];
  attempts: Attempt[];
}

function pauseMs(): number {
  return retryBaseMs() ?? 5000;
}

/** Delete what a failed create left behind (waiting out the failed create's lock), and wait for it. */
export async function removeLeftover(ref: ClusterRef, name: string, deadline: number): Promise<Attempt['cleanup']> {
  if (!(await findNodePool(ref, name))) return 'none-left';
  info(`Deleting what the failed attempt left: node pool ${name}`);
  try {
    return (await deleteNodePoolAndWait(ref, name, deadline)) === 'deleted' ? 'deleted' : 'none-left';
  } catch (err) {
    warning(`Could not delete the leftover node pool ${name}: ${describeError(err)}`);
    return 'failed';
  }
}

/**
 * Try each candidate in turn (`[['us-central1-a'], ['us-central1-b']]`; `[[]]` = the definition's
 * own zones). Throws FailoverError (with every attempt) when none succeeds.
 */
export async function createWithFailover(ref: ClusterRef, definition: NodePool, candidates: string[][], opts: FailoverOptions): Promise<FailoverResult> {
  const attempts: Attempt[] = [];
  const pause = opts.pauseMs ?? pauseMs();
  const list = candidates.length ? candidates : [[]];
  for (const [i, zones] of list.entries()) {
    const started = Date.now();
    const body: NodePool = zones.length ? { ...definition, locations: zones } : { ...definition };
    const zone = (body.locations ?? []).join(',');
    const record = (a: Omit<Attempt, 'zone' | 'seconds'>) => {
      const full = { zone, seconds: Math.round((Date.now() - started) / 100) / 10, ...a };
      attempts.push(full);
      return full;
    };
    info(`Attempt ${i + 1} of ${list.length}: create node pool ${body.name}${zone ? ` in ${zone}` : ''}`);
    let outcome: AttemptOutcome;
    let message: string;
    try {
      const op = await withClusterLock(ref, opts.deadline, `create ${body.name}`, () => createNodePool(ref, body));
      await waitForGkeOperation(ref.project, ref.location, op, { deadline: opts.deadline, what: `CREATE_NODE_POOL ${body.name}${zone ? ` in ${zone}` : ''}` });
      const pool = await getNodePool(ref, body.name);
      if (pool.status === 'ERROR' || pool.status === 'RUNNING_WITH_ERROR') {
        message = pool.statusMessage ?? (pool.conditions ?? []).map((c) => c.message).join('; ');
        outcome = classify(`${message} ${(pool.conditions ?? []).map((c) => c.code).join(' ')}`);
        if (outcome === 'created') outcome = 'failed';
      } else {
        record({ outcome: 'created' });
        return { pool, zones: pool.locations ?? zones, attempts };
      }
    } catch (err) {
      if (err instanceof OperationTimeoutError) {
        record({ outcome: 'failed', message: err.message });
        throw new FailoverError(err.message, attempts, `The create keeps running in GKE; check it (gcloud container operations list) before re-running, which will find the pool.`);
      }
      if (err instanceof OperationFailedError) {
        message = err.detail;
        outcome = classify(err.detail);
      } else if (err instanceof ApiError) {
        message = err.message;
        outcome = classify(err.message, err.reason);
        if (outcome === 'failed' || err.httpStatus === 409) {
          record({ outcome: 'failed', message });
          throw new FailoverError(`Creating node pool ${body.name}${zone ? ` in ${zone}` : ''} was refused: ${err.message}`, attempts, permissionError(err)?.fix);
        }
      } else {
        throw err;
      }
    }
    const cleanup = await removeLeftover(ref, body.name, opts.deadline);
    record({ outcome, message, cleanup });
    warning(`Attempt ${i + 1} (${zone || 'default zones'}): ${outcome}: ${message}`);
    if (outcome === 'failed') {
      throw new FailoverError(`Creating node pool ${body.name}${zone ? ` in ${zone}` : ''} failed: ${message}`, attempts, 'The failure is not a stockout or quota shortfall, so no other zone was tried; see the message above.');
    }
    if (i + 1 < list.length && pause > 0) await new Promise((r) => setTimeout(r, pause));
  }
  const leftovers = attempts.filter((a) => a.cleanup === 'failed');
  throw new FailoverError(
    `No zone could create node pool ${definition.name}: ${attempts.map((a) => `${a.zone || 'default'}: ${a.outcome}`).join('; ')}.` +
      (leftovers.length ? ` Could not delete what ${leftovers.length} attempt(s) left; delete node pool ${definition.name} by hand.` : ' Nothing was left behind.'),
    attempts,
    'Try other zones or regions (zones: auto searches by capacity), a different accelerator, Spot, or later; for quota, request more (gpu-quota).',
  );
}
