import { runAction } from '../lib/entry.js';
import { ActionError, InputError } from '../lib/errors.js';
import { gpusPerNodeOptions, orList, readAccelerator } from '../lib/gpu.js';
import { readBool, readEnum, readInt, readNumber, readOptionalInt, readSecret, readString } from '../lib/inputs.js';
import { info, setOutput } from '../lib/runner.js';
import { decide, type JobNeeds } from '../lib/routing/decide.js';
import { listAllRunners, listQueuedJobs } from '../lib/routing/github.js';
import { DEFAULT_MACHINES, parseMachines } from '../lib/routing/machines.js';
import { routeSummary } from '../lib/routing/summary.js';

const REPO = /^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/;
const LABEL = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

/** Every input, read and checked once. */
function readInputs() {
  const token = readSecret('github_token', { required: true, header: true, requiredBecause: 'to read the runners and queued jobs from the GitHub REST API' });
  const repository = readString('repository', { pattern: REPO, accepted: 'owner/name' }) || (process.env.GITHUB_REPOSITORY ?? '');
  if (repository === '') throw new InputError('repository', '', 'expected owner/name (GITHUB_REPOSITORY is not set either).');
  if (!REPO.test(repository)) throw new InputError('repository', repository, 'expected owner/name (this is GITHUB_REPOSITORY).');
  const accelerator = readAccelerator('cloud_accelerator');
  let maxQueuedJobs = readOptionalInt('max_queued_jobs', { min: 0, max: 10000 });
  const maxQueueMinutes = readOptionalInt('max_queue_minutes', { min: 0, max: 7 * 24 * 60 });
  if (maxQueuedJobs === undefined && maxQueueMinutes === undefined) maxQueuedJobs = 2;
  const cloudGpus = readInt('cloud_gpus', { min: 1, max: 16 });
  const perNode = gpusPerNodeOptions(accelerator);
  if (!perNode.includes(cloudGpus)) throw new InputError('cloud_gpus', String(cloudGpus), `a ${accelerator.name} node carries ${orList(perNode)} GPUs.`);
  const needs: JobNeeds = {
    gpuMemoryGb: readNumber('gpu_memory_gb', { max: 100000 }),
    gpus: readInt('gpus', { min: 0, max: 64 }),
    arch: readEnum('arch', ['any', 'amd64', 'arm64'] as const),
    dataClass: readEnum('data_class', ['public', 'internal', 'sensitive'] as const),
    maxQueuedJobs,
    maxQueueMinutes,
    allowCloud: readBool('allow_cloud'),
    maxHourlyUsd: readNumber('max_hourly_usd', { max: 100000 }),
    cloudAccelerator: accelerator,
    cloudGpus,
  };
  const cloudRunner = readString('cloud_runner_label', { pattern: LABEL, accepted: 'a runner label such as wsl2' });
  const machinesRaw = readString('machines');
  const machines = machinesRaw.trim() === '' ? [...DEFAULT_MACHINES] : parseMachines(machinesRaw);
  const orgRunners = readEnum('org_runners', ['auto', 'required', 'off'] as const);
  return { token, repository, needs, cloudRunner, machines, orgRunners };
}

await runAction({
  main: async () => {
    const { token, repository, needs, cloudRunner, machines, orgRunners } = readInputs();

    const runId = Number(process.env.GITHUB_RUN_ID);
    const client = { token, repository, ...(Number.isSafeInteger(runId) && runId > 0 ? { excludeRunId: runId } : {}) };
    const { runners, orgNote } = await listAllRunners(client, orgRunners);
    const queued = await listQueuedJobs(client);
    const fromOrg = runners.filter((r) => r.scope === 'organization').length;
    info(`${repository}: ${runners.length - fromOrg} repository and ${fromOrg} organisation self-hosted runner(s), ${queued.length} queued job(s) in other runs.`);
    if (orgNote) info(orgNote);

    const d = decide(machines, needs, runners, queued);
    const summary = routeSummary(d, needs);
    if (orgNote) summary.paragraph(orgNote);
    summary.write();
    setOutput(
      'machines',
      JSON.stringify(
        d.machines.map((v) => ({
          label: v.label,
          fits: v.fits,
          online: v.online,
          busy: v.busy,
          queued_jobs: v.queuedJobs,
          oldest_queued_minutes: v.oldestQueuedMinutes,
          eligible: v.eligible,
          why: v.why,
        })),
      ),
    );
    setOutput('reason', d.reason);
    if (d.decision === 'fail') {
      throw new ActionError(d.reason, {
        fix: 'Lower gpu_memory_gb/gpus, or let the job burst (allow_cloud: true, a data_class other than sensitive, a cloud_accelerator and cloud_gpus that hold it, and a max_hourly_usd that covers it).',
      });
    }
    setOutput('decision', d.decision);
    setOutput('target', d.target ?? '');
    if (d.target === 'cloud') {
      setOutput('runner_label', '');
      setOutput('runs_on', JSON.stringify(['self-hosted', cloudRunner]));
      setOutput('cloud_accelerator', d.cloud.accelerator);
      setOutput('cloud_gpus', d.cloud.gpus);
      setOutput('estimated_hourly_usd', d.cloud.estimatedHourlyUsd.toFixed(2));
    } else {
      setOutput('runner_label', d.machine?.label ?? '');
      setOutput('runs_on', JSON.stringify(d.runsOn ?? []));
      setOutput('cloud_accelerator', '');
      setOutput('cloud_gpus', '');
      setOutput('estimated_hourly_usd', '0');
    }
    info(d.reason);
  },
});
