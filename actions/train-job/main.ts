import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { accessFromGke } from '../lib/cleanup/kube.js';
import { operationPollMs } from '../lib/config.js';
import { runAction } from '../lib/entry.js';
import { ActionError, describeError, InputError } from '../lib/errors.js';
import { findGpuType, gpusPerNodeOptions, orList } from '../lib/gpu.js';
import { inputValue, readDuration, readEnum, readInt, readOptionalInt, readString } from '../lib/inputs.js';
import { KubeClient } from '../lib/kubernetes/client.js';
import { parseQuantity } from '../lib/kubernetes/quantity.js';
import { PROJECT_ID_ACCEPTED, PROJECT_ID_PATTERN, readProjectId } from '../lib/google/project.js';
import { LOCATION_PATTERN, NAME_PATTERN } from '../lib/nodepool/inputs.js';
import { getState, info, saveState, warning } from '../lib/runner.js';
import { setDeadline } from '../lib/time.js';
import { CPU, CPU_ACCEPTED, DNS_LABEL, engineCheck, IMAGE, IMAGE_ACCEPTED, JOB_NAME, JOB_NAME_ACCEPTED, MEMORY, MEMORY_ACCEPTED, mlflowFor, NAMESPACE_ACCEPTED, parseArgList, parseEnvLines, queueCheck } from '../lib/train/inputs.js';
import { clientFor, closeRun, openRun, type SavedRun } from '../lib/train/mlflow.js';
import { figures, type Tracking, writeOutputs, writeSummary } from '../lib/train/report.js';
import { describeJob, removeWorkload, runTraining, type RunResult } from '../lib/train/run.js';
import { NAME_LABEL as MANAGED_BY_NAME, workloadRef, type Workload } from '../lib/train/spec.js';

const LABEL = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

/** How the post step reaches the cluster again. */
interface Access {
  kubeconfig?: string;
  gke?: { project: string; location: string; cluster: string };
}

function kubeconfigPath(): string {
  return readString('kubeconfig') || (process.env.KUBECONFIG ?? '').split(delimiter).find(Boolean) || join(homedir(), '.kube', 'config');
}

