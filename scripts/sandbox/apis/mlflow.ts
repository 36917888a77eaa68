// MLflow's tracking and model registry REST API (2.0), the subset model-promote reads and writes,
// after mlflow/protos/service.proto and model_registry.proto (their RPC paths and JSON field names)
// and the server's error body {"error_code": "...", "message": "..."}. Served under
// MLFLOW_TRACKING_URI = <sandbox>/mlflow, with no auth (a local MLflow server has none):
//   GET  /api/2.0/mlflow/registered-models/get?name=
//   GET  /api/2.0/mlflow/registered-models/alias?name=&alias=       (GetModelVersionByAlias)
//   GET  /api/2.0/mlflow/model-versions/get?name=&version=
//   POST /api/2.0/mlflow/model-versions/set-tag  {name, version, key, value}
//   DELETE /api/2.0/mlflow/model-versions/delete-tag {name, version, key}
//   GET  /api/2.0/mlflow/runs/get?run_id=
//   GET  /api/2.0/mlflow/experiments/get-by-name?experiment_name=
//   POST /api/2.0/mlflow/experiments/create  {name, artifact_location?, tags?}
//   POST /api/2.0/mlflow/runs/create         {experiment_id, run_name?, start_time?, tags?, user_id?}
//   POST /api/2.0/mlflow/runs/update         {run_id, status?, end_time?, run_name?}
//   POST /api/2.0/mlflow/runs/search         {experiment_ids, filter?, max_results?, order_by?}
//        (filter: `tags.<key> = '<value>'` / attributes.status / attributes.run_name, joined by AND)
//   GET  /api/2.0/mlflow/artifacts/list?run_id=&path=               (one level, from the S3 stand-in)
// Artifacts live in the S3 stand-in (apis/s3.ts) under s3://mlflow/<experiment>/<run>/artifacts.
import type { ApiModule, SandboxContext } from '../context.js';
import type { SandboxReply, SandboxRequest } from '../router.js';
import type { S3Service } from './s3.js';

/** The S3 bucket MLflow's runs log their artifacts to. */
export const MLFLOW_ARTIFACT_BUCKET = 'mlflow';

export interface MlflowRun {
  run_id: string;
  experiment_id: string;
  run_name?: string;
  user_id?: string;
  status?: string;
  start_time?: number;
  end_time?: number;
  /** Default s3://mlflow/<experiment>/<run>/artifacts. */
  artifact_uri?: string;
  tags?: Record<string, string>;
  params?: Record<string, string>;
  metrics?: Record<string, number>;
}

export interface MlflowModelVersion {
  version: string;
  run_id: string;
  /** Default <run artifact_uri>/model. */
  source?: string;
  tags?: Record<string, string>;
  creation_timestamp?: number;
  description?: string;
}

export interface MlflowRegisteredModel {
  name: string;
  description?: string;
  tags?: Record<string, string>;
  /** alias -> version */
  aliases?: Record<string, string>;
  versions: MlflowModelVersion[];
  creation_timestamp?: number;
}

export interface MlflowExperiment {
  experiment_id: string;
  name: string;
  artifact_location?: string;
  tags?: Record<string, string>;
  creation_time?: number;
}

export interface MlflowSeed {
  /** Experiments by id (the seed's runs name ids 1 and 2; MLflow always has 0, Default). */
  experiments?: MlflowExperiment[];
  runs: MlflowRun[];
  registered_models: MlflowRegisteredModel[];
}

class MlflowFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const T0 = Date.parse('2025-06-02T10:00:00Z');

