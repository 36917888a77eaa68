/**
 * train-job's inputs that are more than one value: argument lists, `KEY=VALUE` env lines; and the
 * checks that must refuse before anything is created (the engine's operator is installed) or that
 * fill in from the cluster (the local stack's MLflow).
 */
import { ActionError, InputError, describeError } from '../errors.js';
import type { KubeClient } from '../kubernetes/client.js';
import { OPERATORS as LOCAL_OPERATORS, type Operator } from '../local-stack/matrix.js';
import { setSecret } from '../runner.js';

/** What train-job and the mlabs command accept for a workload's names, image and resources. */
export const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
export const NAMESPACE_ACCEPTED = 'a namespace name: lowercase letters, digits, hyphens, at most 63';
export const IMAGE = /^[a-z0-9]+([._-][a-z0-9]+)*(:\d+)?(\/[a-z0-9]+([._-]{1,2}[a-z0-9]+)*)*(:[\w][\w.-]{0,127})?(@sha256:[a-f0-9]{64})?$/;
export const IMAGE_ACCEPTED = 'an image reference such as nvcr.io/nvidia/pytorch:25.01-py3 (lowercase repository, optional :tag and @sha256:digest)';
export const JOB_NAME = /^[a-z0-9]([-a-z0-9]{0,50}[a-z0-9])?$/;
export const JOB_NAME_ACCEPTED = 'a Job name: lowercase letters, digits, hyphens, at most 52 (pods add a suffix)';
export const CPU = /^\d+(\.\d+)?m?$/;
export const CPU_ACCEPTED = 'a CPU quantity such as 8, 0.5 or 3500m';
export const MEMORY = /^\d+(\.\d+)?(Ki|Mi|Gi|Ti|k|M|G|T)?$/;
export const MEMORY_ACCEPTED = 'a memory quantity such as 32Gi or 512Mi';

/** A list of arguments: a JSON array of strings, or one item per line (kept as written, no shell). */
export function parseArgList(input: string, raw: string): string[] {
  const text = raw.trim();
  if (text === '') return [];
  if (text.startsWith('[')) {
    let v: unknown;
    try {
      v = JSON.parse(text);
    } catch (err) {
      throw new InputError(input, raw, `starts with [ but is not a JSON array of strings (${describeError(err)}).`, 'Write one item per line instead, or fix the JSON.');
    }
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw new InputError(input, raw, 'expected a JSON array of strings, e.g. ["python", "train.py"].');
    return v;
  }
  return text.split('\n').map((l) => l.trim()).filter((l) => l !== '');
}

const ENV_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;
const RESERVED = ['MLFLOW_TRACKING_URI', 'MLFLOW_EXPERIMENT_NAME', 'MLFLOW_RUN_NAME', 'MLFLOW_RUN_ID', 'MLFLOW_EXPERIMENT_ID'];

/** `KEY=VALUE` lines (blank lines and `#` comments skipped). Values are masked; errors never repeat them. */
export function parseEnvLines(input: string, raw: string): [string, string][] {
  const out: [string, string][] = [];
  for (const [i, line] of raw.split('\n').entries()) {
    if (line.trim() === '' || line.trim().startsWith('#')) continue;
    const eq = line.indexOf('=');
    const key = eq < 0 ? line.trim() : line.slice(0, eq).trim();
    if (eq < 0 || !ENV_KEY.test(key)) {
      throw InputError.hidden(input, `line ${i + 1} is not KEY=VALUE with KEY made of letters, digits and underscores (not starting with a digit).`, 'Write one KEY=VALUE per line, e.g. HF_HOME=/cache/hf.');
    }
    if (out.some(([k]) => k === key)) throw InputError.hidden(input, `${key} is set twice (line ${i + 1}).`);
    if (RESERVED.includes(key)) throw InputError.hidden(input, `${key} is set by the action from mlflow_tracking_uri.`, 'Use the mlflow_tracking_uri input instead.');
    const value = line.slice(eq + 1);
    setSecret(value);
    out.push([key, value]);
  }
  return out;
}

/**
 * How an operator is installed: on a machine, the local stack's component; on GKE, the
 * cluster-operators workflow. Both apply the same pinned, checksummed manifest (local-stack's OPERATORS).
 */
function installOf(component: Operator): string {
  const pin = LOCAL_OPERATORS[component];
  return `on a machine, the local-stack action with \`components: ${component}\` (${pin.repo} ${pin.version}); on GKE, the cluster-operators workflow with \`operators: ${component}\` (the same pinned manifest)`;
}

/** The operators each engine needs, and how to install them. */
export const OPERATORS = {
  jobset: { apiVersion: 'jobset.x-k8s.io/v1alpha2', kind: 'JobSet', name: 'JobSet', install: installOf('jobset') },
  kueue: { apiVersion: 'kueue.x-k8s.io/v1beta1', kind: 'LocalQueue', name: 'Kueue', install: installOf('kueue') },
  ray: { apiVersion: 'ray.io/v1', kind: 'RayJob', name: 'KubeRay', install: installOf('kuberay') },
} as const;

/** Fails, before anything is created, when the workload needs an operator the cluster does not run. */
export async function engineCheck(kube: KubeClient, want: { nodes: number; engine: 'batch' | 'ray'; queue: string }): Promise<void> {
  const needed = [
    ...(want.engine === 'ray' ? [OPERATORS.ray] : want.nodes > 1 ? [OPERATORS.jobset] : []),
    ...(want.queue ? [OPERATORS.kueue] : []),
  ];
  for (const op of needed) {
    if (!(await kube.serves(op.apiVersion, op.kind))) {
      throw new ActionError(`${op.name} is not installed on the cluster at ${kube.config.server} (it does not serve ${op.kind} in ${op.apiVersion}); nothing was created.`, {
        fix: `Install it once: ${op.install}${op.name === 'Kueue' ? ' (then create a ResourceFlavor, ClusterQueue and the LocalQueue)' : ''}.`,
      });
    }
  }
}

/** Fails, before anything is created, when the `queue` LocalQueue does not exist in the namespace; returns its ClusterQueue. */
export async function queueCheck(kube: KubeClient, namespace: string, queue: string): Promise<string> {
  const lq = await kube.get({ apiVersion: OPERATORS.kueue.apiVersion, kind: 'LocalQueue', namespace }, queue);
  if (!lq) {
    throw new ActionError(`LocalQueue ${queue} does not exist in namespace ${namespace} on ${kube.config.server}; nothing was created.`, {
      fix: `Create it (kubectl get clusterqueues lists the ClusterQueues it can point at): kubectl apply -f - with apiVersion: ${OPERATORS.kueue.apiVersion}, kind: LocalQueue, metadata: {name: ${queue}, namespace: ${namespace}}, spec: {clusterQueue: <ClusterQueue>}; or set queue to an existing LocalQueue (kubectl get localqueues -n ${namespace}), or leave it empty.`,
    });
  }
  return String(lq.spec?.clusterQueue ?? '');
}

/** MLflow for the trainer: the given URI, else the local stack's MLflow when it is deployed on a private machine. */
export async function mlflowFor(kube: KubeClient, uri: string, target: 'local' | 'cloud', experiment: string, runName: string): Promise<{ trackingUri: string; experiment: string; runName: string } | undefined> {
  if (uri) return { trackingUri: uri, experiment, runName };
  if (target !== 'local') return undefined;
  const svc = await kube.get({ apiVersion: 'v1', kind: 'Service', namespace: 'mlflow' }, 'mlflow');
  return svc ? { trackingUri: 'http://mlflow.mlflow.svc.cluster.local:5000', experiment, runName } : undefined;
}
