/** The route-job summary: the decision, then every machine considered and why, then the cloud check. */
import { Summary } from '../summary.js';
import type { JobNeeds, RouteDecision } from './decide.js';

const yesNo = (b: boolean): string => (b ? 'yes' : 'no');

export function routeSummary(d: RouteDecision, needs: JobNeeds): Summary {
  const title = { local: `Route: ${d.machine?.label ?? ''} (local)`, wait: `Route: wait for ${d.machine?.label ?? ''} (local)`, cloud: `Route: cloud burst (${d.cloud.gpus} × ${d.cloud.accelerator})`, fail: 'Route: nothing fits' }[d.decision];
  const limits = [needs.maxQueuedJobs !== undefined ? `max ${needs.maxQueuedJobs} queued` : '', needs.maxQueueMinutes !== undefined ? `max ${needs.maxQueueMinutes} min waiting` : ''].filter(Boolean).join(', ');
  return new Summary()
    .heading(title)
    .paragraph(d.reason)
    .paragraph(
      `Job: ${needs.gpus} GPU(s), ${needs.gpuMemoryGb} GB GPU memory, arch ${needs.arch}, data ${needs.dataClass}; busy machines accepted while the queue is within ${limits}.`,
    )
    .table(
      ['Machine', 'Arch', 'GPU memory', 'Fits', 'Runners', 'Online', 'Busy', 'Queued jobs', 'Oldest queued (min)', 'Why'],
      d.machines.map((v) => [
        v.label,
        v.machine.arch,
        `${v.machine.gpuMemoryGb} GB${v.machine.unifiedMemory ? ' unified' : ''}`,
        yesNo(v.fits),
        v.runners.join(', '),
        yesNo(v.online),
        yesNo(v.busy),
        v.queuedJobs,
        v.oldestQueuedMinutes,
        v.why,
      ]),
    )
    .table(
      ['Cloud', 'GPUs', 'GPU memory', 'Estimated $/hour', 'Allowed', 'Why not'],
      [[d.cloud.accelerator, d.cloud.gpus, `${d.cloud.gpuMemoryGb} GB`, d.cloud.estimatedHourlyUsd.toFixed(2), yesNo(d.cloud.allowed), d.cloud.reasons.join('; ')]],
    );
}
