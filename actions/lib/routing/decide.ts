/**
 * Private first: run a job on the best local machine that fits and is online (idle first; a busy one
 * while its queue is under the limit), else burst to the cloud when policy allows (data not sensitive,
 * allow_cloud, the accelerator holds the job, its hourly estimate within max_hourly_usd), else wait on
 * the best local machine that fits, else fail with every reason. Pure: no I/O, the caller brings the
 * live state.
 */
import { estimateHourlyCost, gpusPerNodeOptions, type GpuType } from '../gpu.js';
import type { QueuedJob, RunnerState } from './github.js';
import type { Arch, Machine } from './machines.js';

export type DataClass = 'public' | 'internal' | 'sensitive';

export interface JobNeeds {
  /** Total GPU memory the job needs, GB. */
  gpuMemoryGb: number;
  gpus: number;
  arch: 'any' | Arch;
  dataClass: DataClass;
  /** A busy machine is acceptable while it has at most this many queued jobs (undefined: no count limit). */
  maxQueuedJobs?: number;
  /** ... and while its oldest queued job has waited at most this long (undefined: no age limit). */
  maxQueueMinutes?: number;
  allowCloud: boolean;
  maxHourlyUsd: number;
  cloudAccelerator: GpuType;
  cloudGpus: number;
}

export interface MachineVerdict {
  label: string;
  machine: Machine;
  fits: boolean;
  /** Why it does not fit (empty when it fits). */
  fitReasons: string[];
  /** Runners carrying the label. */
  runners: string[];
  online: boolean;
  /** Every online runner of the label is busy. */
  busy: boolean;
  /** Queued jobs targeting the label, and how long the oldest has waited. */
  queuedJobs: number;
  oldestQueuedMinutes: number;
  queueOk: boolean;
  /** Runs now (fits, online, idle or busy under the queue limit). */
  eligible: boolean;
  /** One sentence for the summary. */
  why: string;
}

export interface CloudVerdict {
  considered: boolean;
  allowed: boolean;
  accelerator: string;
  gpus: number;
  gpuMemoryGb: number;
  estimatedHourlyUsd: number;
  reasons: string[];
}

export type Decision = 'local' | 'cloud' | 'wait' | 'fail';

export interface RouteDecision {
  decision: Decision;
  target?: 'local' | 'cloud';
  machine?: MachineVerdict;
  runsOn?: string[];
  estimatedHourlyUsd: number;
  reason: string;
  machines: MachineVerdict[];
  cloud: CloudVerdict;
}

const same = (a: string, b: string): boolean => a.toLowerCase() === b.toLowerCase();

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

export function machineFit(m: Machine, needs: JobNeeds): string[] {
  const out: string[] = [];
  if (needs.arch !== 'any' && needs.arch !== m.arch) out.push(`is ${m.arch}, the job needs ${needs.arch}`);
  if (needs.gpus > m.gpus) out.push(`has ${plural(m.gpus, 'GPU')}, the job needs ${needs.gpus}`);
  if (needs.gpuMemoryGb > m.gpuMemoryGb) out.push(`has ${m.gpuMemoryGb} GB of GPU memory${m.unifiedMemory ? ' (unified)' : ''}, the job needs ${needs.gpuMemoryGb} GB`);
  return out;
}

export function assessMachines(machines: readonly Machine[], needs: JobNeeds, runners: RunnerState[], queued: QueuedJob[], now = Date.now()): MachineVerdict[] {
  return machines.map((m) => {
    const fitReasons = machineFit(m, needs);
    const mine = runners.filter((r) => r.labels.some((l) => same(l, m.label)));
    const online = mine.filter((r) => r.status === 'online');
    const busy = online.length > 0 && online.every((r) => r.busy);
    const jobs = queued.filter((j) => j.labels.some((l) => same(l, m.label)));
    const oldest = jobs.reduce((max, j) => Math.max(max, (now - Date.parse(j.createdAt)) / 60000), 0);
    const oldestQueuedMinutes = Math.max(0, Math.floor(oldest));
    const overCount = needs.maxQueuedJobs !== undefined && jobs.length > needs.maxQueuedJobs;
    const overAge = needs.maxQueueMinutes !== undefined && jobs.length > 0 && oldestQueuedMinutes > needs.maxQueueMinutes;
    const queueOk = !overCount && !overAge;
    const fits = fitReasons.length === 0;
    const eligible = fits && online.length > 0 && (!busy || queueOk);
    let why: string;
    if (!fits) why = `does not fit: ${fitReasons.join('; ')}`;
    else if (mine.length === 0) why = `no runner with the label ${m.label} is registered`;
    else if (online.length === 0) why = `fits, but ${mine.length === 1 ? `its runner ${mine[0]?.name} is` : 'all its runners are'} offline`;
    else if (!busy) why = `fits and is online and idle${jobs.length ? ` (${plural(jobs.length, 'queued job')})` : ''}`;
    else if (queueOk) why = `fits; busy, but its queue (${plural(jobs.length, 'job')}${jobs.length ? `, oldest ${oldestQueuedMinutes} min` : ''}) is within the limit`;
    else {
      const limits = [
        overCount ? `${plural(jobs.length, 'queued job')} > max_queued_jobs ${needs.maxQueuedJobs}` : '',
        overAge ? `oldest queued job waited ${oldestQueuedMinutes} min > max_queue_minutes ${needs.maxQueueMinutes}` : '',
      ].filter(Boolean);
      why = `fits, but busy with a long queue: ${limits.join('; ')}`;
    }
    return {
      label: m.label,
      machine: m,
      fits,
      fitReasons,
      runners: mine.map((r) => r.name),
      online: online.length > 0,
      busy,
      queuedJobs: jobs.length,
      oldestQueuedMinutes,
      queueOk,
      eligible,
      why,
    };
  });
}

