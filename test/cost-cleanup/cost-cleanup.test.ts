// cost-cleanup through its bundle against the sandbox (GKE, Compute disks, Artifact Registry, GCS,
// Billing Catalog and the cluster's Kubernetes API).
import assert from 'node:assert/strict';
import { test } from 'vitest';
import { kubernetesOf } from '../../scripts/sandbox/kubernetes/index.js';
import { runAction } from '../harness.js';
import { BUCKET, IMAGE, INPUTS, PROJECT, start, type Report } from './helpers.js';

const mutating = (r: { method: string; path: string }) => r.method !== 'GET' && !/\/operations\/[^/]+(\/wait)?$/.test(r.path);

const EXPECTED = [
  'idle-gpu-pool would delete node pool gpu-idle (mlabs, us-central1)',
  'idle-gpu-pool protected node pool gpu-keep (mlabs, us-central1)',
  'unattached-disk would delete disk old-orphan (us-central1-a)',
  'unattached-disk protected disk old-kept (us-central1-a)',
  'old-pool-snapshot would delete gs://mlabs-demo-nodepool-snapshots/node-pools/mlabs/gpu-old/20240101T000000000Z.json',
].sort();

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const section = (fx: { sb: { state: Record<string, unknown> } }, key: string): any => fx.sb.state[key];

function parse(out: string): Report {
  return JSON.parse(out) as Report;
}

test('report: changes nothing and lists exactly the expected findings with their costs', async () => {
  const fx = await start();
  try {
    const before = fx.sb.requests.length;
    const run = await runAction('cost-cleanup', { inputs: INPUTS, env: fx.env });
    assert.equal(run.exitCode, 0, run.main.log);
    const report = parse(run.outputs.report ?? '');
    assert.equal(report.mode, 'report');
    const nonImage = report.findings.filter((f) => f.rule !== 'image-retention').map((f) => `${f.rule} ${f.action} ${f.resource}`).sort();
    assert.deepEqual(nonImage, EXPECTED);
    const images = report.findings.filter((f) => f.rule === 'image-retention');
    assert.equal(images.length, 3, JSON.stringify(images));
    assert.ok(images.every((f) => f.action === 'would delete' && f.resource.startsWith(IMAGE)));
    // Costs: the idle L4 pool (1 × g2-standard-8 + 1 L4 + 100 GB boot disk) from the Billing Catalog.
    const idle = report.findings.find((f) => f.resource.includes('gpu-idle'));
    assert.ok(idle && idle.hourlyUsd > 0.7 && idle.hourlyUsd < 0.9, `idle pool ${idle?.hourlyUsd}/h`);
    const disk = report.findings.find((f) => f.resource.includes('old-orphan'));
    assert.equal(disk?.costPerMonth, 20); // 200 GB × $0.10 pd-balanced
    assert.match(report.prices.source, /^billing-catalog/);
    assert.equal(report.prices.date, '2025-01-01');
    assert.ok(report.savedPerMonth > 400, String(report.savedPerMonth));
    assert.equal(run.outputs.saved_per_month, report.savedPerMonth.toFixed(2));
    assert.equal(run.outputs.findings, '6');
    // Nothing changed: no mutating call at all.
    assert.deepEqual(fx.sb.requests.slice(before).filter(mutating), []);
    assert.match(run.summary, /Idle GPU node pools/);
    assert.match(run.summary, /Cloud Billing Catalog API, effective 2025-01-01/);
    assert.match(run.summary, /gpu-busy: busy \(default\/trainer requesting nvidia.com\/gpu\)/);
    assert.match(run.summary, /gpu-zero: scaled to zero/);
    // What the cluster costs now: every pool, its nodes from the Kubernetes API, plus the cluster fee.
    const platform = (report as unknown as { platform: { pools: { pool: string; nodes: number; monthlyUsd: number }[]; clusterFeeMonthlyUsd: number; monthlyUsd: number } }).platform;
    const byPool = Object.fromEntries(platform.pools.map((p) => [p.pool, p]));
    assert.deepEqual(Object.keys(byPool).sort(), ['gpu-busy', 'gpu-idle', 'gpu-keep', 'gpu-zero', 'system']);
    assert.equal(byPool['gpu-zero']?.nodes, 0);
    assert.equal(byPool['gpu-zero']?.monthlyUsd, 0);
    assert.equal(byPool['gpu-idle']?.monthlyUsd, idle?.costPerMonth, 'the same price for the same pool in both tables');
    assert.equal(platform.clusterFeeMonthlyUsd, 73);
    const sum = platform.pools.reduce((a, p) => a + p.monthlyUsd, 0) + platform.clusterFeeMonthlyUsd;
    assert.ok(Math.abs(platform.monthlyUsd - sum) < 0.01);
    assert.equal(run.outputs.platform_per_month, platform.monthlyUsd.toFixed(2));
    assert.match(run.summary, /What the cluster costs now: about \$[\d.]+ per month/);
  } finally {
    await fx.stop();
  }
});

