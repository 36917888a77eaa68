/**
 * cost-cleanup at scale: its committed bundle (report mode) against a sandbox seeded with 10,000
 * snapshot-bucket objects, 2,000 disks and 1,000 image versions (test/cost-cleanup/helpers.ts scaleSeed).
 * Reports wall time, what it wrote to GITHUB_OUTPUT and the step summary (GitHub keeps 1 MB of outputs
 * per job and 1 MiB of summary per step), and the requests made per API against the minimum for the
 * snapshot bucket (the listing's pages plus one read per latest.json).
 * `benchCostCleanup()` is what `npm run bench` calls; run alone: `npx tsx scripts/bench/cost-cleanup.ts`.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runAction } from '../../test/harness.js';
import { INPUTS, scaleSeed, start, type ScaleSizes } from '../../test/cost-cleanup/helpers.js';
import type { RequestLogEntry } from '../sandbox/index.js';

export interface CleanupBench {
  sizes: ScaleSizes;
  wallMs: number;
  exitCode: number;
  findings: number;
  outputBytes: number;
  summaryBytes: number;
  reportFileBytes: number;
  requests: Record<string, number>;
  bucket: { lists: number; reads: number; minimum: number };
}

/** GCS requests of a run: object listings and single-object reads (metadata or media). */
export function bucketRequests(log: RequestLogEntry[]): { lists: number; reads: number } {
  const gcs = log.filter((r) => r.method === 'GET' && /^\/storage\/v1\/b\/[^/]+\/o/.test(r.path));
  const lists = gcs.filter((r) => /\/o$/.test(r.path)).length;
  return { lists, reads: gcs.length - lists };
}

export async function benchCostCleanup(sizes: ScaleSizes = { objects: 10_000, disks: 2_000, versions: 1_000 }): Promise<CleanupBench> {
  const { seed, pointers } = scaleSeed(sizes);
  const fx = await start(seed);
  const runnerTemp = mkdtempSync(join(tmpdir(), 'mlabs-bench-cleanup-'));
  try {
    const before = fx.sb.requests.length;
    const t = Date.now();
    const run = await runAction('cost-cleanup', { inputs: INPUTS, env: fx.env, runnerTemp });
    const wallMs = Date.now() - t;
    const log = fx.sb.requests.slice(before);
    const requests: Record<string, number> = {};
    for (const r of log) requests[r.api ?? 'other'] = (requests[r.api ?? 'other'] ?? 0) + 1;
    const { lists, reads } = bucketRequests(log);
    const outputBytes = Object.entries(run.outputs).reduce((a, [k, v]) => a + Buffer.byteLength(k) + Buffer.byteLength(v), 0);
    const report = JSON.parse(run.outputs.report ?? '{}') as { totals?: { findings?: number } };
    const file = run.outputs.report_file ?? '';
    return {
      sizes,
      wallMs,
      exitCode: run.exitCode,
      findings: report.totals?.findings ?? 0,
      outputBytes,
      summaryBytes: Buffer.byteLength(run.summary),
      reportFileBytes: file ? readFileSync(file).length : 0,
      requests,
      bucket: { lists, reads, minimum: pointers },
    };
  } finally {
    rmSync(runnerTemp, { recursive: true, force: true });
    await fx.stop();
  }
}

export function printCleanupBench(b: CleanupBench): void {
  const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;
  console.log(`seed: ${b.sizes.objects} bucket objects, ${b.sizes.disks} disks, ${b.sizes.versions} image versions; exit ${b.exitCode}`);
  console.log(`wall time ${(b.wallMs / 1000).toFixed(1)} s, ${b.findings} findings`);
  console.log(`GITHUB_OUTPUT ${kb(b.outputBytes)} (limit 1 MB per job), summary ${kb(b.summaryBytes)} (limit 1 MiB per step), report file ${kb(b.reportFileBytes)}`);
  console.log(`snapshot bucket: ${b.bucket.lists} list page(s), ${b.bucket.reads} object reads (minimum ${b.bucket.minimum}: one per latest.json)`);
  console.log(`requests by API: ${Object.entries(b.requests).map(([k, v]) => `${k} ${v}`).join(', ')}`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  printCleanupBench(await benchCostCleanup());
}
