/** Job summaries for the node-pool actions: pool, zone, GPUs, every attempt, hourly cost. */
import { Summary } from '../summary.js';
import type { ClusterRef, NodePool } from '../google/container.js';
import { costText, gpuText, poolGpus } from './cost.js';
import type { Attempt } from './failover.js';

export interface PoolReport {
  title: string;
  ref: ClusterRef;
  poolName: string;
  pool?: NodePool;
  outcome: string;
  zones?: string[];
  attempts?: Attempt[];
  rows?: [string, string][];
  notes?: string[];
}

export function attemptRows(attempts: Attempt[]): (string | number)[][] {
  return attempts.map((a, i) => [i + 1, a.zone || '(pool default)', a.outcome, a.message ?? '', a.cleanup ?? '', `${a.seconds} s`]);
}

export function writePoolSummary(r: PoolReport): void {
  const s = new Summary().heading(r.title);
  const rows: [string, string][] = [
    ['Pool', `${r.poolName} in ${r.ref.project}/${r.ref.location}/${r.ref.cluster}`],
    ['Result', r.outcome],
  ];
  if (r.zones?.length) rows.push(['Zone', r.zones.join(', ')]);
  if (r.pool) {
    const g = poolGpus(r.pool);
    rows.push(['Machine', r.pool.config?.machineType ?? '']);
    rows.push(['GPUs', gpuText(g)]);
    rows.push(['Cost estimate', costText(g)]);
    if (r.pool.version) rows.push(['Node version', r.pool.version]);
  }
  rows.push(...(r.rows ?? []));
  s.table(['Item', 'Value'], rows);
  if (r.attempts?.length) s.heading('Attempts', 3).table(['#', 'Zone', 'Outcome', 'Message', 'Clean-up', 'Time'], attemptRows(r.attempts));
  if (r.notes?.length) s.list(r.notes);
  s.write();
}
