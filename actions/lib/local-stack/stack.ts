/**
 * Deploy, undeploy and status of the local AI stack on the machine's cluster: the verbs. Everything
 * goes through kubectl (and helm for NeMo) with argument arrays; objects and secrets go in on stdin.
 * The parts: node.ts (the node and whether the components fit), apply.ts (manifests, overlays,
 * server-side apply), secrets.ts, rollout.ts, health.ts, models.ts (Ollama pulls), results.ts (the report's rows).
 */
import { ActionError, describeError } from '../errors.js';
import { info, warning } from '../runner.js';
import { sleep } from '../time.js';
import { applyComponent, operatorManifest } from './apply.js';
import { healthOf } from './health.js';
import { uninstallNemo } from './helm.js';
import { Kubectl } from './kubectl.js';
import { MANAGED_BY } from './labels.js';
import { type Component, componentSpecs, deployOrder, isOperator, type NodeFacts, type Operator, OPERATORS } from './matrix.js';
import { pullModels } from './models.js';
import { assessOrRefuse, readNode } from './node.js';
import { type ComponentResult, resultBase } from './results.js';
import { waitForRollout } from './rollout.js';

export { manifestsDir, overlay } from './apply.js';
export { healthOf } from './health.js';
export { MANAGED_BY } from './labels.js';
export { assessOrRefuse, readNode, Refusal } from './node.js';
export type { ComponentResult } from './results.js';
export { waitForRollout } from './rollout.js';

export interface StackOptions {
  kubeconfig: string;
  components: Component[];
  nimModel: string;
  ngcKey: string;
  timeoutMs: number;
  tempDir: string;
  ollamaModels: string[];
}

/** Whether the namespace exists: without it, nothing of the component is deployed. */
async function hasNamespace(k: Kubectl, namespace: string): Promise<boolean> {
  return (await k.run(['get', 'namespace', namespace, '--ignore-not-found', '-o', 'name'])).stdout.trim() !== '';
}

export async function deploy(opts: StackOptions): Promise<{ node: NodeFacts; results: ComponentResult[] }> {
  const k = new Kubectl(opts.kubeconfig);
  const specs = componentSpecs(opts.nimModel);
  const deadline = Date.now() + opts.timeoutMs;
  const node = await assessOrRefuse(k, opts.components, opts.nimModel, opts.timeoutMs);
  const results: ComponentResult[] = [];
  for (const c of deployOrder(opts.components)) {
    const spec = specs[c];
    const res = resultBase(spec, node);
    results.push(res);
    try {
      res.changed = await applyComponent(k, spec, node, opts);
      info(`${c}: ${res.changed.length ? `applied (${res.changed.join(', ')})` : 'no changes'}`);
    } catch (err) {
      res.status = 'failed';
      res.error = describeError(err);
      warning(res.error);
    }
  }
  for (const res of results) {
    if (res.status === 'failed') continue;
    const spec = specs[res.component];
    try {
      await waitForRollout(k, spec, deadline);
      const h = await healthOf(k, spec, Math.min(deadline, Date.now() + 30_000));
      res.health = h.text;
      res.status = h.ok ? (res.changed.length ? 'deployed' : 'unchanged') : 'unhealthy';
      if (!h.ok) res.error = `${res.component}: health check failing: ${h.text}`;
      if (h.ok && res.component === 'ollama' && opts.ollamaModels.length) await pullModels(k, opts.ollamaModels);
    } catch (err) {
      res.status = 'failed';
      res.error = describeError(err);
    }
  }
  return { node, results };
}

export async function undeploy(opts: StackOptions & { purge: boolean }): Promise<ComponentResult[]> {
  const k = new Kubectl(opts.kubeconfig);
  const specs = componentSpecs(opts.nimModel);
  const deadline = Date.now() + opts.timeoutMs;
  const results: ComponentResult[] = [];
  const timeoutArg = `--timeout=${Math.ceil(opts.timeoutMs / 1000)}s`;
  for (const c of deployOrder(opts.components).reverse()) {
    const spec = specs[c];
    const res = resultBase(spec, undefined);
    results.push(res);
    if (!(await hasNamespace(k, spec.namespace))) {
      res.status = 'absent';
      continue;
    }
    if (spec.install === 'helm' && (await uninstallNemo(opts.kubeconfig, Math.ceil(opts.timeoutMs / 1000)))) res.changed.push('helm release nemo (uninstalled)');
    if (isOperator(c)) {
      res.changed.push(...(await undeployOperator(k, c, opts.purge, timeoutArg)));
    } else if (opts.purge) {
      await k.must(['delete', 'namespace', spec.namespace, '--ignore-not-found', '--wait=true', timeoutArg], `${c}: deleting namespace ${spec.namespace}`, { log: true });
      res.changed.push(`Namespace/${spec.namespace} with its PersistentVolumeClaims (purged)`);
    } else {
      const selector = spec.install === 'kustomize' ? ['-l', `app.kubernetes.io/managed-by=${MANAGED_BY}`] : ['--all'];
      const out = await k.must(['delete', 'deployments,statefulsets,daemonsets,jobs,services', '-n', spec.namespace, ...selector, '--ignore-not-found', '--wait=true', timeoutArg], `${c}: deleting workloads`, { log: true });
      // kubectl prints `kind/name deleted` per object, and "No resources found" when there was none.
      res.changed.push(...out.split('\n').filter((l) => /\bdeleted\b/.test(l)));
    }
    // Gone means gone: no pod of the component is left.
    for (;;) {
      const left = await k.run(['get', 'pods', '-n', spec.namespace, '-o', 'name']);
      if (!left.stdout.trim() || left.code !== 0) break;
      if (Date.now() > deadline) throw new ActionError(`${c}: pods still present after the timeout: ${left.stdout.trim().split('\n').join(', ')}`);
      await sleep(500);
    }
    res.status = 'removed';
    if (isOperator(c)) {
      res.health = opts.purge ? 'CustomResourceDefinitions and their objects deleted' : `kept CustomResourceDefinitions (and the users' objects of them): ${OPERATORS[c].crds.join(', ')}`;
      continue;
    }
    const pvcs = opts.purge ? [] : (await k.list('persistentvolumeclaims', spec.namespace, `${c}: listing kept volumes`)).map((p) => p.metadata.name);
    res.health = opts.purge ? 'data purged' : pvcs.length ? `kept PVCs: ${pvcs.join(', ')}` : 'no PVCs';
  }
  return results;
}

