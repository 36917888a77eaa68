/**
 * The secrets a component needs, applied through kubectl on stdin and masked before anything can
 * print them: MLflow's generated MinIO credentials (made once, then kept), the NGC pull and API keys.
 */
import { setSecret } from '../runner.js';
import type { KubeObject, Kubectl } from './kubectl.js';
import { stackLabels } from './labels.js';
import type { Component, ComponentSpec } from './matrix.js';

const b64 = (s: string): string => Buffer.from(s).toString('base64');

function secretObject(namespace: string, name: string, component: Component, data: Record<string, string>, type = 'Opaque'): string {
  const encoded: Record<string, string> = {};
  for (const [k, v] of Object.entries(data)) {
    encoded[k] = b64(v);
    setSecret(encoded[k]);
  }
  return JSON.stringify({
    apiVersion: 'v1', kind: 'Secret', type,
    metadata: { name, namespace, labels: { ...stackLabels(component), 'mlabs.dev/keep': 'true' } },
    data: encoded,
  });
}

/** Secrets a component needs; generated credentials are created once and then reused (the data behind them depends on them). */
export async function ensureSecrets(k: Kubectl, spec: ComponentSpec, ngcKey: string): Promise<string[]> {
  const made: string[] = [];
  if (spec.name === 'mlflow') {
    const have = await k.run(['get', 'secret', 'mlflow-minio', '-n', spec.namespace, '--ignore-not-found', '-o', 'name']);
    if (!have.stdout.trim()) {
      const { randomBytes } = process.getBuiltinModule('node:crypto');
      const user = `mlflow-${randomBytes(4).toString('hex')}`;
      const password = randomBytes(24).toString('base64url');
      setSecret(password);
      await k.apply(secretObject(spec.namespace, 'mlflow-minio', spec.name, { MINIO_ROOT_USER: user, MINIO_ROOT_PASSWORD: password }), 'mlflow: creating the MinIO credentials Secret');
      made.push('Secret/mlflow-minio (generated)');
    }
  }
  if (spec.needsNgcKey) {
    const auth = b64(`$oauthtoken:${ngcKey}`);
    setSecret(auth);
    const dockerconfig = JSON.stringify({ auths: { 'nvcr.io': { username: '$oauthtoken', password: ngcKey, auth } } });
    setSecret(dockerconfig);
    const before = await k.current([secretObject(spec.namespace, 'ngc-registry', spec.name, { '.dockerconfigjson': dockerconfig }, 'kubernetes.io/dockerconfigjson'), secretObject(spec.namespace, 'ngc-api', spec.name, { NGC_API_KEY: ngcKey })].join('\n'));
    const want = {
      'ngc-registry': secretObject(spec.namespace, 'ngc-registry', spec.name, { '.dockerconfigjson': dockerconfig }, 'kubernetes.io/dockerconfigjson'),
      'ngc-api': secretObject(spec.namespace, 'ngc-api', spec.name, { NGC_API_KEY: ngcKey }),
    };
    for (const [name, obj] of Object.entries(want)) {
      const cur = before.find((o) => o.metadata.name === name) as (KubeObject & { data?: Record<string, string> }) | undefined;
      const wantData = (JSON.parse(obj) as { data: Record<string, string> }).data;
      if (cur && JSON.stringify(cur.data) === JSON.stringify(wantData)) continue;
      await k.apply(obj, `${spec.name}: writing the NGC Secret ${name}`);
      made.push(`Secret/${name}`);
    }
  }
  return made;
}
