/**
 * MLflow's REST API (2.0), the calls model-promote and model-retire make (a model version by number
 * or alias, the run that produced it, version tags) and train-job's (the experiment by name or
 * created, a run created, found, read and ended). The server is MLFLOW_TRACKING_URI (or the
 * `mlflow_tracking_uri` input); MLFLOW_TRACKING_TOKEN, when set, is sent as a bearer token. A
 * `transport` sends the calls another way (train-job: the Kubernetes API's service proxy to the local
 * stack's MLflow, which the runner cannot reach directly).
 */
import { ActionError } from '../errors.js';
import { ApiError, requestJson } from '../http.js';

export interface Tags {
  [key: string]: string;
}

export interface ModelVersion {
  name: string;
  version: string;
  runId: string;
  source: string;
  tags: Tags;
  aliases: string[];
}

/** A file of a run's artifacts: its path from the run's artifact root, and its size. */
export interface ArtifactFile {
  path: string;
  size: number;
}

export interface Run {
  runId: string;
  artifactUri: string;
  tags: Tags;
}

const tagsOf = (list: unknown): Tags =>
  Object.fromEntries(((list as { key: string; value: string }[] | undefined) ?? []).map((t) => [t.key, t.value ?? '']));

/** Sends one call (`path` under /api/2.0/mlflow/) and returns the parsed answer; a non-2xx answer throws an ApiError with MLflow's body. */
export type MlflowTransport = (method: string, path: string, params: Record<string, unknown>, opts: { idempotent: boolean }) => Promise<unknown>;

export interface RunInfo {
  runId: string;
  experimentId: string;
  runName: string;
  /** RUNNING, SCHEDULED, FINISHED, FAILED, KILLED */
  status: string;
  tags: Tags;
}

const runInfoOf = (run: { info: Record<string, unknown>; data?: { tags?: unknown } }): RunInfo => ({
  runId: String(run.info.run_id ?? run.info.run_uuid ?? ''),
  experimentId: String(run.info.experiment_id ?? ''),
  runName: String(run.info.run_name ?? ''),
  status: String(run.info.status ?? ''),
  tags: tagsOf(run.data?.tags),
});

