/**
 * `npm run bench [-- cold waiter cleanup train promote]`: what every run of the suite pays (every section by default).
 * - cold: each action's bundle size, every file it may load (index.js and its chunks; aim: < 300 KB), and
 *   its cold start `node dist/index.js` loading and evaluating the bundle (MLABS_LOAD_ONLY), timed in pairs
 *   with the floor `node -e 0`: median and p95 of the per-pair ratio (aim: median within 1.5x). Empty ESM and
 *   CommonJS entries are measured the same way, to tell the module system's cost from the bundle's.
 *   BENCH_RUNS pairs per row (default 20).
 * - waiter: the operation waiter's schedule over operation lengths 0.2 s to 10 min (scripts/bench/operation-waiter.ts).
 * - cleanup: cost-cleanup against a sandbox seeded at scale (scripts/bench/cost-cleanup.ts).
 * - train: train-job's delay from the training container's end to the action's exit (scripts/bench/train-exit.ts).
 * - promote: model-promote's throughput next to `gcloud storage cp` of the same bytes (scripts/bench/model-promote.ts).
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, listActions } from './bundle.js';
import { bundleFiles, coldStart, emptyEntries, type ColdStartRow } from './bench/cold-start.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 20);
const wanted = process.argv.slice(2);
const runs = (section: string) => wanted.length === 0 || wanted.includes(section);

const tmp = mkdtempSync(join(tmpdir(), 'mlabs-bench-'));
try {
  if (runs('cold')) {
    const files: Record<string, string> = {};
    for (const f of ['GITHUB_OUTPUT', 'GITHUB_STATE', 'GITHUB_ENV', 'GITHUB_PATH', 'GITHUB_STEP_SUMMARY']) {
      files[f] = join(tmp, f);
      writeFileSync(files[f] as string, '');
    }
    // MLABS_LOAD_ONLY: the bundle loads and evaluates everything, then runAction returns before the action's work.
    const env = { PATH: process.env.PATH ?? '', HOME: tmp, RUNNER_TEMP: tmp, GITHUB_WORKSPACE: tmp, MLABS_LOAD_ONLY: '1', ...files };
    const empty = emptyEntries(join(tmp, 'empty'));
    console.log(`Cold start, ${RUNS} pairs per row (floor node -e 0, then the entry), ratio per pair; Node ${process.version}\n`);
    console.log(`${'entry'.padEnd(24)}${'index KB'.padStart(9)}${'all KB'.padStart(8)}${'files'.padStart(6)}${'ms'.padStart(8)}${'floor ms'.padStart(9)}${'x med'.padStart(7)}${'x p95'.padStart(7)}`);
    const line = (r: ColdStartRow, sizes: string) =>
      console.log(`${r.name.padEnd(24)}${sizes}${r.ms.toFixed(1).padStart(8)}${r.floorMs.toFixed(1).padStart(9)}${r.ratioMedian.toFixed(2).padStart(7)}${r.ratioP95.toFixed(2).padStart(7)}`);
    const noSize = ''.padStart(23);
    line(coldStart('(empty ESM entry)', [empty.esm], env, RUNS), noSize);
    line(coldStart('(empty CJS entry)', [empty.cjs], env, RUNS), noSize);
    const rows: Array<ColdStartRow & { kb: number }> = [];
    for (const name of listActions()) {
      const dist = join(ROOT, 'actions', name, 'dist');
      if (!existsSync(join(dist, 'index.js'))) continue;
      const all = bundleFiles(dist);
      const kb = all.reduce((a, f) => a + f.bytes, 0) / 1024;
      const indexKb = (all.find((f) => f.name === 'index.js')?.bytes ?? 0) / 1024;
      const r = coldStart(name, [join(dist, 'index.js')], env, RUNS);
      rows.push({ ...r, kb });
      line(r, `${indexKb.toFixed(1).padStart(9)}${kb.toFixed(1).padStart(8)}${String(all.length).padStart(6)}`);
    }
    if (rows.length) {
      const worst = rows.reduce((a, b) => (b.ratioMedian > a.ratioMedian ? b : a));
      const biggest = rows.reduce((a, b) => (b.kb > a.kb ? b : a));
      const over = rows.filter((r) => r.ratioMedian > 1.5).map((r) => r.name);
      console.log(`\nLargest bundle: ${biggest.name} ${biggest.kb.toFixed(1)} KB (all files); slowest start: ${worst.name} ${worst.ratioMedian.toFixed(2)}x the floor (median)`);
      console.log(over.length ? `Over 1.5x (median): ${over.join(', ')}` : 'Every bundle within 1.5x the floor (median).');
    }
  }

  if (runs('waiter')) {
    const { benchOperationWaiter, printWaiterRows } = await import('./bench/operation-waiter.js');
    const { POLL_SCHEDULE } = await import('../actions/lib/operations.js');
    console.log(
      `\nOperation waiter at the production schedule (next poll after ${POLL_SCHEDULE.lagRatio} x the time waited, ` +
        `${POLL_SCHEDULE.initialMs} ms to ${POLL_SCHEDULE.maxMs / 1000} s), simulated clock, lag after DONE:`,
    );
    printWaiterRows(await benchOperationWaiter());
  }

  if (runs('train')) {
    const { benchTrainExit, printExitRows } = await import('./bench/train-exit.js');
    console.log('\ntrain-job: from the training container\'s end to the action\'s exit (sweep of run lengths 0.3-5 s):');
    printExitRows(await benchTrainExit());
  }
  if (runs('cleanup')) {
    const { benchCostCleanup, printCleanupBench } = await import('./bench/cost-cleanup.js');
    console.log('\ncost-cleanup at scale (its bundle against the sandbox):');
    printCleanupBench(await benchCostCleanup());
  }
  if (runs('promote')) {
    console.log('\nmodel-promote against the sandbox, next to gcloud storage cp of the same bytes:');
    await import('./bench/model-promote.js');
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
