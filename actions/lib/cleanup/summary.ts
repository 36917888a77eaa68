/**
 * The job summary of a cost-cleanup run: a table by rule, the costliest findings, how to restore each
 * removed pool. Every list is bounded (LISTED), so the summary stays far below GitHub's 1 MiB per step
 * at any size; the report file has everything.
 */
import { Summary } from '../summary.js';
import { money, priceSourceText, type PriceTable } from './pricing.js';
import { RULES } from './rules.js';
import { costliest, LISTED, totals, type CleanupReport, type SavedReport } from './run.js';

/** The first LISTED items, and a line saying how many more the report file has. */
function bounded(items: string[], where: string): string[] {
  return items.length > LISTED ? [...items.slice(0, LISTED), `… and ${items.length - LISTED} more (${where})`] : items;
}

const RULE_TEXT: Record<string, string> = {
  'idle-gpu-pool': 'Idle GPU node pools',
  'unattached-disk': 'Unattached persistent disks',
  'image-retention': 'Images beyond retention',
  'old-pool-snapshot': 'Old node-pool snapshots',
};

export function writeCleanupSummary(r: CleanupReport, prices: PriceTable, saved: SavedReport, restoreWorkflow = 'gke-gpu-restore'): void {
  const where = `every one is in ${saved.uri ?? saved.file}`;
  const { byRule } = totals(r);
  const s = new Summary().heading(`Cost clean-up (${r.mode}) — ${r.project}/${r.location}/${r.cluster}`);
  const acted = r.mode === 'enforce' ? 'deleted' : 'would delete';
  s.paragraph(
    r.mode === 'enforce'
      ? `Removed resources save about **${money(r.savedPerMonth)} per month** (less the snapshots kept).`
      : `Report only, nothing changed. Enforcing would save about **${money(r.savedPerMonth)} per month**.`,
  );
  s.table(
    ['Rule', 'Findings', acted === 'deleted' ? 'Deleted' : 'Would delete', 'Protected', 'Failed', 'Cost / month'],
    RULES.map((rule) => {
      const t = byRule[rule];
      const err = r.ruleErrors.find((e) => e.rule === rule);
      return [RULE_TEXT[rule] ?? rule, err ? 'not evaluated' : t.findings, t.acted, t.protected, t.failed, money(t.monthlyUsd)];
    }),
  );
  if (r.findings.length) {
    const listed = costliest(r.findings);
    s.heading(listed.length < r.findings.length ? `The ${listed.length} costliest of ${r.findings.length} findings` : 'Findings', 3);
    if (listed.length < r.findings.length) s.paragraph(`The full report lists them all (see below).`);
    s.table(
      ['Rule', 'Resource', 'Age', '$/hour', '$/month', 'Action', 'Snapshot'],
      listed.map((f) => [f.rule, f.resource, f.age, f.hourlyUsd.toFixed(4), money(f.monthlyUsd), f.action + (f.protectedBy ? ` (${f.protectedBy})` : '') + (f.error ? `: ${f.error}` : ''), f.snapshotUri ?? '']),
    );
  }
  const restored = r.findings.filter((f) => f.rule === 'idle-gpu-pool' && f.action === 'deleted' && f.snapshotUri);
  if (restored.length) {
    s.heading('How to bring a removed pool back', 3).list(
      bounded(
        restored.map((f) => {
          const pool = f.target.kind === 'pool' ? f.target.pool : f.resource;
          return `\`${pool}\`: run the **${restoreWorkflow}** workflow with pool \`${pool}\` and snapshot \`${f.snapshotUri}\` (or \`latest\`).`;
        }),
        where,
      ),
    );
  }
  const disks = r.findings.filter((f) => f.rule === 'unattached-disk' && f.action === 'deleted' && f.snapshotUri);
  if (disks.length) {
    s.list(bounded(disks.map((f) => `${f.resource}: recreate with \`gcloud compute disks create NAME --source-snapshot ${(f.snapshotUri ?? '').split('/').pop()}\`.`), where));
  }
  if (r.platform) {
    s.heading(`What the cluster costs now: about ${money(r.platform.monthlyUsd)} per month`, 3).table(
      ['Node pool', 'Nodes', 'Machine', 'GPUs', '$/hour', '$/month'],
      [
        ...r.platform.pools.map((p) => [p.pool, p.nodes, p.machineType, p.gpus, p.hourlyUsd.toFixed(4), money(p.monthlyUsd)]),
        ['GKE cluster fee', '', '', '', '', money(r.platform.clusterFeeMonthlyUsd)],
      ],
    );
  }
  if (r.remaining.length) s.heading('Not done', 3).list(bounded(r.remaining, where));
  if (r.notes.length) s.details('Also looked at', bounded(r.notes, where).map((n) => `- ${n}`).join('\n'));
  s.paragraph(`Full report: \`${saved.file}\` on the runner (the \`report_file\` output)${saved.uri ? ` and \`${saved.uri}\` (\`report_uri\`)` : ''}.`);
  s.paragraph(priceSourceText(prices));
  s.write();
}