/** Two models: a sensitive-data fine-tune (version 1 not de-identified, version 2 de-identified, alias champion → 2) and a public one. */
export function defaultMlflow(): MlflowSeed {
  return {
    experiments: [
      { experiment_id: '0', name: 'Default' },
      { experiment_id: '1', name: 'clinical-notes' },
      { experiment_id: '2', name: 'tiny-chat' },
    ],
    runs: [
      { run_id: 'a1b2c3d4e5f60718293a4b5c6d7e8f90', experiment_id: '1', run_name: 'phi-notes-lora', user_id: 'trainer', tags: { 'mlabs.data_class': 'sensitive', 'mlflow.runName': 'phi-notes-lora' } },
      { run_id: 'b2c3d4e5f60718293a4b5c6d7e8f9012', experiment_id: '1', run_name: 'phi-notes-lora-deid', user_id: 'trainer', tags: { 'mlabs.data_class': 'sensitive', 'mlflow.runName': 'phi-notes-lora-deid' } },
      { run_id: 'c3d4e5f60718293a4b5c6d7e8f901234', experiment_id: '2', run_name: 'tiny-chat', user_id: 'trainer', tags: { 'mlabs.data_class': 'public', 'mlflow.runName': 'tiny-chat' } },
    ],
    registered_models: [
      {
        name: 'clinical-notes',
        aliases: { champion: '2' },
        versions: [
          { version: '1', run_id: 'a1b2c3d4e5f60718293a4b5c6d7e8f90' },
          {
            version: '2',
            run_id: 'b2c3d4e5f60718293a4b5c6d7e8f9012',
            tags: { 'mlabs.deidentified': 'true', 'mlabs.deidentified_by': 'privacy-officer@mlabs.example', 'mlabs.deidentified_at': '2025-06-03T09:30:00Z' },
          },
        ],
      },
      { name: 'tiny-chat', versions: [{ version: '1', run_id: 'c3d4e5f60718293a4b5c6d7e8f901234' }] },
    ],
  };
}

/** The artifact files the default registry's runs logged (model/ of each), put into the S3 stand-in. */
export const DEFAULT_MODEL_FILES: Record<string, string> = {
  'model/config.json': '{"architectures":["LlamaForCausalLM"],"hidden_size":64,"num_hidden_layers":2}\n',
  'model/tokenizer.json': '{"version":"1.0","model":{"type":"BPE"}}\n',
  'model/model.safetensors': 'SAFETENSORS-SANDBOX-WEIGHTS-'.repeat(64),
  'model/README.md': '# Model card\n\nA sandbox model.\n',
};

const tagList = (t: Record<string, string> | undefined): { key: string; value: string }[] =>
  Object.entries(t ?? {}).map(([key, value]) => ({ key, value }));

function mlflowParts(ctx: SandboxContext) {
  const st = ctx.state.section<MlflowSeed>('mlflow', defaultMlflow);
  const s3 = (): S3Service => ctx.services.get('s3') as S3Service;
  const artifactUri = (r: MlflowRun): string => r.artifact_uri ?? `s3://${MLFLOW_ARTIFACT_BUCKET}/${r.experiment_id}/${r.run_id}/artifacts`;
  const runOf = (id: string): MlflowRun => {
    const r = st.runs.find((x) => x.run_id === id);
    if (!r) throw new MlflowFailure(404, 'RESOURCE_DOES_NOT_EXIST', `Run with id=${id} not found`);
    return r;
  };
  const modelOf = (name: string): MlflowRegisteredModel => {
    const m = st.registered_models.find((x) => x.name === name);
    if (!m) throw new MlflowFailure(404, 'RESOURCE_DOES_NOT_EXIST', `Registered Model with name=${name} not found`);
    return m;
  };
  const versionOf = (name: string, version: string): MlflowModelVersion => {
    const m = st.registered_models.find((x) => x.name === name);
    const v = m?.versions.find((x) => x.version === version);
    if (!v) throw new MlflowFailure(404, 'RESOURCE_DOES_NOT_EXIST', `Model Version (name=${name}, version=${version}) not found`);
    return v;
  };
  const versionJson = (m: MlflowRegisteredModel, v: MlflowModelVersion): Record<string, unknown> => {
    const run = st.runs.find((r) => r.run_id === v.run_id);
    const aliases = Object.entries(m.aliases ?? {})
      .filter(([, ver]) => ver === v.version)
      .map(([a]) => a);
    return {
      name: m.name,
      version: v.version,
      creation_timestamp: v.creation_timestamp ?? T0 + Number(v.version) * 3600_000,
      last_updated_timestamp: v.creation_timestamp ?? T0 + Number(v.version) * 3600_000,
      current_stage: 'None',
      description: v.description ?? '',
      source: v.source ?? (run ? `${artifactUri(run)}/model` : ''),
      run_id: v.run_id,
      status: 'READY',
      ...(Object.keys(v.tags ?? {}).length ? { tags: tagList(v.tags) } : {}),
      ...(aliases.length ? { aliases } : {}),
    };
  };
  return { st, s3, artifactUri, runOf, modelOf, versionOf, versionJson };
}

