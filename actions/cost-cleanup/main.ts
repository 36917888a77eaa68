import { runAction } from '../lib/entry.js';
import { ActionError, InputError } from '../lib/errors.js';
import { regionOfZone } from '../lib/gpu.js';
import { readActionTimeout, readEnum, readInt, readList, readString } from '../lib/inputs.js';
import { readProjectId } from '../lib/google/project.js';
import { readBucket, LOCATION_PATTERN, NAME_PATTERN } from '../lib/nodepool/inputs.js';
import { deadlineIn } from '../lib/operations.js';
import { setOutput } from '../lib/runner.js';
import { accessFromGke, accessFromKubeconfig } from '../lib/cleanup/kube.js';
import { loadPrices } from '../lib/cleanup/pricing.js';
import { LISTED, reportOutput, runCleanup, saveReport } from '../lib/cleanup/run.js';
import { writeCleanupSummary } from '../lib/cleanup/summary.js';

const IMAGE = /^[a-z0-9-]+-docker\.pkg\.dev\/[^/@:\s]+\/[^/@:\s]+\/[^@:\s]+$/;
const PATTERN = /^[A-Za-z0-9_.*/:@-]+$/;

await runAction({
  async main() {
    const mode = readEnum('mode', ['report', 'enforce'] as const, { default: 'report' });
    const project = readProjectId();
    const location = readString('location', { required: true, pattern: LOCATION_PATTERN, accepted: 'a region (us-central1) or zone (us-central1-a)' });
    const cluster = readString('cluster', { required: true, pattern: NAME_PATTERN, accepted: 'a GKE cluster name' });
    const bucket = readBucket(true);
    const stateBucket = readString('terraform_state_bucket', { pattern: /^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$/, accepted: 'a bucket name' }) || `${project}-tfstate`;
    if (bucket === stateBucket) {
      throw new InputError('bucket', bucket, 'this is the Terraform state bucket, which cost-cleanup never touches.', 'Pass the node-pool snapshot bucket (terraform output nodepool_snapshot_bucket).');
    }
    const idleMinutes = readInt('idle_minutes', { default: 60, min: 0, max: 7 * 24 * 60 });
    const diskDays = readInt('disk_days', { default: 7, min: 1, max: 3650 });
    const snapshotDays = readInt('snapshot_days', { default: 30, min: 1, max: 3650 });
    const images = readList('images', { item: IMAGE, accepted: 'an Artifact Registry image LOCATION-docker.pkg.dev/PROJECT/REPOSITORY/IMAGE (no tag or digest)', unique: true });
    const keep = readInt('image_keep', { default: 10, min: 0, max: 1000 });
    const minAgeDays = readInt('image_min_age_days', { default: 14, min: 0, max: 3650 });
    const protectTags = readList('image_protect_tags', { default: ['latest'], item: /^[A-Za-z0-9_.*-]+$/, accepted: 'a tag or a pattern with *' });
    const protect = readList('protect', { item: PATTERN, accepted: 'a name pattern (letters, digits, - _ . / : @ and * wildcards)' });
    const systemPools = readList('system_pools', { default: ['system'], item: NAME_PATTERN, accepted: 'a node pool name' });
    const kubeconfig = readString('kubeconfig');
    const timeoutSeconds = readActionTimeout({ default: 3600, min: 10, max: 6 * 3600 });
    const ref = { project, location, cluster };

    const prices = await loadPrices(regionOfZone(location));
    const report = await runCleanup(
      { ref, bucket, idleMinutes, diskDays, snapshotDays, images, retention: { keep, minAgeDays, protectTags }, protect, systemPools, now: new Date() },
      { mode, deadline: deadlineIn(timeoutSeconds), prices, kube: () => (kubeconfig ? accessFromKubeconfig(kubeconfig) : accessFromGke(ref)) },
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
