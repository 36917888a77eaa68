/**
 * train-job's MLflow run: before the workload starts, the experiment is found (or created) and a run
 * is created for it, tagged with the GitHub run; the trainer gets MLFLOW_RUN_ID (MLflow's client resumes that run) and the
 * summary links it (a run of the same Job still RUNNING, left by an earlier try that the re-run
 * adopts, is resumed instead). When the workload ends and the trainer left the run RUNNING, the action ends
 * it: FINISHED, FAILED (failed, timed out) or KILLED (cancelled).
 *
 * The local stack's MLflow is a cluster Service the runner may not resolve: an in-cluster URI
 * (`http://<service>.<namespace>.svc.cluster.local:<port>`) that does not answer is reached through
 * the Kubernetes API's service proxy instead. MLflow being down does not stop the training: the
 * run is then not created, and the summary says why.
 */
import { describeError } from '../errors.js';
import { request } from '../http.js';
import type { KubeClient } from '../kubernetes/client.js';
import { MlflowClient, type MlflowTransport, quoted } from '../model/mlflow.js';
import { debug, info, warning } from '../runner.js';
import type { Workload } from './spec.js';

/** What the summary and the outputs say of the run. */
export interface TrackedRun {
  experimentId: string;
  runId: string;
  /** The run's page: `<ui>/#/experiments/<id>/runs/<run_id>`. */
  url: string;
  /** How the action reached MLflow (the URI, or the service proxy). */
  via: string;
  /** Whether an earlier try of this run attempt had already created it. */
  resumed: boolean;
  /** Set when the action ended the run (the trainer had left it RUNNING). */
  endedAs?: string;
}

/** Where a saved run is found again (post step). */
export interface SavedRun {
  trackingUri: string;
  runId: string;
  proxy?: { namespace: string; service: string; port: string };
}

const IN_CLUSTER = /^https?:\/\/([a-z0-9]([-a-z0-9]*[a-z0-9])?)\.([a-z0-9]([-a-z0-9]*[a-z0-9])?)\.svc(\.cluster\.local)?(:(\d+))?\/?$/;

/** The Service an in-cluster URI names, or undefined for any other URI. */
export function inClusterService(uri: string): { namespace: string; service: string; port: string } | undefined {
  const m = IN_CLUSTER.exec(uri);
  if (!m) return undefined;
  return { service: m[1] as string, namespace: m[3] as string, port: m[7] ?? (uri.startsWith('https') ? '443' : '80') };
}

/** MLflow's REST calls through the API server's service proxy (`/api/v1/namespaces/<ns>/services/<svc>:<port>/proxy/...`). */
export function proxyTransport(kube: KubeClient, to: { namespace: string; service: string; port: string }): MlflowTransport {
  const base = `/api/v1/namespaces/${encodeURIComponent(to.namespace)}/services/${encodeURIComponent(to.service)}:${encodeURIComponent(to.port)}/proxy/api/2.0/mlflow`;
  return async (method, path, params, opts) => {
    const res = method === 'GET'
      ? await kube.request('GET', `${base}/${path}`, { query: params as Record<string, string> })
      : await kube.request(method, `${base}/${path}`, { body: params, idempotent: opts.idempotent });
    return res.text ? (JSON.parse(res.text) as unknown) : {};
  };
}

async function answers(uri: string): Promise<boolean> {
  try {
    await request(`${uri.replace(/\/+$/, '')}/health`, { retry: false, timeoutMs: 5000 });
    return true;
  } catch (err) {
    debug(`MLflow at ${uri} does not answer from the runner: ${describeError(err)}`);
    return false;
  }
}

/** A client for the tracking URI: directly, or through the service proxy when an in-cluster URI does not answer. */
export async function reach(kube: KubeClient, uri: string): Promise<{ client: MlflowClient; saved: Omit<SavedRun, 'runId'>; ui: string; via: string }> {
  const svc = inClusterService(uri);
  if (svc && !(await answers(uri))) {
    // The workstation reaches the local stack's MLflow through its tunnel (local-stack's mlflow_tunnel: port 5000).
    return { client: new MlflowClient(uri, proxyTransport(kube, svc)), saved: { trackingUri: uri, proxy: svc }, ui: 'http://localhost:5000', via: `the Kubernetes API's service proxy to ${svc.namespace}/${svc.service}:${svc.port}` };
  }
  return { client: new MlflowClient(uri), saved: { trackingUri: uri }, ui: uri.replace(/\/+$/, ''), via: uri };
}

