/**
 * Benchmark of the shared LRO waiter (actions/lib/operations.ts) against the sandbox: an operation
 * of fixed duration, then how long after it turned DONE the waiter noticed, and how many polls
 * it took. `benchOperationWaiter()` is what `npm run bench` calls; run alone: `npx tsx scripts/bench/operation-waiter.ts`.
 */
import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';
import { startSandbox } from '../sandbox/index.js';

export interface WaiterBenchRow {
  operationMs: number;
  initialPollMs: number;
  /** Mean ms between the operation's endTime and the waiter returning. */
  noticeLagMs: number;
  maxNoticeLagMs: number;
  polls: number;
}

export async function benchOperationWaiter(opts: { operationMs?: number[]; initialPollMs?: number; runs?: number } = {}): Promise<WaiterBenchRow[]> {
  const durations = opts.operationMs ?? [200, 1000, 3000];
  const initialPollMs = opts.initialPollMs ?? 100;
  const runs = opts.runs ?? 3;
  const rows: WaiterBenchRow[] = [];
  // One sandbox (the suite caches its access token per process); the operation length is set per row.
  const sb = await startSandbox({ port: 0 });
  const saved = { ...process.env };
  Object.assign(process.env, sb.env, { MLABS_RETRY_BASE_MS: '5' });
  try {
    const { setNodePoolSize } = await import('../../actions/lib/google/container.js');
    const { waitForGkeOperation } = await import('../../actions/lib/operations.js');
    const ref = { project: sb.project.projectId, location: sb.project.region, cluster: 'mlabs' };
    for (const operationMs of durations) {
      (sb.ctx.operations as unknown as { defaultMs: number }).defaultMs = operationMs;
      const lags: number[] = [];
      let polls = 0;
      for (let i = 0; i < runs; i++) {
        const op = await setNodePoolSize(ref, 'system', 1 + (i % 2));
        const res = await waitForGkeOperation(ref.project, ref.location, op, { initialMs: initialPollMs, deadline: Date.now() + 120_000 });
        const noticed = Date.now();
        lags.push(noticed - Date.parse(res.op.endTime ?? new Date(noticed).toISOString()));
        polls += res.polls;
      }
      rows.push({
        operationMs,
        initialPollMs,
        noticeLagMs: Math.round(lags.reduce((a, b) => a + b, 0) / lags.length),
        maxNoticeLagMs: Math.max(...lags),
        polls: Math.round((polls / runs) * 10) / 10,
      });
    }
  } finally {
    process.env = saved;
    await sb.stop();
  }
  return rows;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const rows = await benchOperationWaiter();
  console.log('operation  first-poll  polls  notice-lag(mean/max)');
  for (const r of rows) console.log(`${String(r.operationMs).padStart(6)} ms ${String(r.initialPollMs).padStart(7)} ms ${String(r.polls).padStart(6)}   ${r.noticeLagMs} / ${r.maxNoticeLagMs} ms`);
}