test('enforce: removes exactly the findings, each snapshot written before its delete; the pool restores; a re-run finds nothing new', async () => {
  const fx = await start();
  try {
    const before = fx.sb.requests.length;
    const run = await runAction('cost-cleanup', { inputs: { ...INPUTS, mode: 'enforce' }, env: fx.env });
    assert.equal(run.exitCode, 0, run.main.log);
    const report = parse(run.outputs.report ?? '');
    const acted = report.findings.filter((f) => f.action === 'deleted');
    assert.equal(acted.length, 6, JSON.stringify(report.findings, null, 1));
    const log = fx.sb.requests.slice(before);
    const idx = (re: RegExp, method?: string) => log.findIndex((r) => re.test(r.path) && (!method || r.method === method));
    // Pool: snapshot object and latest.json uploaded before the DELETE of the pool.
    const poolSnap = idx(/\/upload\/storage\/v1\/b\/mlabs-demo-nodepool-snapshots\/o$/, 'POST');
    const poolDelete = idx(/nodePools\/gpu-idle$/, 'DELETE');
    assert.ok(poolSnap >= 0 && poolDelete > poolSnap, `pool snapshot ${poolSnap} before delete ${poolDelete}`);
    // Disk: createSnapshot, its operation DONE, snapshot READY, then the delete.
    const diskSnap = idx(/disks\/old-orphan\/createSnapshot$/, 'POST');
    const diskDelete = idx(/disks\/old-orphan$/, 'DELETE');
    assert.ok(diskSnap >= 0 && diskDelete > diskSnap, `disk snapshot ${diskSnap} before delete ${diskDelete}`);
    assert.ok(log.slice(diskSnap, diskDelete).some((r) => /\/global\/snapshots\/old-orphan-cleanup-/.test(r.path)), 'snapshot checked before the delete');
    // Exactly those were removed; the rest is untouched.
    const pools = (section(fx, 'container').clusters[0].nodePools as { name: string }[]).map((p) => p.name).sort();
    assert.deepEqual(pools, ['gpu-busy', 'gpu-keep', 'gpu-zero', 'system']);
    const disks = (section(fx, 'computeDisks').disks as { name: string }[]).map((d) => d.name).sort();
    assert.deepEqual(disks, ['attached', 'new-orphan', 'old-kept']);
    const snaps = section(fx, 'computeDisks').snapshots as { name: string; status: string }[];
    assert.equal(snaps.length, 1);
    assert.equal(snaps[0]?.status, 'READY');
    const removedPool = report.findings.find((f) => f.resource.includes('gpu-idle'));
    assert.match(removedPool?.snapshotUri ?? '', /^gs:\/\/mlabs-demo-nodepool-snapshots\/node-pools\/mlabs\/gpu-idle\/\d{8}T\d+Z\.json$/);
    assert.match(run.summary, /gke-gpu-restore/);
    assert.ok(run.summary.includes(removedPool?.snapshotUri ?? '???'));
    assert.ok(report.savedPerMonth > 400);
    // The full report is kept in the snapshot bucket, outside node-pools/.
    assert.match(run.outputs.report_uri ?? '', /^gs:\/\/mlabs-demo-nodepool-snapshots\/cost-cleanup\/mlabs\/\d{8}T\d{9}Z\.json$/);
    const kept = (section(fx, 'storage').objects[BUCKET] as Record<string, { data: string }>)[(run.outputs.report_uri ?? '').slice(`gs://${BUCKET}/`.length)];
    assert.equal((JSON.parse(Buffer.from(kept?.data ?? '', 'base64').toString('utf8')) as Report).findings.length, report.findings.length, 'the kept report has every finding');

    // Re-run enforce: nothing new to remove (the new pool snapshot is the newest, kept).
    const again = await runAction('cost-cleanup', { inputs: { ...INPUTS, mode: 'enforce' }, env: fx.env });
    assert.equal(again.exitCode, 0, again.main.log);
    const second = parse(again.outputs.report ?? '');
    assert.deepEqual(second.findings.filter((f) => f.action !== 'protected'), []);
    assert.equal(again.outputs.saved_per_month, '0.00');
    const cost = (r: typeof run) => Number(r.outputs.platform_per_month);
    assert.ok(cost(run) - cost(again) >= (removedPool?.costPerMonth ?? Infinity) - 0.01, `the cluster costs less without the idle pool: ${cost(run)} -> ${cost(again)}`);

    // The idle pool comes back from the snapshot it left.
    const restore = await runAction('node-pool-restore', {
      inputs: { location: 'us-central1', cluster: 'mlabs', pool: 'gpu-idle', bucket: BUCKET, snapshot: removedPool?.snapshotUri ?? '', zones: '', timeout: '5m', service_account: 'mlabs-nodes@mlabs-demo.iam.gserviceaccount.com' },
      env: fx.env,
    });
    assert.equal(restore.exitCode, 0, restore.main.log);
    const back = (section(fx, 'container').clusters[0].nodePools as { name: string; config?: { accelerators?: { acceleratorType?: string }[] } }[]).find((p) => p.name === 'gpu-idle');
    assert.equal(back?.config?.accelerators?.[0]?.acceleratorType, 'nvidia-l4');
  } finally {
    await fx.stop();
  }
});

