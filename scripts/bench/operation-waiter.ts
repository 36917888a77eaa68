/**
 * Benchmark of the shared LRO waiter (actions/lib/operations.ts) at its production schedule, over a
 * sweep of operation lengths (0.2 s to 10 min) on a simulated clock (lib/time.ts `useClock`: sleeping
 * advances the clock at once, so the whole sweep takes well under a second). Each operation starts at
 * a different phase of the schedule; for each length: mean and p95 lag between DONE and the waiter
 * noticing, and polls per operation. A poll itself takes `pollLatencyMs` of simulated time (default 0:
 * the schedule's own lag, what the schedule is tuned on).
 * `benchOperationWaiter()` is what `npm run bench` calls; run alone: `npx tsx scripts/bench/operation-waiter.ts`.
 */
import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';
import { waitFor } from '../../actions/lib/operations.js';
import { useClock } from '../../actions/lib/time.js';
import { quantile } from './cold-start.js';

export interface WaiterBenchRow {
  operationMs: number;
  meanLagMs: number;
  p95LagMs: number;
  /** p95 lag as a share of the operation's length. */
  p95LagRatio: number;
  meanPolls: number;
  runs: number;
}

export const SWEEP_MS = [200, 500, 1000, 2000, 5000, 10_000, 30_000, 60_000, 120_000, 300_000, 600_000];

export async function benchOperationWaiter(opts: { operationMs?: number[]; runs?: number; pollLatencyMs?: number } = {}): Promise<WaiterBenchRow[]> {
  const durations = opts.operationMs ?? SWEEP_MS;
  const runs = opts.runs ?? 50;
  const latency = opts.pollLatencyMs ?? 0;
  let t = 1_000_000;
  const restore = useClock({
    now: () => t,
    sleep: async (ms) => {
      t += ms;
    },
  });
  // The waiter logs as it would in a job; keep the bench's output to its figures.
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = (() => true) as typeof process.stdout.write;
  const rows: WaiterBenchRow[] = [];
  try {
    for (const operationMs of durations) {
      const lags: number[] = [];
      let polls = 0;
      for (let i = 0; i < runs; i++) {
        // Spread the operation's length over ±5% so DONE falls at every phase of the schedule.
        const length = operationMs * (0.95 + (0.1 * i) / Math.max(1, runs - 1));
        const doneAt = t + length;
        const res = await waitFor(
          {
            label: 'bench',
            poll: async () => {
              t += latency;
              return t >= doneAt;
            },
            isDone: (done) => done,
            errorOf: () => undefined,
          },
          { deadline: t + 3_600_000 },
        );
        lags.push(t - doneAt);
        polls += res.polls;
      }
      const p95 = quantile(lags, 0.95);
      rows.push({
        operationMs,
        meanLagMs: Math.round(lags.reduce((a, b) => a + b, 0) / lags.length),
        p95LagMs: Math.round(p95),
        p95LagRatio: p95 / operationMs,
        meanPolls: Math.round((polls / runs) * 10) / 10,
        runs,
      });
    }
  } finally {
    process.stdout.write = write;
    restore();
  }
  return rows;
}

export function printWaiterRows(rows: WaiterBenchRow[]): void {
  console.log(`${'operation'.padStart(10)}${'lag mean ms'.padStart(13)}${'lag p95 ms'.padStart(12)}${'p95/length'.padStart(12)}${'polls'.padStart(8)}`);
  for (const r of rows) {
    const len = r.operationMs >= 60_000 ? `${r.operationMs / 60_000} min` : `${r.operationMs / 1000} s`;
    console.log(`${len.padStart(10)}${String(r.meanLagMs).padStart(13)}${String(r.p95LagMs).padStart(12)}${`${(r.p95LagRatio * 100).toFixed(1)}%`.padStart(12)}${String(r.meanPolls).padStart(8)}`);
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  printWaiterRows(await benchOperationWaiter());
}
