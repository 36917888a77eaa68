/** Shared set-up for the model tests: a sandbox with its MinIO stand-in and MLflow, and ways to register a model there. */
import { createHash } from 'node:crypto';
import type { MlflowSeed } from '../../scripts/sandbox/apis/mlflow.js';
import type { S3Service } from '../../scripts/sandbox/apis/s3.js';
import type { StorageState } from '../../scripts/sandbox/apis/storage.js';
import { startSandbox, type Sandbox } from '../../scripts/sandbox/index.js';

export const MODELS_BUCKET = 'mlabs-demo-models';

export async function modelSandbox(): Promise<{ sb: Sandbox; env: Record<string, string>; s3: S3Service }> {
  const sb = await startSandbox({ port: 0, operationMs: 40 });
  return { sb, env: { ...sb.env, MLABS_RETRY_BASE_MS: '5' }, s3: sb.ctx.services.get('s3') as S3Service };
}

/** Register NAME version 1 from a new run with `tags`, its artifacts `files` (path under model/ → bytes) in the MinIO stand-in. */
export function registerModel(sb: Sandbox, name: string, runTags: Record<string, string>, files: Record<string, Buffer | string>, versionTags: Record<string, string> = {}): { runId: string; prefix: string } {
  const st = sb.state.mlflow as MlflowSeed;
  const runId = createHash('md5').update(name).digest('hex');
  st.runs.push({ run_id: runId, experiment_id: '7', tags: runTags });
  st.registered_models.push({ name, versions: [{ version: '1', run_id: runId, tags: versionTags }] });
  const s3 = sb.ctx.services.get('s3') as S3Service;
  const prefix = `7/${runId}/artifacts/model`;
  for (const [path, data] of Object.entries(files)) s3.put('mlflow', `${prefix}/${path}`, data);
  return { runId, prefix };
}

/** Object names under `prefix` in the sandbox's Cloud Storage. */
export function gcsNames(sb: Sandbox, prefix: string, bucket = MODELS_BUCKET): string[] {
  const st = sb.state.storage as StorageState;
  return Object.keys(st.objects[bucket] ?? {})
    .filter((n) => n.startsWith(prefix))
    .sort();
}

export function versionTags(sb: Sandbox, name: string, version = '1'): Record<string, string> {
  const m = (sb.state.mlflow as MlflowSeed).registered_models.find((x) => x.name === name);
  return m?.versions.find((v) => v.version === version)?.tags ?? {};
}

/** Cloud Storage upload requests the sandbox saw (session starts and chunk PUTs). */
export function uploads(sb: Sandbox): { sessions: number; chunks: typeof sb.requests } {
  const up = sb.requests.filter((r) => r.path.includes('/upload/storage/v1/'));
  return { sessions: up.filter((r) => r.method === 'POST' && r.query.uploadType === 'resumable').length, chunks: up.filter((r) => r.method === 'PUT') };
}
