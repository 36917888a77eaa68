/**
 * train-job's reaction time (`npm run bench -- train`): the delay from the training container's end
 * (the pod turning terminal in the sandbox) to the action's process exit, over a sweep of run
 * lengths, with the production poll interval (500 ms) and the sandbox's default start and tick
 * delays. Reported as mean and p95 per outcome; not a timed test.
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Json } from '../sandbox/kubernetes/store.js';
import { pods, spawnTrain, start } from '../../test/train-job/helpers.js';

export interface ExitRow {
  outcome: 'succeeded' | 'failed';
  runs: number;
  meanMs: number;
  p95Ms: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function benchTrainExit(durations: number[] = [300, 800, 1500, 3000, 5000], reps = 2): Promise<ExitRow[]> {
  const f = await start();
  // the production poll interval: no MLABS_OPERATION_POLL_MS shortcut
  delete f.env.MLABS_OPERATION_POLL_MS;
  const delays: Record<'succeeded' | 'failed', number[]> = { succeeded: [], failed: [] };
  try {
    let n = 0;
    for (const ms of durations) {
      for (let i = 0; i < reps; i++) {
        for (const exitCode of [0, 1]) {
          const name = `bench-${n++}`;
          const id = f.sb.faults.add({ kind: 'podExit', match: { labelSelector: `mlabs.dev/train-job=${name}` }, afterMs: ms, exitCode, log: ['working'] });
          const p = spawnTrain(f, { target: 'local', runner_label: 'dgx', image: 'ghcr.io/mlabs/trainer:1', name });
          let ended: number | undefined;
          let exited: number | undefined;
          void p.done.then(() => (exited = Date.now()));
          while (exited === undefined) {
            if (ended === undefined && pods(f.dgx.cluster).some((x) => String((x.metadata as Json).name).startsWith(`${name}-`) && ['Succeeded', 'Failed'].includes(String((x.status as Json | undefined)?.phase)))) ended = Date.now();
            await sleep(5);
          }
          f.sb.faults.remove(id);
          if (ended !== undefined) delays[exitCode === 0 ? 'succeeded' : 'failed'].push(exited - ended);
        }
      }
    }
  } finally {
    await f.stop();
  }
  return (['succeeded', 'failed'] as const).map((outcome) => {
    const xs = [...delays[outcome]].sort((a, b) => a - b);
    const mean = xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
    return { outcome, runs: xs.length, meanMs: Math.round(mean), p95Ms: xs[Math.min(xs.length - 1, Math.ceil(xs.length * 0.95) - 1)] ?? 0 };
  });
}

export function printExitRows(rows: ExitRow[]): void {
  for (const r of rows) console.log(`  ${r.outcome.padEnd(10)} runs ${String(r.runs).padStart(3)}  mean ${String(r.meanMs).padStart(5)} ms  p95 ${String(r.p95Ms).padStart(5)} ms`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  printExitRows(await benchTrainExit());
}
