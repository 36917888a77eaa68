/**
 * Cold start, paired: each run times the floor (`node -e 0`) and then the target back to back, and
 * the ratio is taken per pair, so a machine that slows down or speeds up during the bench moves both
 * halves of a pair alike. Reported: the median and p95 of the per-pair ratio and the median wall time.
 * `npm run bench` calls `coldStart()`; `bundleFiles()` is what a bundle may load (index.js, every chunk).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';

export interface ColdStartRow {
  name: string;
  /** Median wall time of the target (ms). */
  ms: number;
  /** Median wall time of the floor in the same pairs (ms). */
  floorMs: number;
  ratioMedian: number;
  ratioP95: number;
  runs: number;
}

/** The q-quantile (0..1) by nearest rank. */
export function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] as number;
}

function wall(args: string[], env: Record<string, string>): number {
  const t = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { env, stdio: 'ignore' });
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} exited ${r.status}`);
  return Number(process.hrtime.bigint() - t) / 1e6;
}

/** Floor and target alternated `runs` times (after one unmeasured warm-up pair). */
export function coldStart(name: string, args: string[], env: Record<string, string>, runs: number): ColdStartRow {
  const floorArgs = ['-e', '0'];
  wall(floorArgs, env);
  wall(args, env);
  const ratios: number[] = [];
  const times: number[] = [];
  const floors: number[] = [];
  for (let i = 0; i < runs; i++) {
    const f = wall(floorArgs, env);
    const t = wall(args, env);
    floors.push(f);
    times.push(t);
    ratios.push(t / f);
  }
  return { name, ms: quantile(times, 0.5), floorMs: quantile(floors, 0.5), ratioMedian: quantile(ratios, 0.5), ratioP95: quantile(ratios, 0.95), runs };
}

/** Every file under a bundle's dist/ (index.js, its chunks, package.json) with its size in bytes. */
export function bundleFiles(dist: string): { name: string; bytes: number }[] {
  return readdirSync(dist, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => {
      const path = join(e.parentPath, e.name);
      return { name: relative(dist, path), bytes: statSync(path).size };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** Empty entries in `dir` to tell the module system's own cost from the bundle's: an ESM and a CommonJS file. */
export function emptyEntries(dir: string): { esm: string; cjs: string } {
  mkdirSync(dir, { recursive: true });
  const esm = join(dir, 'empty.mjs');
  const cjs = join(dir, 'empty.cjs');
  writeFileSync(esm, '');
  writeFileSync(cjs, '');
  return { esm, cjs };
}
