// cost-cleanup at scale, through its bundle: the outputs and the summary stay under GitHub's limits,
// the report file holds every finding, and the snapshot bucket is read no more than the rule needs.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'vitest';
import { runAction } from '../harness.js';
import { bucketRequests } from '../../scripts/bench/cost-cleanup.js';
import { BUCKET, INPUTS, scaleSeed, start } from './helpers.js';

const SIZES = { objects: 2_000, disks: 500, versions: 300 };

interface FullReport {
  totals: { findings: number };
  findings: { resource: string; rule: string; costPerMonth: number }[];
}

test('at scale: GITHUB_OUTPUT < 1 MB and the summary < 1 MiB, every finding in the report file, one read per latest.json', async () => {
  const { seed, pointers } = scaleSeed(SIZES);
  const fx = await start(seed);
  const runnerTemp = mkdtempSync(join(tmpdir(), 'mlabs-scale-'));
  try {
    const before = fx.sb.requests.length;
    const run = await runAction('cost-cleanup', { inputs: INPUTS, env: fx.env, runnerTemp });
    assert.equal(run.exitCode, 0, run.main.log);
    const outputBytes = Object.entries(run.outputs).reduce((a, [k, v]) => a + Buffer.byteLength(k) + Buffer.byteLength(v), 0);
    assert.ok(outputBytes < 1_000_000, `GITHUB_OUTPUT ${outputBytes} bytes`);
    assert.ok(Buffer.byteLength(run.summary) < 1024 * 1024, `summary ${Buffer.byteLength(run.summary)} bytes`);

    // The full report, under RUNNER_TEMP: every finding of every rule.
    const file = run.outputs.report_file ?? '';
    assert.ok(file.startsWith(runnerTemp), file);
    const full = JSON.parse(readFileSync(file, 'utf8')) as FullReport;
    const disks = full.findings.filter((f) => f.rule === 'unattached-disk' && f.resource.startsWith('disk scale-disk-'));
    assert.equal(disks.length, 470, 'every scale disk unattached for 7 days or more (94 in 100) is a finding');
    const versions = full.findings.filter((f) => f.rule === 'image-retention');
    assert.ok(versions.length >= SIZES.versions, `${versions.length} image findings`);
    const snapshots = full.findings.filter((f) => f.rule === 'old-pool-snapshot');
    assert.ok(snapshots.length > 1000, `${snapshots.length} snapshot findings`);
    assert.equal(full.findings.length, full.totals.findings);
    assert.equal(run.outputs.findings, String(full.findings.length - 2), 'two protected findings (gpu-keep, old-kept)');

    // The output: the totals and the costliest findings, pointing at the file.
    const out = JSON.parse(run.outputs.report ?? '') as FullReport & { reportFile: string; findingsListed: number };
    assert.equal(out.totals.findings, full.findings.length);
    assert.equal(out.findings.length, out.findingsListed);
    assert.ok(out.findings.length < full.findings.length);
    assert.equal(out.reportFile, file);
    const cheapestListed = Math.min(...out.findings.map((f) => f.costPerMonth));
    const listed = new Set(out.findings.map((f) => f.resource));
    assert.ok(full.findings.filter((f) => !listed.has(f.resource)).every((f) => f.costPerMonth <= cheapestListed), 'the output lists the costliest');
    assert.equal(run.outputs.report_uri, '', 'report mode uploads nothing');
    assert.match(run.summary, new RegExp(`The 50 costliest of ${full.findings.length} findings`));

    // The snapshot bucket: the listing's pages and one read per latest.json, nothing more.
    const seeded = (seed.storage as { objects: { bucket: string; name: string }[] }).objects;
    const underPrefix = seeded.filter((o) => o.bucket === BUCKET && o.name.startsWith('node-pools/')).length;
    const { lists, reads } = bucketRequests(fx.sb.requests.slice(before));
    assert.equal(lists, Math.ceil(underPrefix / 1000), `${lists} list pages for ${underPrefix} objects`);
    assert.equal(reads, pointers, `${reads} object reads for ${pointers} latest.json`);
  } finally {
    rmSync(runnerTemp, { recursive: true, force: true });
    await fx.stop();
  }
});
