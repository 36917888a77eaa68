/**
 * What the local stack applies: its kustomize bases (found next to the action), an overlay per
 * component with the node's images and the matrix's requests, the namespace and secrets, and the
 * manifests through server-side apply, reporting what changed.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { kfpMirror, localStackManifests } from '../config.js';
import { ActionError } from '../errors.js';
import { installNemo } from './helm.js';
import type { Kubectl } from './kubectl.js';
import { stackLabels } from './labels.js';
import { type ComponentSpec, isOperator, KFP, type NodeFacts, type Operator, OPERATORS } from './matrix.js';
import { ensureSecrets } from './secrets.js';
import type { StackOptions } from './stack.js';

/**
 * The suite's kustomize bases. GitHub checks out the whole repository for `uses:`, so from the bundle
 * (actions/local-stack/dist/index.js) they are at ../../lib/local-stack/manifests; from source
 * (actions/lib/local-stack/apply.ts) at ./manifests.
 */
export function manifestsDir(): string {
  const configured = localStackManifests();
  if (configured) return configured;
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [['..', '..', 'lib', 'local-stack', 'manifests'], ['manifests']].map((p) => resolve(here, ...p));
  const found = candidates.find((c) => existsSync(join(c, 'mlflow', 'kustomization.yaml')));
  if (!found) throw new ActionError(`The local stack's manifests were not found next to the action (looked in ${candidates.join(', ')}).`, { fix: 'Use the action from a full checkout of mlabs-actions (`uses: mlabs/mlabs-actions/actions/local-stack@v1`).' });
  return found;
}

/** An overlay in the temp dir: the suite's base, the node's images, the matrix's requests. */
export function overlay(spec: ComponentSpec, images: ComponentSpec['images'][keyof ComponentSpec['images']], base: string, dir: string): string {
  mkdirSync(dir, { recursive: true });
  const patches = Object.entries(spec.containers).map(([container, c]) => ({
    target: { kind: c.kind, name: c.workload },
    patch: JSON.stringify({
      apiVersion: 'apps/v1', kind: c.kind, metadata: { name: c.workload },
      spec: { template: { spec: { containers: [{ name: container, resources: {
        requests: { cpu: c.cpu, memory: c.memory, ...(c.gpu ? { 'nvidia.com/gpu': String(c.gpu) } : {}) },
        limits: { memory: c.memory, ...(c.gpu ? { 'nvidia.com/gpu': String(c.gpu) } : {}) },
      } }] } } },
    }),
  }));
  const k = {
    apiVersion: 'kustomize.config.k8s.io/v1beta1',
    kind: 'Kustomization',
    resources: [relative(dir, base)],
    images: (images ?? []).filter((i) => i.placeholder.startsWith('mlabs/')).map((i) => ({ name: i.placeholder, newName: i.name, newTag: i.tag })),
    ...(patches.length ? { patches } : {}),
  };
  writeFileSync(join(dir, 'kustomization.yaml'), JSON.stringify(k, null, 2));
  return dir;
}

async function ensureNamespace(k: Kubectl, spec: ComponentSpec): Promise<void> {
  await k.apply(JSON.stringify({
    apiVersion: 'v1', kind: 'Namespace',
    metadata: { name: spec.namespace, labels: stackLabels(spec.name) },
  }), `${spec.name}: creating namespace ${spec.namespace}`);
}



/**
 * An operator's pinned manifest, unzipped and checked against the checksum OPERATORS pins: a file that
 * was changed (or a checkout that carries another version) is refused before anything is applied.
 */
export function operatorManifest(name: Operator, dir = manifestsDir()): string {
  const file = join(dir, name, `${name}.yaml.gz`);
  const pin = OPERATORS[name];
  if (!existsSync(file)) throw new ActionError(`${name}: the pinned manifest ${file} is missing.`, { fix: 'Use the action from a full checkout of mlabs-actions.' });
  const yaml = process.getBuiltinModule('node:zlib').gunzipSync(readFileSync(file)).toString('utf8');
  const got = process.getBuiltinModule('node:crypto').createHash('sha256').update(yaml).digest('hex');
  if (got !== pin.sha256) {
    throw new ActionError(`${name}: the manifest ${file} has sha256 ${got}, not the pinned ${pin.sha256} (${pin.repo} ${pin.version}); nothing was applied.`, {
      fix: 'Restore the file from the mlabs-actions release, or render it again with scripts/local-stack/render-operators.sh and pin its checksum in OPERATORS.',
    });
  }
  return yaml;
}

export async function applyComponent(k: Kubectl, spec: ComponentSpec, node: NodeFacts, opts: StackOptions): Promise<string[]> {
  const changed: string[] = [];
  const base = join(manifestsDir(), spec.name);
  await ensureNamespace(k, spec);
  changed.push(...(await ensureSecrets(k, spec, opts.ngcKey)));
  if (spec.install === 'kustomize') {
    const dir = overlay(spec, spec.images[node.platform], base, join(opts.tempDir, 'overlays', spec.name));
    const manifest = await k.must(['kustomize', dir], `${spec.name}: kubectl kustomize`);
    changed.push(...(await k.applyChanges(manifest, `${spec.name}: kubectl apply --server-side`)));
  } else if (spec.install === 'helm') {
    const manifest = await k.must(['kustomize', base], `${spec.name}: kubectl kustomize`);
    changed.push(...(await k.applyChanges(manifest, `${spec.name}: kubectl apply --server-side`)));
    const r = await installNemo(opts.kubeconfig, opts.ngcKey, opts.tempDir, Math.ceil(opts.timeoutMs / 1000));
    if (r.action !== 'unchanged') changed.push(`helm release nemo (${r.action})`);
  } else if (spec.install === 'manifest' && isOperator(spec.name)) {
    const pin = OPERATORS[spec.name];
    const manifest = operatorManifest(spec.name);
    changed.push(...(await k.applyChanges(manifest, `${spec.name}: kubectl apply --server-side (${pin.repo} ${pin.version})`)));
    await k.must(['wait', '--for', 'condition=established', '--timeout=60s', ...pin.crds.map((c) => `crd/${c}`)], `${spec.name}: waiting for its CustomResourceDefinitions`, { log: true });
  } else {
    const manifest = await k.must(['kustomize', base], `${spec.name}: kubectl kustomize`);
    changed.push(...(await k.applyChanges(manifest, `${spec.name}: kubectl apply --server-side`)));
    const mirror = kfpMirror();
    for (const [i, src] of KFP.sources.entries()) {
      const from = mirror ? join(mirror, i === 0 ? 'cluster-scoped-resources' : 'env/platform-agnostic') : src;
      const tree = await k.must(['kustomize', from], `kfp: kubectl kustomize ${from}`);
      changed.push(...(await k.applyChanges(tree, `kfp: kubectl apply --server-side (${from})`)));
      if (i === 0) await k.run(['wait', '--for', 'condition=established', '--timeout=60s', 'crd', '--all'], { log: true });
    }
  }
  return changed;
}