export function clientFor(kube: KubeClient, saved: SavedRun): MlflowClient {
  return new MlflowClient(saved.trackingUri, saved.proxy ? proxyTransport(kube, saved.proxy) : undefined);
}

/** The GitHub run the MLflow run is tagged with. */
function githubTags(w: Workload): Record<string, string> {
  const env = process.env;
  const repo = env.GITHUB_REPOSITORY ?? '';
  const server = env.GITHUB_SERVER_URL || 'https://github.com';
  const runId = env.GITHUB_RUN_ID ?? '';
  return {
    'mlabs.job': `${w.namespace}/${w.name}`,
    'mlflow.runName': w.mlflow?.runName ?? w.name,
    'mlflow.source.type': 'JOB',
    ...(repo && runId ? { 'mlflow.source.name': `${server}/${repo}/actions/runs/${runId}` } : {}),
    ...(env.GITHUB_SHA ? { 'mlflow.source.git.commit': env.GITHUB_SHA } : {}),
    ...(env.GITHUB_ACTOR ? { 'mlflow.user': env.GITHUB_ACTOR } : {}),
    ...(repo ? { 'github.repository': repo } : {}),
    ...(runId ? { 'github.run_id': runId } : {}),
    'github.run_attempt': env.GITHUB_RUN_ATTEMPT || '1',
    ...(env.GITHUB_WORKFLOW ? { 'github.workflow': env.GITHUB_WORKFLOW } : {}),
    'mlabs.image': w.image,
  };
}

export const runUrl = (ui: string, experimentId: string, runId: string): string => `${ui}/#/experiments/${experimentId}/runs/${runId}`;

/**
 * The run for this workload: found again when a run of the same Job is still RUNNING (an earlier
 * try whose Job the re-run adopts), else created. Undefined (with a
 * warning) when MLflow cannot be used; `skipped` says why.
 */
export async function openRun(kube: KubeClient, w: Workload): Promise<{ run?: TrackedRun; saved?: SavedRun; skipped?: string }> {
  const m = w.mlflow;
  if (!m) return {};
  if (!/^https?:\/\//.test(m.trackingUri)) return { skipped: `the tracking URI ${m.trackingUri} is not an MLflow server's http(s) address: the trainer creates its own run` };
  try {
    const r = await reach(kube, m.trackingUri);
    const experimentId = await r.client.ensureExperiment(m.experiment);
    const tags = githubTags(w);
    // The run of this Job still RUNNING: a re-run adopting the Job (same name, same workload) resumes it.
    const filter = `tags.\`mlabs.job\` = ${quoted(tags['mlabs.job'] as string)} and attributes.status = 'RUNNING'`;
    const earlier = (await r.client.searchRuns(experimentId, filter, 1)).find((x) => x.status === 'RUNNING');
    const run = earlier ?? (await r.client.createRun(experimentId, m.runName, tags, Date.now()));
    info(`MLflow: ${earlier ? 'resuming' : 'created'} run ${run.runId} (${m.runName}) in experiment ${m.experiment} (${experimentId}) via ${r.via}.`);
    return {
      run: { experimentId, runId: run.runId, url: runUrl(r.ui, experimentId, run.runId), via: r.via, resumed: Boolean(earlier) },
      saved: { ...r.saved, runId: run.runId },
    };
  } catch (err) {
    const why = describeError(err);
    warning(`MLflow: could not create the run at ${m.trackingUri} (${why}); the trainer gets MLFLOW_TRACKING_URI without a run id.`);
    return { skipped: `MLflow did not answer: ${why}` };
  }
}

/** What the run's status should become after the workload's outcome. */
export function finalStatus(outcome: string): 'FINISHED' | 'FAILED' | 'KILLED' {
  return outcome === 'succeeded' ? 'FINISHED' : outcome === 'cancelled' ? 'KILLED' : 'FAILED';
}

/** End the run when the trainer left it RUNNING; returns the status set, or undefined when the trainer had ended it. */
export async function closeRun(client: MlflowClient, runId: string, outcome: string): Promise<string | undefined> {
  const now = await client.runInfo(runId);
  if (now.status !== 'RUNNING' && now.status !== 'SCHEDULED') return undefined;
  const status = finalStatus(outcome);
  await client.setRunStatus(runId, status, Date.now());
  info(`MLflow: run ${runId} was still ${now.status}; set to ${status} (the workload ${outcome}).`);
  return status;
}
