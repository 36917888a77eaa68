/**
 * GKE operations on the generic waiter (operations.ts): the adapter that polls
 * projects.locations.operations.get, reads a finished operation's failure text and its progress.
 */
import { waitForReturned, type LroAdapter, type WaitOptions, type WaitResult } from '../operations.js';
import { getOperation, operationName, type GkeOperation } from './container.js';

/**
 * The failure text of a finished GKE operation: `error.message` and `statusMessage` (GKE puts a
 * stockout's story in statusMessage; which of the two carries it is not confirmed), plus
 * node pool condition codes such as GCE_STOCKOUT, without repeating the same text.
 */
export function gkeOperationError(op: GkeOperation): string | undefined {
  const errorText = op.error && (op.error.code || op.error.message) ? op.error.message || `error code ${op.error.code}` : '';
  const status = op.statusMessage?.trim() ?? '';
  if (!errorText && !status) return undefined;
  const parts: string[] = [];
  for (const t of [errorText.trim(), status]) {
    if (!t || parts.some((p) => p.includes(t))) continue;
    const i = parts.findIndex((p) => t.includes(p));
    if (i >= 0) parts[i] = t;
    else parts.push(t);
  }
  const codes = [...(op.nodepoolConditions ?? []), ...(op.clusterConditions ?? [])]
    .map((c) => c.canonicalCode ?? c.code)
    .filter((c): c is string => !!c && !parts.some((p) => p.includes(c)));
  for (const c of new Set(codes)) parts.push(`[${c}]`);
  return parts.join(' ');
}

function gkeProgress(op: GkeOperation): string {
  const metrics = op.progress?.metrics ?? [];
  const num = (n: string) => Number(metrics.find((m) => m.name === n)?.intValue ?? NaN);
  const done = num('NODES_DONE');
  const total = num('NODES_TOTAL');
  const stage = op.progress?.name ? ` ${op.progress.name}` : '';
  const nodes = Number.isFinite(done) && Number.isFinite(total) && total > 0 ? ` ${done}/${total} nodes` : '';
  return `${op.status ?? 'RUNNING'}${stage}${nodes}`;
}

/** An adapter for a GKE operation as returned by a mutation (short or full name). */
export function gkeOperation(project: string, location: string, op: GkeOperation, what?: string): LroAdapter<GkeOperation> {
  const name = operationName(project, location, op);
  const short = name.split('/').pop() as string;
  return {
    label: `${what ?? op.operationType ?? 'GKE operation'} (${short})`,
    poll: () => getOperation(name),
    isDone: (o) => o.status === 'DONE',
    errorOf: gkeOperationError,
    progressOf: gkeProgress,
  };
}

/** Wait for a GKE operation; the first answer from the mutation counts as a poll when already DONE. */
export async function waitForGkeOperation(
  project: string,
  location: string,
  op: GkeOperation,
  opts: WaitOptions & { what?: string } = {},
): Promise<WaitResult<GkeOperation>> {
  return waitForReturned(gkeOperation(project, location, op, opts.what), op, opts);
}
