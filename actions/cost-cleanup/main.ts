import { runAction } from '../lib/entry.js';
import { ActionError, InputError } from '../lib/errors.js';
import { regionOfZone } from '../lib/gpu.js';
import { readEnum, readInt, readList, readString } from '../lib/inputs.js';
import { BUCKET_PATTERN, NAME_PATTERN, readBucket, readCommon } from '../lib/nodepool/inputs.js';
import { setOutput } from '../lib/runner.js';
import { accessFromGke, accessFromKubeconfig } from '../lib/cleanup/kube.js';
import { loadPrices } from '../lib/cleanup/pricing.js';
import { LISTED, reportOutput, runCleanup, saveReport } from '../lib/cleanup/run.js';
import { writeCleanupSummary } from '../lib/cleanup/summary.js';

const IMAGE = /^[a-z0-9-]+-docker\.pkg\.dev\/[^/@:\s]+\/[^/@:\s]+\/[^@:\s]+$/;
const PATTERN = /^[A-Za-z0-9_.*/:@-]+$/;

/** Every input, read and checked once. */
function readInputs() {
  const mode = readEnum('mode', ['report', 'enforce'] as const);
  const { ref, deadline } = readCommon({ pool: false });
  const bucket = readBucket(true);
  const stateBucket = readString('terraform_state_bucket', { pattern: BUCKET_PATTERN, accepted: 'a bucket name' }) || `${ref.project}-tfstate`;
  if (bucket === stateBucket) {
    throw new InputError('bucket', bucket, 'this is the Terraform state bucket, which cost-cleanup never touches.', 'Pass the node-pool snapshot bucket (terraform output nodepool_snapshot_bucket).');
  }
  const cleanup = {
    ref,
    bucket,
    idleMinutes: readInt('idle_minutes', { min: 0, max: 7 * 24 * 60 }),
    diskDays: readInt('disk_days', { min: 1, max: 3650 }),
    snapshotDays: readInt('snapshot_days', { min: 1, max: 3650 }),
    images: readList('images', { item: IMAGE, accepted: 'an Artifact Registry image LOCATION-docker.pkg.dev/PROJECT/REPOSITORY/IMAGE (no tag or digest)', unique: true }),
    retention: {
      keep: readInt('image_keep', { min: 0, max: 1000 }),
      minAgeDays: readInt('image_min_age_days', { min: 0, max: 3650 }),
      protectTags: readList('image_protect_tags', { item: /^[A-Za-z0-9_.*-]+$/, accepted: 'a tag or a pattern with *' }),
    },
    protect: readList('protect', { item: PATTERN, accepted: 'a name pattern (letters, digits, - _ . / : @ and * wildcards)' }),
    systemPools: readList('system_pools', { item: NAME_PATTERN, accepted: 'a node pool name' }),
  };
  const kubeconfig = readString('kubeconfig');
  return { mode, ref, bucket, cleanup, kubeconfig, deadline };
}

await runAction({
  async main() {
    const { mode, ref, bucket, cleanup, kubeconfig, deadline } = readInputs();
    const prices = await loadPrices(regionOfZone(ref.location));
    const report = await runCleanup(
      { ...cleanup, now: new Date() },
      { mode, deadline, prices, kube: () => (kubeconfig ? accessFromKubeconfig(kubeconfig) : accessFromGke(ref)) },
    );
    const saved = await saveReport(report, bucket);
    setOutput('report', reportOutput(report, saved));
    setOutput('report_file', saved.file);
    setOutput('report_uri', saved.uri ?? '');
    setOutput('saved_per_month', report.savedPerMonth.toFixed(2));
    setOutput('findings', report.findings.filter((f) => f.action !== 'protected').length);
    setOutput('remaining', report.remaining.length);
    setOutput('platform_per_month', report.platform ? report.platform.monthlyUsd.toFixed(2) : '');
    writeCleanupSummary(report, prices, saved);
    if (report.remaining.length) {
      const more = report.remaining.length > LISTED ? `\n  ... and ${report.remaining.length - LISTED} more, in ${saved.uri ?? saved.file}` : '';
      throw new ActionError(`cost-cleanup left ${report.remaining.length} item(s) undone:\n${report.remaining.slice(0, LISTED).map((r) => `  - ${r}`).join('\n')}${more}`, {
        fix: 'Each is in place and listed in the report file; fix the cause and re-run (the run is idempotent).',
      });
    }
  },
});
