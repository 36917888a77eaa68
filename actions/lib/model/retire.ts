/**
 * Retire a promoted model version: refuse while a serving Deployment points at it, then remove its
 * Cloud Storage prefix (manifest.json first, so a half-removed copy is never taken for a whole one),
 * then clear the version's `mlabs.promoted` tag. The model itself stays in MLflow and MinIO: promoting
 * it again brings the copy back. Re-running converges (nothing there, no tag: done).
 */
import { ActionError } from '../errors.js';
import * as gcs from '../google/storage.js';
import type { KubeClient } from '../kubernetes/client.js';
import { TAG_PROMOTED } from './gate.js';
import type { MlflowClient } from './mlflow.js';
import { MANIFEST, parseGcsPrefix, type ModelRef } from './promote.js';
import { deploymentsServing, MODEL_URI_ANNOTATION, SERVER_LABEL } from './serving.js';

export interface RetireOptions {
  ref: Extract<ModelRef, { kind: 'registry' }>;
  /** gs:// prefix; default the version's mlabs.promoted tag. */
  uri?: string;
  mlflow: MlflowClient;
  kube: () => Promise<KubeClient>;
  parallel: number;
}

export interface RetireResult {
  model: string;
  version: string;
  uri: string;
  deleted: number;
  tagCleared: boolean;
}

export async function retire(o: RetireOptions): Promise<RetireResult> {
  const v = o.ref.alias ? await o.mlflow.versionByAlias(o.ref.name, o.ref.alias) : await o.mlflow.modelVersion(o.ref.name, o.ref.version as string);
  const uri = o.uri || v.tags[TAG_PROMOTED] || '';
  if (!uri) {
    return { model: v.name, version: v.version, uri: '', deleted: 0, tagCleared: false };
  }
  const dest = parseGcsPrefix(uri);
  if (!dest || !dest.prefix) throw new ActionError(`${v.name} version ${v.version}'s ${TAG_PROMOTED} tag is ${JSON.stringify(uri)}, not a gs://bucket/prefix/ URI.`, { fix: 'Pass the prefix to remove as the uri input.' });
  const canonical = `gs://${dest.bucket}/${dest.prefix}`;
  const serving = await deploymentsServing(await o.kube(), canonical);
  if (serving.length) {
    const names = serving.map((d) => `${d.metadata.namespace}/${d.metadata.name}`);
    throw new ActionError(`Refused: ${canonical} is still served by ${names.join(', ')} (Deployment labelled ${SERVER_LABEL}=true with ${MODEL_URI_ANNOTATION}=${canonical}). Nothing was removed.`, {
      fix: `Undeploy it first (model-serve verb: undeploy, or the serve-undeploy workflow), then retire.`,
    });
  }
  const listed = (await gcs.listObjects(dest.bucket, { prefix: dest.prefix })).objects;
  const manifest = listed.find((x) => x.name === `${dest.prefix}${MANIFEST}`);
  let deleted = 0;
  if (manifest && (await gcs.deleteObject(dest.bucket, manifest.name, { ifGenerationMatch: manifest.generation }))) deleted++;
  const rest = listed.filter((x) => x !== manifest);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < rest.length) {
      const x = rest[next++];
      if (x && (await gcs.deleteObject(dest.bucket, x.name))) deleted++;
    }
  };
  await Promise.all(Array.from({ length: Math.min(o.parallel, rest.length) }, worker));
  const tagCleared = v.tags[TAG_PROMOTED] !== undefined ? await o.mlflow.deleteVersionTag(v.name, v.version, TAG_PROMOTED) : false;
  return { model: v.name, version: v.version, uri: canonical, deleted, tagCleared };
}