test('enforce: a disk snapshot that fails leaves the disk and fails the step naming it; the others are still removed', async () => {
  const fx = await start();
  try {
    fx.sb.faults.add({ kind: 'operationFailure', match: { api: 'compute', method: 'CreateSnapshot' }, message: 'Snapshot creation failed: internal error (injected).' });
    const run = await runAction('cost-cleanup', { inputs: { ...INPUTS, mode: 'enforce' }, env: fx.env });
    assert.equal(run.exitCode, 1);
    const errors = run.main.annotations.filter((a) => a.level === 'error').map((a) => a.message).join('\n');
    assert.match(errors, /disk old-orphan \(us-central1-a\)/);
    assert.match(errors, /Snapshot creation failed/);
    const report = parse(run.outputs.report ?? '');
    assert.equal(report.findings.find((f) => f.resource.includes('old-orphan'))?.action, 'failed');
    assert.equal(report.findings.filter((f) => f.action === 'deleted').length, 5);
    const disks = (section(fx, 'computeDisks').disks as { name: string }[]).map((d) => d.name);
    assert.ok(disks.includes('old-orphan'));
    assert.equal(fx.sb.requests.filter((r) => r.method === 'DELETE' && /disks\/old-orphan$/.test(r.path)).length, 0);
  } finally {
    await fx.stop();
  }
});