/** A filter_string value in single quotes (MLflow's search grammar escapes a quote with a backslash). */
export const quoted = (v: string): string => `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

export class MlflowClient {
  constructor(readonly trackingUri: string, private readonly transport?: MlflowTransport) {}

  private async call<T>(method: string, path: string, params: Record<string, unknown>, idempotent = true): Promise<T> {
    const token = process.env.MLFLOW_TRACKING_TOKEN || undefined;
    const url = `${this.trackingUri.replace(/\/+$/, '')}/api/2.0/mlflow/${path}`;
    try {
      if (this.transport) return (await this.transport(method, path, params, { idempotent })) as T;
      return await requestJson<T>(url, method === 'GET' ? { token, query: params as Record<string, string> } : { method, token, body: params, idempotent });
    } catch (err) {
      if (err instanceof ApiError) {
        let body: { error_code?: string; message?: string } = {};
        try {
          body = typeof err.body === 'string' ? (JSON.parse(err.body) as typeof body) : ((err.body as typeof body) ?? {});
        } catch {
          /* not MLflow's shape */
        }
        if (body.error_code) throw new ApiError(err.method, err.url, err.httpStatus, body.error_code, `MLflow: ${body.message ?? body.error_code}`, body.error_code, body);
      }
      throw err;
    }
  }

  private version(raw: Record<string, unknown>): ModelVersion {
    return {
      name: String(raw.name ?? ''),
      version: String(raw.version ?? ''),
      runId: String(raw.run_id ?? ''),
      source: String(raw.source ?? ''),
      tags: tagsOf(raw.tags),
      aliases: (raw.aliases as string[] | undefined) ?? [],
    };
  }

  async modelVersion(name: string, version: string): Promise<ModelVersion> {
    const r = await this.call<{ model_version: Record<string, unknown> }>('GET', 'model-versions/get', { name, version });
    return this.version(r.model_version);
  }

  async versionByAlias(name: string, alias: string): Promise<ModelVersion> {
    const r = await this.call<{ model_version: Record<string, unknown> }>('GET', 'registered-models/alias', { name, alias });
    return this.version(r.model_version);
  }

  async run(runId: string): Promise<Run> {
    const r = await this.call<{ run: { info: { run_id: string; artifact_uri: string }; data?: { tags?: unknown } } }>('GET', 'runs/get', { run_id: runId });
    return { runId: r.run.info.run_id, artifactUri: r.run.info.artifact_uri, tags: tagsOf(r.run.data?.tags) };
  }

  /**
   * Every file under `path` of a run's artifacts, through MLflow's artifacts API (artifacts/list,
   * all pages, walking into each directory), in path order: what the version holds, as MLflow says.
   */
  async listArtifacts(runId: string, path: string): Promise<ArtifactFile[]> {
    const out: ArtifactFile[] = [];
    const walk = async (dir: string): Promise<void> => {
      let pageToken: string | undefined;
      do {
        const r = await this.call<{ files?: { path: string; is_dir?: boolean; file_size?: number | string }[]; next_page_token?: string }>('GET', 'artifacts/list', {
          run_id: runId,
          path: dir,
          ...(pageToken ? { page_token: pageToken } : {}),
        });
        for (const f of r.files ?? []) {
          if (f.is_dir) await walk(f.path);
          else out.push({ path: f.path, size: Number(f.file_size ?? 0) });
        }
        pageToken = r.next_page_token || undefined;
      } while (pageToken);
    };
    await walk(path);
    return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  async setVersionTag(name: string, version: string, key: string, value: string): Promise<void> {
    await this.call('POST', 'model-versions/set-tag', { name, version, key, value });
  }

  /** The experiment's id, or undefined when there is none of that name. */
  async experimentId(name: string): Promise<string | undefined> {
    try {
      const r = await this.call<{ experiment: { experiment_id: string } }>('GET', 'experiments/get-by-name', { experiment_name: name });
      return String(r.experiment.experiment_id);
    } catch (err) {
      if (err instanceof ApiError && err.status === 'RESOURCE_DOES_NOT_EXIST') return undefined;
      throw err;
    }
  }

  /** The experiment's id, created when there is none (a create that meets one made meanwhile reads it back). */
  async ensureExperiment(name: string): Promise<string> {
    const have = await this.experimentId(name);
    if (have) return have;
    try {
      const r = await this.call<{ experiment_id: string }>('POST', 'experiments/create', { name }, false);
      return String(r.experiment_id);
    } catch (err) {
      if (err instanceof ApiError && err.status === 'RESOURCE_ALREADY_EXISTS') {
        const again = await this.experimentId(name);
        if (again) return again;
      }
      throw err;
    }
  }

  async createRun(experimentId: string, runName: string, tags: Tags, startTime: number): Promise<RunInfo> {
    const r = await this.call<{ run: { info: Record<string, unknown>; data?: { tags?: unknown } } }>('POST', 'runs/create', {
      experiment_id: experimentId, run_name: runName, start_time: startTime, tags: Object.entries(tags).map(([key, value]) => ({ key, value })),
    }, false);
    return runInfoOf(r.run);
  }

  /** Runs of the experiment matching an MLflow filter_string, newest first. */
  async searchRuns(experimentId: string, filter: string, max = 10): Promise<RunInfo[]> {
    const r = await this.call<{ runs?: { info: Record<string, unknown>; data?: { tags?: unknown } }[] }>('POST', 'runs/search', {
      experiment_ids: [experimentId], filter, max_results: max, order_by: ['attributes.start_time DESC'],
    });
    return (r.runs ?? []).map(runInfoOf);
  }

  async runInfo(runId: string): Promise<RunInfo> {
    const r = await this.call<{ run: { info: Record<string, unknown>; data?: { tags?: unknown } } }>('GET', 'runs/get', { run_id: runId });
    return runInfoOf(r.run);
  }

  async setRunStatus(runId: string, status: 'FINISHED' | 'FAILED' | 'KILLED', endTime: number): Promise<void> {
    await this.call('POST', 'runs/update', { run_id: runId, status, end_time: endTime });
  }

  /** Remove a version tag; `false` when it was not there. */
  async deleteVersionTag(name: string, version: string, key: string): Promise<boolean> {
    try {
      await this.call('DELETE', 'model-versions/delete-tag', { name, version, key });
      return true;
    } catch (err) {
      if (err instanceof ApiError && err.status === 'RESOURCE_DOES_NOT_EXIST' && /No tag/.test(err.message)) return false;
      throw err;
    }
  }
}

export function trackingUri(input: string): string {
  const uri = input || process.env.MLFLOW_TRACKING_URI || '';
  if (!uri) {
    throw new ActionError('No MLflow server to read the model from: MLFLOW_TRACKING_URI is not set and the mlflow_tracking_uri input is empty.', {
      fix: 'Set MLFLOW_TRACKING_URI in the job environment (the local MLflow, e.g. http://mlflow.local:5000), or pass mlflow_tracking_uri.',
    });
  }
  if (!/^https?:\/\//.test(uri)) throw new ActionError(`MLflow tracking URI ${JSON.stringify(uri)} is not an http(s) URL.`, { fix: 'Use the MLflow server address, e.g. http://mlflow.local:5000.' });
  return uri;
}
