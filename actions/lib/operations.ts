/**
 * The one long-running-operation waiter. Any API whose mutations return an operation to poll
 * plugs in through an `LroAdapter`, kept beside that API's client (google/container-operations.ts
 * for GKE, google/compute.ts for Compute zone operations, google/artifactregistry.ts for
 * google.longrunning operations):
 * how to fetch it, when it is done, what its error says. The waiter polls with capped
 * backoff (see POLL_SCHEDULE), honours a deadline (the action's `timeout` input), logs progress, and
 * throws a readable ActionError when the operation failed or the deadline passed.
 * Each poll goes through http.ts, which already retries 429/5xx; a poll that still fails with a
 * retryable status is tolerated until the deadline.
 */
import { operationPollMs } from './config.js';
import { ActionError } from './errors.js';
import { ApiError } from './http.js';
import { debug, info } from './runner.js';
import { now, sleep } from './time.js';

export interface LroAdapter<T> {
  /** For logs and errors, e.g. "CREATE_NODE_POOL gpu-a (operation-123)". */
  label: string;
  poll(): Promise<T>;
  isDone(op: T): boolean;
  /** The failure text of a finished operation, or undefined when it succeeded. */
  errorOf(op: T): string | undefined;
  /** A short progress text for the log (status, percent, stage). */
  progressOf?(op: T): string;
}

export interface WaitOptions {
  /** Absolute deadline (epoch ms). Default: initial + 1 hour. */
  deadline?: number;
  /** Shortest poll interval (ms). Default: config.ts's operationPollMs, or POLL_SCHEDULE.initialMs. */
  initialMs?: number;
  /** Poll interval ceiling (ms). Default: POLL_SCHEDULE.maxMs (at least initialMs). */
  maxMs?: number;
  /** The interval as a share of the time waited so far. Default: POLL_SCHEDULE.lagRatio. */
  lagRatio?: number;
  /** Log a progress line at most this often (ms) when nothing changed. Default 30 s. */
  progressEveryMs?: number;
  /** What to tell the user when the deadline passes (the operation keeps running server-side). */
  timeoutFix?: string;
  /** Called after every poll (benchmarks and tests count polls). */
  onPoll?: (op: unknown, pollNumber: number) => void;
}

export interface WaitResult<T> {
  op: T;
  polls: number;
  elapsedMs: number;
}

/** The operation ended with an error: `detail` is the operation's own text. */
export class OperationFailedError extends ActionError {
  constructor(
    readonly label: string,
    readonly detail: string,
    readonly op: unknown,
    fix?: string,
  ) {
    super(`${label} failed: ${detail}`, { fix });
    this.name = 'OperationFailedError';
  }
}

/** The deadline passed while the operation was still running. */
export class OperationTimeoutError extends ActionError {
  constructor(
    readonly label: string,
    readonly waitedMs: number,
    readonly op: unknown,
    fix?: string,
  ) {
    super(`${label} was still running after ${Math.round(waitedMs / 1000)} s (the timeout input); it keeps running in the cloud.`, {
      fix: fix ?? 'Raise the `timeout` input, or check the operation in the console and re-run: the actions are idempotent.',
    });
    this.name = 'OperationTimeoutError';
  }
}

const RETRYABLE = new Set([0, 429, 500, 502, 503, 504]);

/**
 * The production poll schedule: the next poll comes `lagRatio` × the time waited so far after the
 * last one, never sooner than `initialMs` nor later than `maxMs`. An operation is then noticed at
 * most 10% of its length and 5 s after it is DONE (plus one poll's round trip), in about
 * 10 + 58 + (length − 50 s) / 5 s polls for a long one. `npm run bench` sweeps it (0.2 s to 10 min).
 */
export const POLL_SCHEDULE = { initialMs: 20, maxMs: 5000, lagRatio: 0.1 } as const;

export function defaultPollMs(): number {
  return operationPollMs() ?? POLL_SCHEDULE.initialMs;
}

/** The wait before the next poll, `elapsedMs` after the wait began. */
export function pollInterval(elapsedMs: number, initialMs: number, maxMs: number = POLL_SCHEDULE.maxMs, lagRatio: number = POLL_SCHEDULE.lagRatio): number {
  return Math.min(Math.max(maxMs, initialMs), Math.max(initialMs, elapsedMs * lagRatio));
}

/** A deadline `timeoutSeconds` from now. */
export function deadlineIn(timeoutSeconds: number): number {
  return now() + timeoutSeconds * 1000;
}

export async function waitFor<T>(adapter: LroAdapter<T>, opts: WaitOptions = {}): Promise<WaitResult<T>> {
  const started = now();
  const initial = opts.initialMs ?? defaultPollMs();
  const max = opts.maxMs ?? POLL_SCHEDULE.maxMs;
  const lagRatio = opts.lagRatio ?? POLL_SCHEDULE.lagRatio;
  const deadline = opts.deadline ?? started + 3600_000;
  const progressEvery = opts.progressEveryMs ?? 30_000;
  let polls = 0;
  let last: T | undefined;
  let lastProgress = '';
  let lastLogged = 0;
  for (;;) {
    let op: T | undefined;
    try {
      op = await adapter.poll();
    } catch (err) {
      if (!(err instanceof ApiError) || !RETRYABLE.has(err.httpStatus)) throw err;
      debug(`${adapter.label}: poll failed (${err.httpStatus} ${err.status}); polling on`);
    }
    polls += 1;
    if (op !== undefined) {
      last = op;
      opts.onPoll?.(op, polls);
      if (adapter.isDone(op)) {
        const elapsedMs = now() - started;
        const failure = adapter.errorOf(op);
        if (failure !== undefined) throw new OperationFailedError(adapter.label, failure, op);
        info(`${adapter.label}: done after ${(elapsedMs / 1000).toFixed(1)} s (${polls} polls)`);
        return { op, polls, elapsedMs };
      }
      const progress = adapter.progressOf?.(op) ?? 'running';
      const t = now();
      if (progress !== lastProgress || t - lastLogged >= progressEvery) {
        info(`${adapter.label}: ${progress} (${Math.round((t - started) / 1000)} s)`);
        lastProgress = progress;
        lastLogged = t;
      }
    }
    const t = now();
    const remaining = deadline - t;
    if (remaining <= 0) throw new OperationTimeoutError(adapter.label, t - started, last, opts.timeoutFix);
    await sleep(Math.min(pollInterval(t - started, initial, max, lagRatio), remaining));
  }
}

/** Wait for the operation a mutation returned: that first answer counts, with no poll, when it is already done. */
export async function waitForReturned<T>(adapter: LroAdapter<T>, first: T, opts: WaitOptions = {}): Promise<WaitResult<T>> {
  if (adapter.isDone(first)) {
    const failure = adapter.errorOf(first);
    if (failure !== undefined) throw new OperationFailedError(adapter.label, failure, first);
    return { op: first, polls: 0, elapsedMs: 0 };
  }
  return waitFor(adapter, opts);
}