/**
 * An operator's undeploy. Always: its controller and the cluster-scoped objects that call it (admission
 * webhooks, aggregated APIs), so that the cluster does not refuse Jobs or fail discovery without it.
 * Its CustomResourceDefinitions stay unless purged: deleting a CRD deletes every object of it in the
 * whole cluster (users' JobSets, Workloads, RayClusters), which `confirm` guards; what purge deleted is reported.
 */
async function undeployOperator(k: Kubectl, name: Operator, purge: boolean, timeoutArg: string): Promise<string[]> {
  const pin = OPERATORS[name];
  const changed: string[] = [];
  const out = await k.must(['delete', 'deployments,services', '-n', pin.namespace, '-l', `mlabs.dev/component=${name}`, '--ignore-not-found', '--wait=true', timeoutArg], `${name}: deleting its controller`, { log: true });
  changed.push(...out.split('\n').filter((l) => /\bdeleted\b/.test(l)));
  if (pin.callers.length) {
    const calls = await k.must(['delete', ...pin.callers, '--ignore-not-found', '--wait=true', timeoutArg], `${name}: deleting its webhooks and API services`, { log: true });
    changed.push(...calls.split('\n').filter((l) => /\bdeleted\b/.test(l)));
  }
  if (!purge) return changed;
  // What deleting the CRDs takes with it, named before it goes.
  const present = (await k.run(['get', ...pin.crds.map((c) => `crd/${c}`), '--ignore-not-found', '-o', 'name'])).stdout.split('\n').filter(Boolean).map((l) => l.replace(/^[^/]+\//, ''));
  if (present.length) {
    const objects = await k.run(['get', present.join(','), '-A', '-o', 'name']);
    const users = objects.code === 0 ? objects.stdout.split('\n').filter(Boolean) : [];
    if (users.length) changed.push(`${users.length} object(s) of its CustomResourceDefinitions (deleted with them): ${users.slice(0, 10).join(', ')}${users.length > 10 ? ', …' : ''}`);
  }
  const all = await k.must(['delete', '-f', '-', '--ignore-not-found', '--wait=true', timeoutArg], `${name}: deleting its manifest`, { input: operatorManifest(name), log: true });
  // kubectl prints `customresourcedefinition.apiextensions.k8s.io "name" deleted` per CRD.
  changed.push(...all.split('\n').filter((l) => /^customresourcedefinition\S* \S+ deleted/.test(l)));
  await k.must(['delete', 'namespace', pin.namespace, '--ignore-not-found', '--wait=true', timeoutArg], `${name}: deleting namespace ${pin.namespace}`, { log: true });
  changed.push(`Namespace/${pin.namespace} (purged)`);
  return changed;
}

export async function status(opts: StackOptions): Promise<{ node: NodeFacts; results: ComponentResult[] }> {
  const k = new Kubectl(opts.kubeconfig);
  const specs = componentSpecs(opts.nimModel);
  const node = await readNode(k, []);
  const results: ComponentResult[] = [];
  for (const c of deployOrder(opts.components)) {
    const spec = specs[c];
    const res = resultBase(spec, node);
    results.push(res);
    if (!(await hasNamespace(k, spec.namespace))) {
      res.status = 'absent';
      continue;
    }
    const items = await k.list('deployments,statefulsets', spec.namespace, `${c}: reading workloads`);
    const notReady = items.filter((o) => Number((o.status as { readyReplicas?: number } | undefined)?.readyReplicas ?? 0) < Number((o.spec as { replicas?: number } | undefined)?.replicas ?? 1));
    const running = items.flatMap((o) => ((o.spec as { template?: { spec?: { containers?: { image: string }[] } } } | undefined)?.template?.spec?.containers ?? []).map((x) => x.image));
    if (running.length) res.images = running;
    if (!items.length) {
      res.status = 'absent';
      res.health = 'not deployed (namespace and data kept)';
      continue;
    }
    res.status = notReady.length ? 'not-ready' : 'ready';
    res.health = (await healthOf(k, spec, Date.now())).text;
  }
  return { node, results };
}
