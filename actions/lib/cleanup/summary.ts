/** The job summary of a cost-cleanup run: a table by rule, every finding, how to restore each removed pool. */
import { Summary } from '../summary.js';
import { money, priceSourceText, type PriceTable } from './pricing.js';
import { RULES } from './rules.js';
import type { CleanupReport } from './run.js';

const RULE_TEXT: Record<string, string> = {
  'idle-gpu-pool': 'Idle GPU node pools',
  'unattached-disk': 'Unattached persistent disks',
  'image-retention': 'Images beyond retention',
  'old-pool-snapshot': 'Old node-pool snapshots',
};

export function writeCleanupSummary(r: CleanupReport, prices: PriceTable, restoreWorkflow = 'gke-gpu-restore'): void {
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
      const fs = r.findings.filter((f) => f.rule === rule);
      const err = r.ruleErrors.find((e) => e.rule === rule);
      return [
        RULE_TEXT[rule] ?? rule,
        err ? 'not evaluated' : fs.length,
        fs.filter((f) => f.action === acted).length,
        fs.filter((f) => f.action === 'protected').length,
        fs.filter((f) => f.action === 'failed').length,
        money(fs.filter((f) => f.action !== 'protected').reduce((a, f) => a + f.monthlyUsd, 0)),
      ];
    }),
  );
  if (r.findings.length) {
    s.heading('Findings', 3).table(
      ['Rule', 'Resource', 'Age', '$/hour', '$/month', 'Action', 'Snapshot'],
      r.findings.map((f) => [f.rule, f.resource, f.age, f.hourlyUsd.toFixed(4), money(f.monthlyUsd), f.action + (f.protectedBy ? ` (${f.protectedBy})` : '') + (f.error ? `: ${f.error}` : ''), f.snapshotUri ?? '']),
    );
  }
  const restored = r.findings.filter((f) => f.rule === 'idle-gpu-pool' && f.action === 'deleted' && f.snapshotUri);
  if (restored.length) {
    s.heading('How to bring a removed pool back', 3).list(
      restored.map((f) => {
        const pool = f.target.kind === 'pool' ? f.target.pool : f.resource;
        return `\`${pool}\`: run the **${restoreWorkflow}** workflow with pool \`${pool}\` and snapshot \`${f.snapshotUri}\` (or \`latest\`).`;
      }),
    );
  }
  const disks = r.findings.filter((f) => f.rule === 'unattached-disk' && f.action === 'deleted' && f.snapshotUri);
  if (disks.length) {
    s.list(disks.map((f) => `${f.resource}: recreate with \`gcloud compute disks create NAME --source-snapshot ${(f.snapshotUri ?? "").split('/').pop()}\`.`));
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
  if (r.remaining.length) s.heading('Not done', 3).list(r.remaining);
  if (r.notes.length) s.details('Also looked at', r.notes.map((n) => `- ${n}`).join('\n'));
  s.paragraph(priceSourceText(prices));
  s.write();
}
