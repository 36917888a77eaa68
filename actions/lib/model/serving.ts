/**
 * How a serving Deployment says which promoted model it serves (model-serve sets these; model-retire
 * reads them): the label marks model servers, the annotation holds the gs:// prefix they load.
 */
import type { KubeClient, KubeObject } from '../kubernetes/client.js';

export const SERVER_LABEL = 'mlabs.io/model-server';
export const MODEL_URI_ANNOTATION = 'mlabs.io/model-uri';

/** Every Deployment (all namespaces) labelled as a model server whose model URI is `uri`. */
export async function deploymentsServing(kube: KubeClient, uri: string): Promise<KubeObject[]> {
  const all = await kube.list({ apiVersion: 'apps/v1', kind: 'Deployment' }, { labelSelector: `${SERVER_LABEL}=true` });
  const norm = (u: string): string => u.replace(/\/+$/, '');
  return all.filter((d) => norm(d.metadata.annotations?.[MODEL_URI_ANNOTATION] ?? '') === norm(uri));
}
