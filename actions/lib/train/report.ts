/** train-job's outputs and job summary: outcome, timeline, where it ran, GPU hours and cost, the last log lines on failure. */
import { findGpuType } from '../gpu.js';
import { setOutput } from '../runner.js';
import { Summary } from '../summary.js';
import type { TrackedRun } from './mlflow.js';
import type { RunResult } from './run.js';
import type { Workload } from './spec.js';

export interface Figures {
  durationSeconds: number;
  queuedSeconds: number;
  gpuHours: number;
  costUsd: number;
  /** USD per GPU-hour used (0 on the private machines). */
  rate: number;
}

const round = (x: number, digits: number): number => Math.round(x * 10 ** digits) / 10 ** digits;

/** Duration, queue time, GPU hours and cost: the cloud route prices its GPUs from the suite's GPU table, the private machines cost 0. */
export function figures(w: Workload, r: RunResult): Figures {
  const t = r.timeline;
  const end = t.finished ?? Date.now();
  const durationSeconds = t.running !== undefined ? Math.max(0, (end - t.running) / 1000) : 0;
  const queuedSeconds = t.created !== undefined ? Math.max(0, ((t.admitted ?? end) - t.created + (t.requeued ?? 0)) / 1000) : 0;
  const gpuHours = (w.gpus * w.nodes * durationSeconds) / 3600;
  const type = w.target === 'cloud' ? findGpuType(r.gpu || w.accelerator) : undefined;
  const rate = type ? (r.spot ? type.price.spot : type.price.onDemand) : 0;
  return { durationSeconds: round(durationSeconds, 1), queuedSeconds: round(queuedSeconds, 1), gpuHours: round(gpuHours, 4), costUsd: round(gpuHours * rate, 4), rate };
}

/** The MLflow run as train-job made it (or why it did not). */
export interface Tracking {
  run?: TrackedRun;
  skipped?: string;
}

export function writeOutputs(w: Workload, r: RunResult, f: Figures, tracking: Tracking = {}): void {
  setOutput('mlflow_run_id', tracking.run?.runId ?? '');
  setOutput('mlflow_run_url', tracking.run?.url ?? '');
  setOutput('name', w.name);
  setOutput('outcome', r.outcome);
  setOutput('exit_code', r.exitCode === undefined ? '' : String(r.exitCode));
  setOutput('duration_seconds', String(f.durationSeconds));
  setOutput('queued_seconds', String(f.queuedSeconds));
  setOutput('gpu_hours', String(f.gpuHours));
  setOutput('estimated_cost_usd', String(f.costUsd));
  setOutput('node', r.node);
  setOutput('gpu', r.gpu);
}

const clock = (ms: number | undefined): string => (ms === undefined ? '' : new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z'));
const fence = (lines: string[]): string => lines.join('\n').replace(/```/g, "'''").slice(-60_000);

function mlflowCell(w: Workload, t: Tracking): string {
  const m = w.mlflow;
  if (!m) return '';
  if (!t.run) return `experiment ${m.experiment}, run ${m.runName} at ${m.trackingUri}${t.skipped ? ` (no run created: ${t.skipped})` : ''}`;
  const via = t.run.via === m.trackingUri ? '' : `; reached through ${t.run.via}, the link through the local stack's tunnel (local-stack's mlflow_tunnel)`;
  const ended = t.run.endedAs ? `; the trainer left it running: ended as ${t.run.endedAs}` : '';
  return `[run ${m.runName}](${t.run.url}) (${t.run.runId}${t.run.resumed ? ', resumed' : ''}) in experiment ${m.experiment} at ${m.trackingUri}${via}${ended}`;
}

export function writeSummary(w: Workload, r: RunResult, f: Figures, cleanupNote: string, tracking: Tracking = {}): void {
  const t = r.timeline;
  const where = w.target === 'cloud' ? `GKE burst pool${w.pool ? ` ${w.pool}` : ''} (${w.accelerator})` : `private machine ${w.runnerLabel || '(kubeconfig)'}`;
  const s = new Summary()
    .heading(`train-job ${w.name}: ${r.outcome}`)
    .table(['', ''], [
      [w.engine === 'ray' ? 'RayJob' : 'Job', `${w.namespace}/${w.name}${r.adopted ? ' (adopted: it already existed with this workload)' : ''}`],
      ['where', `${where}${r.node ? `, node ${r.node}` : ''}${r.gpu ? `, GPU ${r.gpu}` : ''}`],
      ['image', w.image],
      ...(w.queue ? [['queue', `LocalQueue ${w.queue}${r.queue?.clusterQueue ? ` (ClusterQueue ${r.queue.clusterQueue})` : ''}: ${t.admitted !== undefined ? `admitted after ${f.queuedSeconds} s${r.queue?.flavors.length ? `, flavor ${r.queue.flavors.join(', ')}` : ''}` : `not admitted after ${f.queuedSeconds} s${r.queue?.message ? ` (${r.queue.message})` : ''}`}`]] : []),
      ['outcome', `${r.outcome}${r.exitCode !== undefined ? ` (exit code ${r.exitCode})` : ''}${r.reason ? `: ${r.reason}` : ''}`],
      ['GPU hours', `${f.gpuHours} (${w.nodes} ${w.engine === 'ray' ? 'Ray worker' : 'node'}${w.nodes > 1 ? 's' : ''} × ${w.gpus} GPU)`],
      ['estimated cost', w.target === 'cloud' ? `$${f.costUsd.toFixed(2)} at $${f.rate.toFixed(2)}/GPU-hour${r.spot ? ' Spot' : ''} (suite price table, not billing)` : '$0 (private machine)'],
      ...(w.mlflow ? [['MLflow', mlflowCell(w, tracking)]] : []),
      ['cleanup', cleanupNote],
    ])
    .heading('Timeline', 3)
    .table(['created', 'admitted', 'running', 'finished', 'queued', 'ran'], [[clock(t.created), clock(t.admitted), clock(t.running), clock(t.finished), `${f.queuedSeconds} s`, `${f.durationSeconds} s`]]);
  if (r.outcome !== 'succeeded' && r.tail.length) s.heading('Last log lines', 3).code(fence(r.tail));
  s.write();
}
