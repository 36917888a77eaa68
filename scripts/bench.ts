/**
 * `npm run bench`: what every run of the suite pays.
 * - bundle size of each action's dist/index.js (aim: < 300 KB);
 * - cold start: median wall time of `node dist/index.js` loading and evaluating the bundle (MLABS_LOAD_ONLY)
 *   against the floor `node -e 0` (aim: within 1.5x);
 * - the operation waiter's overhead (scripts/bench/operation-waiter.ts).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, listActions } from './bundle.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 15);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

function timeRuns(args: string[], env: Record<string, string>): number {
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t = process.hrtime.bigint();
    spawnSync(process.execPath, args, { env, stdio: 'ignore' });
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  return median(times);
}

const tmp = mkdtempSync(join(tmpdir(), 'mlabs-bench-'));
const files: Record<string, string> = {};
for (const f of ['GITHUB_OUTPUT', 'GITHUB_STATE', 'GITHUB_ENV', 'GITHUB_PATH', 'GITHUB_STEP_SUMMARY']) {
  files[f] = join(tmp, f);
  writeFileSync(files[f] as string, '');
}
// MLABS_LOAD_ONLY: the bundle loads and evaluates everything, then runAction returns before the action's work.
const env = { PATH: process.env.PATH ?? '', HOME: tmp, RUNNER_TEMP: tmp, GITHUB_WORKSPACE: tmp, MLABS_LOAD_ONLY: '1', ...files };

spawnSync(process.execPath, ['-e', '0']); // warm the page cache
const floor = timeRuns(['-e', '0'], env);
console.log(`Cold start floor: node -e 0 = ${floor.toFixed(1)} ms (median of ${RUNS})\n`);
console.log(`${'action'.padEnd(24)}${'bundle KB'.padStart(10)}${'start ms'.padStart(10)}${'x floor'.padStart(9)}`);
const rows: Array<{ action: string; kb: number; ms: number; ratio: number }> = [];
for (const name of listActions()) {
  const bundle = join(ROOT, 'actions', name, 'dist/index.js');
  if (!existsSync(bundle)) continue;
  const kb = statSync(bundle).size / 1024;
  const ms = timeRuns([bundle], env);
  rows.push({ action: name, kb, ms, ratio: ms / floor });
  console.log(`${name.padEnd(24)}${kb.toFixed(1).padStart(10)}${ms.toFixed(1).padStart(10)}${(ms / floor).toFixed(2).padStart(9)}`);
}
if (rows.length) {
  const worst = rows.reduce((a, b) => (b.ratio > a.ratio ? b : a));
  const biggest = rows.reduce((a, b) => (b.kb > a.kb ? b : a));
  console.log(`\nLargest bundle: ${biggest.action} ${biggest.kb.toFixed(1)} KB; slowest start: ${worst.action} ${worst.ratio.toFixed(2)}x the floor`);
}

// The shared long-running-operation waiter against the sandbox: how long after DONE it notices, in how many polls.
const { benchOperationWaiter } = await import('./bench/operation-waiter.js');
console.log('\nOperation waiter (first poll 100 ms, x1.5 per poll, capped at 10x):');
console.log(`${'operation ms'.padStart(12)}${'polls'.padStart(8)}${'notice lag mean/max ms'.padStart(26)}`);
// The waiter logs as it would in a job; keep this report to its figures.
const write = process.stdout.write.bind(process.stdout);
process.stdout.write = (() => true) as typeof process.stdout.write;
const waiterRows = await benchOperationWaiter().finally(() => {
  process.stdout.write = write;
});
for (const r of waiterRows) {
  console.log(`${String(r.operationMs).padStart(12)}${String(r.polls).padStart(8)}${`${r.noticeLagMs} / ${r.maxNoticeLagMs}`.padStart(26)}`);
}