/** Every input, read and checked once. */
function readInputs() {
  const target = readEnum('target', ['local', 'cloud'] as const);
  const runnerLabel = readString('runner_label', { pattern: LABEL, accepted: 'a runner label such as dgx' });
  const acceleratorName = readString('cloud_accelerator', { required: target === 'cloud', pattern: /^[a-z0-9-]+$/, accepted: 'an accelerator type such as nvidia-l4 (route-job\'s cloud_accelerator)' });
  const accelerator = acceleratorName ? findGpuType(acceleratorName) : undefined;
  if (acceleratorName && !accelerator) throw new InputError('cloud_accelerator', acceleratorName, 'not an accelerator type the suite knows (see docs/actions/gpu-quota.md).');
  const cloudGpus = readOptionalInt('cloud_gpus', { min: 1, max: 16 });
  const pool = readString('pool', { pattern: NAME_PATTERN, accepted: 'a node pool name: lowercase letters, digits, hyphens, at most 40' });
  const cluster = readString('cluster', { pattern: NAME_PATTERN, accepted: 'a GKE cluster name: lowercase letters, digits, hyphens, at most 40' });
  const location = readString('location', { required: cluster !== '', pattern: LOCATION_PATTERN, accepted: 'a region (us-central1) or zone (us-central1-a)' });
  const projectInput = readString('project_id', { pattern: PROJECT_ID_PATTERN, accepted: PROJECT_ID_ACCEPTED });
  const project = cluster ? readProjectId() : projectInput;
  const kubeconfig = kubeconfigPath();
  const image = readString('image', { required: true, pattern: IMAGE, accepted: IMAGE_ACCEPTED });
  const command = parseArgList('command', inputValue('command'));
  const args = parseArgList('args', inputValue('args'));
  const env = parseEnvLines('env', inputValue('env'));
  const gpusRaw = readOptionalInt('gpus', { min: 0, max: 16 });
  const gpus = gpusRaw ?? (target === 'cloud' ? cloudGpus ?? 1 : 1);
  if (target === 'cloud' && accelerator && gpus > 0 && !gpusPerNodeOptions(accelerator).includes(gpus)) {
    throw new InputError(gpusRaw === undefined ? 'cloud_gpus' : 'gpus', String(gpus), `a ${accelerator.name} node carries ${orList(gpusPerNodeOptions(accelerator))} GPUs.`);
  }
  const nodes = readInt('nodes', { min: 1, max: 64 });
  const cpu = readString('cpu', { pattern: CPU, accepted: CPU_ACCEPTED });
  const memory = readString('memory', { pattern: MEMORY, accepted: MEMORY_ACCEPTED });
  if (cpu && !(parseQuantity(cpu) > 0)) throw new InputError('cpu', cpu, 'expected more than 0.');
  if (memory && !(parseQuantity(memory) > 0)) throw new InputError('memory', memory, 'expected more than 0.');
  const namespace = readString('namespace', { required: true, pattern: DNS_LABEL, accepted: NAMESPACE_ACCEPTED });
  const runId = process.env.GITHUB_RUN_ID ?? '';
  const attempt = process.env.GITHUB_RUN_ATTEMPT ?? '1';
  const name = readString('name', { pattern: JOB_NAME, accepted: JOB_NAME_ACCEPTED }) || (runId ? `train-${runId}-${attempt}` : '');
  if (!name) throw new InputError('name', '', 'no name was given and GITHUB_RUN_ID is not set to make one.', 'Set name, e.g. name: lora-run-1');
  const timeoutSeconds = readDuration('timeout', { min: 10, max: 7 * 24 * 3600 });
  const scheduleTimeoutSeconds = readDuration('schedule_timeout', { min: 1, max: 24 * 3600 });
  const cleanup = readEnum('cleanup', ['always', 'on-success', 'never'] as const);
  const ttl = readOptionalInt('ttl_seconds_after_finished', { min: 0, max: 30 * 24 * 3600 });
  const queue = readString('queue', { pattern: DNS_LABEL, accepted: 'a LocalQueue name: lowercase letters, digits, hyphens' });
  const engine = readEnum('engine', ['batch', 'ray'] as const);
  if (engine === 'ray' && !command.length) {
    throw new InputError('command', '', 'engine ray runs command and args as the RayJob\'s entrypoint (a RayJob does not run the image\'s own entrypoint), so command cannot be empty.', 'Set command, e.g. ["python", "train.py"].');
  }
  const mlflowUri = readString('mlflow_tracking_uri', { pattern: /^(https?|file):\/\/[\x21-\x7e]+$|^databricks$/, accepted: 'an MLflow tracking URI such as http://mlflow.mlflow.svc.cluster.local:5000' });
  // The action waits a little past the Job's own deadline, so Kubernetes' DeadlineExceeded is what it reports.
  setDeadline(Date.now() + (timeoutSeconds + scheduleTimeoutSeconds + 120) * 1000);
  const repo = process.env.GITHUB_REPOSITORY ?? '';
  const w: Workload = {
    target, runnerLabel, accelerator: accelerator?.name ?? '', pool, image, command, args, env, gpus, nodes, cpu, memory, namespace, name,
    timeoutSeconds, ...(ttl !== undefined ? { ttlSecondsAfterFinished: ttl } : {}), queue,
    run: `${repo}/${runId}/${attempt}`,
    ...(engine === 'ray' ? { engine } : {}),
  };
  const access: Access = cluster ? { gke: { project, location, cluster } } : { kubeconfig };
  return { w, access, engine, cleanup, scheduleTimeoutMs: scheduleTimeoutSeconds * 1000, mlflowUri, experiment: repo.split('/')[1] || process.env.GITHUB_WORKFLOW || 'training' };
}

async function connect(access: Access): Promise<KubeClient> {
  return access.gke ? accessFromGke(access.gke) : KubeClient.fromKubeconfig(access.kubeconfig as string);
}

/** How often the Job and its pods are read: 500 ms (faster when MLABS_OPERATION_POLL_MS says so). */
function pollMs(): number {
  return Math.min(operationPollMs() ?? 500, 500);
}