test('enforce: a pool delete that leaves the pool in ERROR is retried once; failed twice, the step says what to do and a re-run deletes it', async () => {
  const fx = await start();
  try {
    const failDelete = (count: number) =>
      fx.sb.faults.add({ kind: 'operationFailure', match: { api: 'container', method: 'DeleteNodePool' }, message: 'Internal error while deleting instances (injected).', count });
    const idlePool = () => (section(fx, 'container').clusters[0].nodePools as { name: string; status: string }[]).find((p) => p.name === 'gpu-idle');
    const deletes = () => fx.sb.requests.filter((r) => r.method === 'DELETE' && /nodePools\/gpu-idle$/.test(r.path)).length;
    failDelete(2);
    const first = await runAction('cost-cleanup', { inputs: { ...INPUTS, mode: 'enforce' }, env: fx.env });
    assert.equal(first.exitCode, 1);
    assert.equal(deletes(), 2, 'deleted once more after the first failure');
    const failed = parse(first.outputs.report ?? '').findings.find((f) => f.resource.includes('gpu-idle'));
    assert.equal(failed?.action, 'failed');
    assert.match(failed?.error ?? '', /The pool is still there, in ERROR/);
    assert.match(failed?.error ?? '', /Fix: Re-run this step: a pool in ERROR is deleted again/);
    assert.equal(idlePool()?.status, 'ERROR');

    failDelete(1);
    const again = await runAction('cost-cleanup', { inputs: { ...INPUTS, mode: 'enforce' }, env: fx.env });
    assert.equal(again.exitCode, 0, again.main.log);
    assert.equal(parse(again.outputs.report ?? '').findings.find((f) => f.resource.includes('gpu-idle'))?.action, 'deleted');
    assert.match(again.main.stdout, /the pool is in ERROR\. Deleting it once more/);
    assert.equal(deletes(), 4);
    assert.equal(idlePool(), undefined);
  } finally {
    await fx.stop();
  }
});

test('a 429 storm on every API is retried; the Billing Catalog unreachable falls back to the dated table', async () => {
  const fx = await start();
  try {
    for (const api of ['container', 'compute', 'artifactregistry', 'storage']) fx.sb.faults.add({ kind: 'error', match: { api }, status: 429, count: 3 });
    fx.sb.faults.add({ kind: 'error', match: { api: 'cloudbilling' }, status: 503 });
    const run = await runAction('cost-cleanup', { inputs: { ...INPUTS, kubeconfig: kubernetesOf(fx.sb).get('mlabs')?.kubeconfigPath ?? '' }, env: fx.env });
    assert.equal(run.exitCode, 0, run.main.log);
    const report = parse(run.outputs.report ?? '');
    assert.equal(report.findings.filter((f) => f.action === 'would delete').length, 6);
    assert.equal(report.prices.source, 'fallback');
    assert.match(run.summary, /table shipped with the action, dated \d{4}-\d{2}-\d{2}/);
    assert.ok(fx.sb.requests.filter((r) => r.status === 429).length >= 12);
  } finally {
    await fx.stop();
  }
});

test('bad thresholds and the Terraform state bucket are refused by name before any call', async () => {
  const fx = await start();
  try {
    const cases: [Record<string, string>, RegExp][] = [
      [{ idle_minutes: '-5' }, /idle_minutes/],
      [{ disk_days: 'soon' }, /disk_days/],
      [{ snapshot_days: '0' }, /snapshot_days/],
      [{ mode: 'delete-everything' }, /mode/],
      [{ bucket: `${PROJECT}-tfstate` }, /bucket.*Terraform state bucket/s],
      [{ images: 'docker.io/library/nginx' }, /images/],
    ];
    for (const [bad, re] of cases) {
      const before = fx.sb.requests.length;
      const run = await runAction('cost-cleanup', { inputs: { ...INPUTS, ...bad }, env: fx.env });
      assert.equal(run.exitCode, 1, JSON.stringify(bad));
      assert.match(run.main.annotations.filter((a) => a.level === 'error').map((a) => a.message).join('\n'), re);
      assert.deepEqual(fx.sb.requests.slice(before), [], `no call for ${JSON.stringify(bad)}`);
    }
  } finally {
    await fx.stop();
  }
});