function param(req: SandboxRequest, name: string, body?: Record<string, unknown>): string {
  const v = body ? body[name] : req.query.get(name);
  if (v === undefined || v === null || v === '') {
    throw new MlflowFailure(400, 'INVALID_PARAMETER_VALUE', `Missing value for required parameter '${name}'. See the API docs for more information about request parameters.`);
  }
  return String(v);
}

function bodyOf(req: SandboxRequest): Record<string, unknown> {
  if (req.method === 'GET' && req.body.length === 0) return Object.fromEntries(req.query);
  try {
    const j = req.body.length ? (JSON.parse(req.body.toString('utf8')) as unknown) : Object.fromEntries(req.query);
    return (j && typeof j === 'object' ? j : {}) as Record<string, unknown>;
  } catch {
    throw new MlflowFailure(400, 'MALFORMED_REQUEST', 'Malformed request body: it is not valid JSON.');
  }
}

const mlflow: ApiModule = {
  id: 'mlflow',
  register(ctx: SandboxContext) {
    const p = mlflowParts(ctx);
    ctx.exportEnv({ MLFLOW_TRACKING_URI: `${ctx.baseUrl}/mlflow` });
    const base = '/mlflow/api/2.0/mlflow';
    const route = (method: string, path: string, name: string, fn: (req: SandboxRequest) => SandboxReply): void => {
      ctx.router.add({
        method,
        path: `${base}/${path}`,
        api: 'mlflow',
        name,
        auth: false,
        handler: (req) => {
          try {
            return fn(req);
          } catch (err) {
            if (err instanceof MlflowFailure) return { status: err.status, json: { error_code: err.code, message: err.message } };
            throw err;
          }
        },
        faultReply: (f) => ({ status: f.status, json: { error_code: f.status === 429 ? 'REQUEST_LIMIT_EXCEEDED' : 'TEMPORARILY_UNAVAILABLE', message: f.message ?? `Injected fault (${f.status}).` } }),
      });
    };

    route('GET', 'registered-models/get', 'registered-models.get', (req) => {
      const m = p.modelOf(param(req, 'name'));
      const latest = [...m.versions].sort((a, b) => Number(b.version) - Number(a.version))[0];
      return {
        json: {
          registered_model: {
            name: m.name,
            creation_timestamp: m.creation_timestamp ?? T0,
            last_updated_timestamp: m.creation_timestamp ?? T0,
            description: m.description ?? '',
            ...(latest ? { latest_versions: [p.versionJson(m, latest)] } : {}),
            ...(Object.keys(m.tags ?? {}).length ? { tags: tagList(m.tags) } : {}),
            ...(Object.keys(m.aliases ?? {}).length ? { aliases: Object.entries(m.aliases ?? {}).map(([alias, version]) => ({ alias, version })) } : {}),
          },
        },
      };
    });

    route('GET', 'registered-models/alias', 'registered-models.get-model-version-by-alias', (req) => {
      const name = param(req, 'name');
      const alias = param(req, 'alias');
      const m = p.modelOf(name);
      const version = m.aliases?.[alias];
      if (!version) throw new MlflowFailure(400, 'INVALID_PARAMETER_VALUE', `Registered model alias ${alias} not found.`);
      return { json: { model_version: p.versionJson(m, p.versionOf(name, version)) } };
    });

    route('GET', 'model-versions/get', 'model-versions.get', (req) => {
      const name = param(req, 'name');
      const version = param(req, 'version');
      const v = p.versionOf(name, version);
      return { json: { model_version: p.versionJson(p.modelOf(name), v) } };
    });

    const setTag = (req: SandboxRequest): SandboxReply => {
      const b = bodyOf(req);
      const v = p.versionOf(param(req, 'name', b), param(req, 'version', b));
      const key = param(req, 'key', b);
      if (key.length > 250) throw new MlflowFailure(400, 'INVALID_PARAMETER_VALUE', `Tag key '${key.slice(0, 20)}...' had length ${key.length}, which exceeded length limit of 250`);
      const value = b.value === undefined || b.value === null ? '' : String(b.value);
      if (value.length > 5000) throw new MlflowFailure(400, 'INVALID_PARAMETER_VALUE', `Tag value '${value.slice(0, 20)}...' had length ${value.length}, which exceeded length limit of 5000`);
      v.tags = { ...(v.tags ?? {}), [key]: value };
      return { json: {} };
    };
    route('POST', 'model-versions/set-tag', 'model-versions.set-tag', setTag);

    route('DELETE', 'model-versions/delete-tag', 'model-versions.delete-tag', (req) => {
      const b = bodyOf(req);
      const v = p.versionOf(param(req, 'name', b), param(req, 'version', b));
      const key = param(req, 'key', b);
      if (!v.tags || !(key in v.tags)) {
        throw new MlflowFailure(404, 'RESOURCE_DOES_NOT_EXIST', `No tag with name: ${key} in model version ${b.name} version ${b.version}`);
      }
      delete v.tags[key];
      return { json: {} };
    });

    const runJson = (r: MlflowRun): Record<string, unknown> => ({
      info: {
        run_id: r.run_id,
        run_uuid: r.run_id,
        run_name: r.run_name ?? r.run_id,
        experiment_id: r.experiment_id,
        user_id: r.user_id ?? '',
        status: r.status ?? 'FINISHED',
        start_time: r.start_time ?? T0,
        ...(r.status === 'RUNNING' ? {} : { end_time: r.end_time ?? T0 + 1800_000 }),
        artifact_uri: p.artifactUri(r),
        lifecycle_stage: 'active',
      },
      data: {
        ...(Object.keys(r.metrics ?? {}).length ? { metrics: Object.entries(r.metrics ?? {}).map(([key, value]) => ({ key, value, timestamp: T0, step: 0 })) } : {}),
        ...(Object.keys(r.params ?? {}).length ? { params: tagList(r.params) } : {}),
        ...(Object.keys(r.tags ?? {}).length ? { tags: tagList(r.tags) } : {}),
      },
      inputs: {},
    });

    route('GET', 'runs/get', 'runs.get', (req) => ({ json: { run: runJson(p.runOf(param(req, 'run_id'))) } }));

    const experiments = (): MlflowExperiment[] => (p.st.experiments ??= [{ experiment_id: '0', name: 'Default' }]);
    const experimentJson = (e: MlflowExperiment): Record<string, unknown> => ({
      experiment_id: e.experiment_id, name: e.name, artifact_location: e.artifact_location ?? `s3://${MLFLOW_ARTIFACT_BUCKET}/${e.experiment_id}`, lifecycle_stage: 'active',
      creation_time: e.creation_time ?? T0, last_update_time: e.creation_time ?? T0, ...(Object.keys(e.tags ?? {}).length ? { tags: tagList(e.tags) } : {}),
    });
    const experimentOf = (id: string): MlflowExperiment => {
      const e = experiments().find((x) => x.experiment_id === id);
      if (!e) throw new MlflowFailure(404, 'RESOURCE_DOES_NOT_EXIST', `No Experiment with id=${id} exists`);
      return e;
    };
    const tagsIn = (v: unknown): Record<string, string> => Object.fromEntries(((v as { key: string; value: string }[] | undefined) ?? []).map((t) => [String(t.key), String(t.value ?? '')]));

    route('GET', 'experiments/get-by-name', 'experiments.get-by-name', (req) => {
      const name = param(req, 'experiment_name');
      const e = experiments().find((x) => x.name === name);
      if (!e) throw new MlflowFailure(404, 'RESOURCE_DOES_NOT_EXIST', `Could not find experiment with name '${name}'`);
      return { json: { experiment: experimentJson(e) } };
    });

    route('POST', 'experiments/create', 'experiments.create', (req) => {
      const b = bodyOf(req);
      const name = param(req, 'name', b);
      if (experiments().some((x) => x.name === name)) throw new MlflowFailure(400, 'RESOURCE_ALREADY_EXISTS', `Experiment '${name}' already exists.`);
      const id = String(Math.max(0, ...experiments().map((x) => Number(x.experiment_id) || 0)) + 1);
      experiments().push({ experiment_id: id, name, creation_time: Date.now(), ...(typeof b.artifact_location === 'string' ? { artifact_location: b.artifact_location } : {}), tags: tagsIn(b.tags) });
      return { json: { experiment_id: id } };
    });

    route('POST', 'runs/create', 'runs.create', (req) => {
      const b = bodyOf(req);
      const e = experimentOf(param(req, 'experiment_id', b));
      const id = process.getBuiltinModule('node:crypto').randomUUID().replace(/-/g, '');
      const tags = tagsIn(b.tags);
      const runName = typeof b.run_name === 'string' && b.run_name ? b.run_name : tags['mlflow.runName'] ?? `run-${id.slice(0, 8)}`;
      const r: MlflowRun = { run_id: id, experiment_id: e.experiment_id, run_name: runName, user_id: typeof b.user_id === 'string' ? b.user_id : tags['mlflow.user'] ?? '', status: 'RUNNING', start_time: Number(b.start_time ?? Date.now()), tags: { ...tags, 'mlflow.runName': runName } };
      p.st.runs.push(r);
      return { json: { run: runJson(r) } };
    });

    route('POST', 'runs/update', 'runs.update', (req) => {
      const b = bodyOf(req);
      const r = p.runOf(String(b.run_id ?? b.run_uuid ?? param(req, 'run_id', b)));
      const status = b.status === undefined ? undefined : String(b.status);
      if (status !== undefined && !['RUNNING', 'SCHEDULED', 'FINISHED', 'FAILED', 'KILLED'].includes(status)) throw new MlflowFailure(400, 'INVALID_PARAMETER_VALUE', `Invalid value ${status} for parameter 'status' supplied.`);
      if (status) r.status = status;
      if (b.end_time !== undefined) r.end_time = Number(b.end_time);
      if (typeof b.run_name === 'string' && b.run_name) r.run_name = b.run_name;
      return { json: { run_info: runJson(r).info } };
    });

    /** MLflow's search grammar, the part the suite uses: comparisons with `=` / `!=` joined by AND. */
    const matches = (r: MlflowRun, filter: string): boolean => {
      if (!filter.trim()) return true;
      return filter.split(/\s+and\s+/i).every((clause) => {
        const m = /^\s*(tags|tag|attributes|attribute|attr|run)\.(`[^`]+`|"[^"]+"|[\w.]+)\s*(=|!=)\s*'((?:[^'\\]|\\.)*)'\s*$/i.exec(clause);
        if (!m) throw new MlflowFailure(400, 'INVALID_PARAMETER_VALUE', `Invalid clause(s) in filter string: '${clause.trim()}'`);
        const key = (m[2] as string).replace(/^[`"]|[`"]$/g, '');
        const want = (m[4] as string).replace(/\\(.)/g, '$1');
        const kind = (m[1] as string).toLowerCase();
        const have = kind.startsWith('tag') ? r.tags?.[key] : key === 'status' ? (r.status ?? 'FINISHED') : key === 'run_name' ? r.run_name : key === 'run_id' ? r.run_id : undefined;
        return m[3] === '=' ? have === want : have !== want;
      });
    };

    route('POST', 'runs/search', 'runs.search', (req) => {
      const b = bodyOf(req);
      const ids = ((b.experiment_ids as unknown[] | undefined) ?? []).map(String);
      if (!ids.length) throw new MlflowFailure(400, 'INVALID_PARAMETER_VALUE', 'At least one experiment must be specified');
      const found = p.st.runs.filter((r) => ids.includes(r.experiment_id) && matches(r, String(b.filter ?? '')))
        .sort((a, c) => (c.start_time ?? T0) - (a.start_time ?? T0))
        .slice(0, Number(b.max_results ?? 1000));
      return { json: found.length ? { runs: found.map(runJson) } : {} };
    });

    route('GET', 'artifacts/list', 'artifacts.list', (req) => {
      const r = p.runOf(req.query.get('run_id') ?? req.query.get('run_uuid') ?? param(req, 'run_id'));
      const root = p.artifactUri(r);
      const sub = (req.query.get('path') ?? '').replace(/^\/+|\/+$/g, '');
      const m = /^s3:\/\/([^/]+)\/(.*)$/.exec(root);
      const files: { path: string; is_dir: boolean; file_size?: number }[] = [];
      const bucket = m ? p.s3()?.buckets.get(m[1] as string) : undefined;
      if (m && bucket) {
        const prefix = `${m[2]}/${sub ? `${sub}/` : ''}`;
        const dirs = new Set<string>();
        for (const [key, o] of [...bucket.objects].sort(([a], [b]) => (a < b ? -1 : 1))) {
          if (!key.startsWith(prefix)) continue;
          const rest = key.slice(prefix.length);
          const slash = rest.indexOf('/');
          const rel = `${sub ? `${sub}/` : ''}${slash < 0 ? rest : rest.slice(0, slash)}`;
          if (slash >= 0) {
            if (!dirs.has(rel)) files.push({ path: rel, is_dir: true });
            dirs.add(rel);
          } else files.push({ path: rel, is_dir: false, file_size: o.data.length });
        }
      }
      return { json: { root_uri: root, ...(files.length ? { files } : {}) } };
    });
  },
};

export default mlflow;