await runAction({
  main: async () => {
    const { w, access, engine, cleanup, scheduleTimeoutMs, mlflowUri, experiment } = readInputs();
    const cancel = new AbortController();
    let signalled: string | undefined;
    const onSignal = (sig: NodeJS.Signals): void => {
      if (signalled) return;
      signalled = sig;
      info(`Received ${sig}: stopping and deleting ${describeJob(w)}.`);
      cancel.abort();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);

    const kube = await connect(access);
    // Everything that can refuse does so before anything is created.
    await engineCheck(kube, { nodes: w.nodes, engine, queue: w.queue });
    if (!(await kube.get({ apiVersion: 'v1', kind: 'Namespace' }, w.namespace))) {
      throw new ActionError(`Namespace ${w.namespace} does not exist on ${kube.config.server}; nothing was created.`, { fix: `Create it (kubectl create namespace ${w.namespace}) or set the namespace input.` });
    }
    const clusterQueue = w.queue ? await queueCheck(kube, w.namespace, w.queue) : '';
    w.mlflow = await mlflowFor(kube, mlflowUri, w.target, experiment, w.name);
    const opened = await openRun(kube, w);
    const tracking: Tracking = { run: opened.run, skipped: opened.skipped };
    const mlflowRun = opened.saved;
    if (w.mlflow && tracking.run) Object.assign(w.mlflow, { runId: tracking.run.runId, experimentId: tracking.run.experimentId });
    if (mlflowRun) saveState('mlflow', JSON.stringify(mlflowRun));
    // The trainer may leave the run RUNNING: end it after the workload's outcome (never failing the step for it).
    const endRun = async (outcome: string): Promise<void> => {
      if (!mlflowRun || !tracking.run) return;
      try {
        tracking.run.endedAs = await closeRun(clientFor(kube, mlflowRun), mlflowRun.runId, outcome);
      } catch (err) {
        warning(`MLflow: could not end run ${mlflowRun.runId}: ${describeError(err)}`);
      }
    };
    info(`Submitting ${describeJob(w)} on ${w.target === 'cloud' ? `GKE (${w.accelerator}${w.pool ? `, pool ${w.pool}` : ''})` : `the private machine ${w.runnerLabel || kube.config.context}`}: ${w.image}, ${w.engine === 'ray' ? `a Ray head and ${w.nodes} worker(s)` : `${w.nodes} node(s)`} × ${w.gpus} GPU.`);

    let result: RunResult;
    try {
      result = await runTraining(kube, w, {
        scheduleTimeoutMs,
        clusterQueue,
        pollMs: pollMs(),
        signal: cancel.signal,
        onCreated: () => {
          saveState('job', JSON.stringify({ namespace: w.namespace, name: w.name, nodes: w.nodes, ...(w.engine ? { engine: w.engine } : {}), access }));
        },
      });
    } catch (err) {
      if (cancel.signal.aborted) await removeWorkload(kube, w).catch(() => undefined);
      await endRun(cancel.signal.aborted ? 'cancelled' : 'failed');
      saveState('mlflow', '');
      throw err;
    }
    await endRun(result.outcome);
    saveState('mlflow', '');
    // A queued workload Kueue never admitted ran nothing worth keeping, and would still run later: it goes, whatever cleanup says.
    // So does one Kueue evicted and did not admit again: it would run again later.
    const evictedOut = w.queue !== '' && result.reason.startsWith('evicted by Kueue');
    const neverAdmitted = (w.queue !== '' && result.timeline.admitted === undefined) || evictedOut;
    const keep = result.outcome !== 'cancelled' && !neverAdmitted && (cleanup === 'never' || (cleanup === 'on-success' && result.outcome !== 'succeeded'));
    let cleanupNote = `kept (cleanup: ${cleanup}): kubectl delete ${workloadRef(w).kind.toLowerCase()} ${w.name} -n ${w.namespace}`;
    if (!keep) {
      try {
        await removeWorkload(kube, w);
        cleanupNote = `${evictedOut ? 'evicted and not admitted again: ' : neverAdmitted ? 'never admitted: ' : ''}${w.engine === 'ray' ? 'the RayJob, its RayCluster, submitter Job, pods and Secret were deleted' : `the Job, its pods and its Secret were deleted${w.queue ? ' (its Workload goes with it)' : ''}`}`;
      } catch (err) {
        cleanupNote = `deleting failed (${describeError(err)}); the post step tries again`;
        warning(`Could not delete ${describeJob(w)}: ${describeError(err)}`);
      }
    }
    if (!cleanupNote.startsWith('deleting failed')) saveState('done', 'true');
    const f = figures(w, result);
    writeOutputs(w, result, f, tracking);
    writeSummary(w, result, f, cleanupNote, tracking);
    info(`${describeJob(w)}: ${result.outcome}${result.exitCode !== undefined ? ` (exit code ${result.exitCode})` : ''}, ${f.durationSeconds} s, ${f.gpuHours} GPU-hours, ~$${f.costUsd}.`);
    if (result.outcome === 'succeeded') return;
    const tail = result.tail.length ? `\nLast log lines:\n${result.tail.slice(-20).join('\n')}` : '';
    if (result.outcome === 'cancelled') {
      throw new ActionError(`The run was cancelled (${signalled ?? 'signal'}): ${describeJob(w)} ${keep ? 'was kept' : 'and its pods were deleted'}.`);
    }
    if (evictedOut) {
      throw new ActionError(`${describeJob(w)} was ${result.reason}. ${cleanupNote.startsWith('deleting failed') ? 'Deleting it failed; the post step tries again' : 'It was deleted'}.${tail}`, {
        fix: `Kueue's reason says why it was evicted: a higher-priority workload took its quota (Preempted), or someone deactivated its Workload (InactiveWorkload; kubectl get workloads -n ${w.namespace}). Run it again, or give schedule_timeout more time to be admitted again.`,
      });
    }
    if (neverAdmitted && result.reason.startsWith('not admitted by')) {
      throw new ActionError(`${describeJob(w)} was ${result.reason}. ${cleanupNote.startsWith('deleting failed') ? 'Deleting it failed; the post step tries again' : 'It was deleted; nothing ran'}.`, {
        fix: `Kueue's message says why: wait for the workloads ahead of it (kubectl get workloads -n ${w.namespace}), raise the ClusterQueue's nominalQuota, ask for fewer resources, or give schedule_timeout more time.`,
      });
    }
    throw new ActionError(`The training ${describeJob(w)} ${result.outcome === 'timed-out' ? 'timed out' : 'failed'}: ${result.reason}${result.exitCode !== undefined ? ` (exit code ${result.exitCode})` : ''}.${tail}`, {
      fix: result.reason.includes('cannot pull image')
        ? 'Check the image name and tag, and that the cluster may pull it (an imagePullSecret for a private registry).'
        : result.reason.includes('unschedulable')
          ? 'Ask for fewer GPUs, or run on a pool whose nodes fit (accelerator, GPU count, taints).'
          : `Read the trainer's log above${keep ? ` (kubectl logs -l ${MANAGED_BY_NAME}=${w.name} -n ${w.namespace})` : ''}.`,
    });
  },
  post: async () => {
    const raw = getState('job');
    if (!raw || getState('done') === 'true') return;
    const saved = JSON.parse(raw) as { namespace: string; name: string; nodes?: number; engine?: 'ray'; access: Access };
    const kube = await connect(saved.access);
    // The main step did not get to end the MLflow run: the workload was stopped with it.
    const run = getState('mlflow');
    if (run) await closeRun(clientFor(kube, JSON.parse(run) as SavedRun), (JSON.parse(run) as SavedRun).runId, 'cancelled').catch((err: unknown) => warning(`MLflow: could not end the run: ${describeError(err)}`));
    const gone = await removeWorkload(kube, { ...saved, nodes: saved.nodes ?? 1 });
    const what = describeJob({ ...saved, nodes: saved.nodes ?? 1 });
    info(gone ? `Deleted ${what}, its pods and its Secret (the main step did not finish).` : `${what} is already gone.`);
  },
});
