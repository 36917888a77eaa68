// The endpoints and EndpointSlice controllers: for each Service with a selector, an Endpoints object
// (same name; Ready pods in `addresses`, the others in `notReadyAddresses`) and one EndpointSlice
// (label kubernetes.io/service-name, owned by the Service), kept in step as pods and Services change.
// Shapes as kube-controller-manager writes them (pkg/controller/endpoint, pkg/controller/endpointslice).
import { createHash } from 'node:crypto';
import type { KubeCluster } from './cluster.js';
import { meta, type Json } from './store.js';

const isObj = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);

function podReady(p: Json): boolean {
  const conds = (((p.status ?? {}) as Json).conditions as Json[] | undefined) ?? [];
  return conds.some((c) => c.type === 'Ready' && c.status === 'True');
}

/** The pod's port for a Service port's targetPort (a number, or a container port's name). */
function resolvePort(pod: Json, target: unknown): number | undefined {
  if (typeof target === 'number') return target;
  for (const c of ((((pod.spec ?? {}) as Json).containers as Json[] | undefined) ?? [])) {
    for (const p of (c.ports as Json[] | undefined) ?? []) if (p.name === target) return Number(p.containerPort);
  }
  return /^\d+$/.test(String(target)) ? Number(target) : undefined;
}

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

export function reconcileEndpoints(c: KubeCluster): void {
  const svcT = c.type('', 'services');
  const podT = c.type('', 'pods');
  const epT = c.type('', 'endpoints');
  const sliceT = c.type('discovery.k8s.io', 'endpointslices');
  const services = c.store.list(svcT);
  const wanted = new Set<string>();
  for (const svc of services) {
    const sm = meta(svc);
    const ns = String(sm.namespace);
    const spec = (svc.spec ?? {}) as Json;
    const selector = isObj(spec.selector) ? (spec.selector as Record<string, string>) : undefined;
    if (!selector || !Object.keys(selector).length || spec.type === 'ExternalName') continue;
    const name = String(sm.name);
    wanted.add(`${ns}/${name}`);
    const pods = c.store.list(podT, ns).filter((p) => {
      const labels = (meta(p).labels ?? {}) as Record<string, string>;
      const st = (p.status ?? {}) as Json;
      return Object.entries(selector).every(([k, v]) => labels[k] === v) && st.podIP && !['Succeeded', 'Failed'].includes(String(st.phase));
    });
    const ports = ((spec.ports as Json[] | undefined) ?? []).map((p) => ({ name: p.name, target: p.targetPort ?? p.port, protocol: String(p.protocol ?? 'TCP') }));
    const address = (p: Json): Json => ({ ip: String(((p.status ?? {}) as Json).podIP), ...(((p.spec ?? {}) as Json).nodeName ? { nodeName: ((p.spec ?? {}) as Json).nodeName } : {}), targetRef: { kind: 'Pod', namespace: ns, name: meta(p).name, uid: meta(p).uid } });
    const subsets: Json[] = [];
    const byPorts = new Map<string, { ports: Json[]; ready: Json[]; notReady: Json[] }>();
    for (const p of pods) {
      const pp = ports.map((x) => ({ ...(x.name ? { name: x.name } : {}), port: resolvePort(p, x.target), protocol: x.protocol })).filter((x) => x.port !== undefined);
      const k = JSON.stringify(pp);
      const e = byPorts.get(k) ?? { ports: pp, ready: [], notReady: [] };
      ((podReady(p) && !meta(p).deletionTimestamp) ? e.ready : e.notReady).push(address(p));
      byPorts.set(k, e);
    }
    for (const e of byPorts.values()) subsets.push({ ...(e.ready.length ? { addresses: e.ready } : {}), ...(e.notReady.length ? { notReadyAddresses: e.notReady } : {}), ports: e.ports });
    const labels = { ...((sm.labels ?? {}) as Json) };
    const ep = c.store.get(epT, ns, name);
    const epBody: Json = { apiVersion: 'v1', kind: 'Endpoints', metadata: { name, namespace: ns, ...(Object.keys(labels).length ? { labels } : {}) }, ...(subsets.length ? { subsets } : {}) };
    if (!ep) c.createObject(epT, epBody, 'endpoint-controller');
    else if (!same(ep.subsets, epBody.subsets)) c.updateObject(epT, ep, { ...structuredClone(ep), ...(subsets.length ? { subsets } : {}), ...(subsets.length ? {} : { subsets: undefined }) }, undefined);

    const sliceName = `${name}-${createHash('sha256').update(`${ns}/${name}`).digest('hex').slice(0, 5)}`;
    const endpoints = pods.map((p) => ({
      addresses: [String(((p.status ?? {}) as Json).podIP)],
      conditions: { ready: podReady(p) && !meta(p).deletionTimestamp, serving: podReady(p), terminating: !!meta(p).deletionTimestamp },
      ...(((p.spec ?? {}) as Json).nodeName ? { nodeName: ((p.spec ?? {}) as Json).nodeName } : {}),
      targetRef: { kind: 'Pod', namespace: ns, name: meta(p).name, uid: meta(p).uid },
    }));
    const slicePorts = ports.map((x) => ({ ...(x.name ? { name: x.name } : { name: '' }), port: pods[0] ? resolvePort(pods[0], x.target) : typeof x.target === 'number' ? x.target : undefined, protocol: x.protocol }));
    const slice = c.store.get(sliceT, ns, sliceName);
    const sliceBody: Json = {
      apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
      metadata: { name: sliceName, namespace: ns, generateName: `${name}-`, labels: { ...labels, 'kubernetes.io/service-name': name, 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' }, ownerReferences: [{ apiVersion: 'v1', kind: 'Service', name, uid: sm.uid, controller: true, blockOwnerDeletion: true }] },
      addressType: 'IPv4', endpoints, ports: slicePorts,
    };
    if (!slice) c.createObject(sliceT, sliceBody, 'endpointslice-controller');
    else if (!same(slice.endpoints, endpoints) || !same(slice.ports, slicePorts)) c.updateObject(sliceT, slice, { ...structuredClone(slice), endpoints, ports: slicePorts }, undefined);
  }
  // Endpoints of Services that are gone (EndpointSlices follow their owner through the garbage collector).
  // Endpoints of a Service without a selector are the user's own and stay.
  const existing = new Set(services.map((sv) => `${String(meta(sv).namespace)}/${String(meta(sv).name)}`));
  for (const ep of c.store.list(epT)) {
    const ours = ((meta(ep).managedFields as Json[] | undefined) ?? []).some((f) => f.manager === 'endpoint-controller');
    if (ours && !existing.has(`${String(meta(ep).namespace)}/${String(meta(ep).name)}`)) c.purge(epT, ep);
  }
}