export function assessCloud(needs: JobNeeds): CloudVerdict {
  const type = needs.cloudAccelerator;
  const gpuMemoryGb = type.memoryGb * needs.cloudGpus;
  const estimatedHourlyUsd = estimateHourlyCost(type, needs.cloudGpus);
  const reasons: string[] = [];
  if (needs.dataClass === 'sensitive') reasons.push('data_class is sensitive: sensitive data never leaves the private machines');
  if (!needs.allowCloud) reasons.push('allow_cloud is false');
  const perNode = gpusPerNodeOptions(type);
  if (!perNode.includes(needs.cloudGpus)) reasons.push(`a ${type.name} node carries ${perNode.join(', ')} GPUs, not cloud_gpus ${needs.cloudGpus}`);
  if (needs.gpus > needs.cloudGpus) reasons.push(`cloud_gpus ${needs.cloudGpus} is fewer than the ${needs.gpus} GPUs the job needs`);
  if (needs.gpuMemoryGb > gpuMemoryGb) reasons.push(`${needs.cloudGpus} × ${type.name} hold ${gpuMemoryGb} GB of GPU memory, the job needs ${needs.gpuMemoryGb} GB`);
  if (needs.arch === 'arm64') reasons.push('the job needs arm64 and GKE GPU nodes are amd64');
  if (estimatedHourlyUsd > needs.maxHourlyUsd) reasons.push(`estimated $${estimatedHourlyUsd.toFixed(2)}/hour for ${needs.cloudGpus} × ${type.name} is over max_hourly_usd $${needs.maxHourlyUsd.toFixed(2)}`);
  return { considered: true, allowed: reasons.length === 0, accelerator: type.name, gpus: needs.cloudGpus, gpuMemoryGb, estimatedHourlyUsd, reasons };
}

/** Fitting machines, best first: idle before busy, then the smallest that holds the job, then table order. */
function rank(vs: MachineVerdict[]): MachineVerdict[] {
  return vs
    .map((v, i) => ({ v, i }))
    .sort((a, b) => Number(a.v.busy) - Number(b.v.busy) || a.v.machine.gpuMemoryGb - b.v.machine.gpuMemoryGb || a.i - b.i)
    .map((x) => x.v);
}

const runsOnFor = (label: string): string[] => ['self-hosted', label];

export function decide(machines: readonly Machine[], needs: JobNeeds, runners: RunnerState[], queued: QueuedJob[], now = Date.now()): RouteDecision {
  const verdicts = assessMachines(machines, needs, runners, queued, now);
  const cloud = assessCloud(needs);
  const base = { machines: verdicts, cloud };

  const runNow = rank(verdicts.filter((v) => v.eligible))[0];
  if (runNow) {
    return {
      ...base,
      decision: 'local',
      target: 'local',
      machine: runNow,
      runsOn: runsOnFor(runNow.label),
      estimatedHourlyUsd: 0,
      reason: `Runs on ${runNow.label}: it ${runNow.why.replace(/^fits/, 'fits the job')}.`,
    };
  }
  if (cloud.allowed) {
    const local = verdicts.filter((v) => v.fits).length ? 'the local machines that fit are offline or busy with a long queue' : 'no local machine fits';
    return {
      ...base,
      decision: 'cloud',
      target: 'cloud',
      estimatedHourlyUsd: cloud.estimatedHourlyUsd,
      reason: `Bursts to the cloud on ${cloud.gpus} × ${cloud.accelerator} (about $${cloud.estimatedHourlyUsd.toFixed(2)}/hour): ${local}.`,
    };
  }
  // Wait: the best fitting machine, online ones (busy) before offline ones.
  const fitting = verdicts.filter((v) => v.fits && v.runners.length > 0);
  const waitOn = [...rank(fitting.filter((v) => v.online)), ...rank(fitting.filter((v) => !v.online))][0];
  if (waitOn) {
    return {
      ...base,
      decision: 'wait',
      target: 'local',
      machine: waitOn,
      runsOn: runsOnFor(waitOn.label),
      estimatedHourlyUsd: 0,
      reason:
        `Waits for ${waitOn.label} (${waitOn.online ? `busy, ${plural(waitOn.queuedJobs, 'queued job')}` : 'offline now'}; GitHub keeps a job queued up to 24 hours): ` +
        `no local machine can take it now and the cloud is not allowed (${cloud.reasons.join('; ')}).`,
    };
  }
  const localWhy = verdicts.map((v) => `${v.label} ${v.why}`).join('; ');
  return {
    ...base,
    decision: 'fail',
    estimatedHourlyUsd: 0,
    reason: `Nothing can run this job under this policy: no local machine fits (${localWhy}) and the cloud is not allowed (${cloud.reasons.join('; ')}).`,
  };
}
