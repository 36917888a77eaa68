// One sandbox Kubernetes cluster: an HTTPS API server on its own loopback port, generic storage,
// discovery and OpenAPI as kubectl needs them, the verbs, watch, logs and the service proxy.
// The simulated controllers live in controllers.ts.
import { isOllamaPod, nimAnswer, ollamaAnswer, type OllamaModel } from './model-servers.js';
import { vllmAnswer } from './vllm.js';
import { createHash, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parse as parseYaml } from 'yaml';
import type { FaultInjector } from '../faults.js';
import { bearerOf, type TokenInfo, type TokenRegistry } from '../tokens.js';
import { aggregateRules, authorize, bootstrapPolicy, escalationRefusal, forbiddenStatus, parseServiceAccountUser, rbacRulesFor, requestAttributes, serviceAccountUser, type ExternalAuthorizer, type RequestAttributes, type UserInfo } from './auth.js';
import { LogRequestError, LogStore, servePodLog } from './logs.js';
import { Controllers, type Delays } from './controllers.js';
import { jsonPatch, mergePatch, PatchError, recordUpdate, serverSideApply, strategicMerge, fieldsV1, type ManagerEntry } from './patch.js';
import type { Pki } from './pki.js';
import { decodeKubeProtobuf, ProtobufBodyError } from './protobuf.js';
import { parseQuantity, formatQuantity } from './quantity.js';
import { apiVersionOf, builtinResources, qualified, VERBS, type ResourceType } from './resources.js';
import { badQuantities, kindSchema, openApiComponents, unknownFields, validateKind, type ObjectSchema } from './schema.js';
import { customUnknownFields, pruneFields, validateCustom, validateObject, validateUpdate, type Cause } from './validation.js';
import { reconcileEndpoints } from './endpoints.js';
import { tableOf } from './printing.js';
import { meta, Store, type Json, type WatchEvent } from './store.js';

export const KUBE_VERSION = { major: '1', minor: '32', gitVersion: 'v1.32.4', platform: 'linux/amd64' };

export class KubeError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: Json,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
  toStatus(): Json {
    return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: this.message, reason: this.reason, ...(this.details ? { details: this.details } : {}), code: this.code };
  }
}

export interface ProxyAnswer {
  status: number;
  body: string;
  contentType?: string;
}

/** Health answers of the local stack's components, by path (what their real servers return). */
export const COMPONENT_HEALTH: Record<string, ProxyAnswer> = {
  '/health': { status: 200, body: 'OK', contentType: 'text/plain; charset=utf-8' },
  '/minio/health/live': { status: 200, body: '' },
  '/minio/health/ready': { status: 200, body: '' },
  '/readyz': { status: 200, body: 'all shards are ready', contentType: 'text/plain; charset=utf-8' },
  '/healthz': { status: 200, body: 'healthz check passed', contentType: 'text/plain; charset=utf-8' },
  '/api/tags': { status: 200, body: '{"models":[]}', contentType: 'application/json; charset=utf-8' },
  '/v1/health/ready': { status: 200, body: '{"object":"health-response","message":"Service is ready."}', contentType: 'application/json' },
  '/v1/health/live': { status: 200, body: '{"object":"health-response","message":"Service is live."}', contentType: 'application/json' },
};

export interface ClusterOptions {
  name: string;
  pki: Pki;
  tokens: TokenRegistry;
  faults: FaultInjector;
  delays?: Partial<Delays>;
  /** 'minikube' (the self-hosted machines; the default) or 'gke'. */
  flavor?: 'gke' | 'minikube';
  /**
   * The first authorizer of the chain (then RBAC). GKE clusters get one that allows every Google
   * identity until the IAM module sets its own ("IAM allows → allowed, else RBAC"); see auth.ts.
   */
  authorize?: ExternalAuthorizer;
  /** What `/version` answers beyond KUBE_VERSION (GKE's gitVersion, the machine's platform). */
  version?: Partial<typeof KUBE_VERSION> & { goVersion?: string };
}

/** Who makes a write: RBAC writes are checked against what they hold. */
interface Caller {
  user: UserInfo;
  token?: TokenInfo;
}

interface Target {
  type: ResourceType;
  namespace: string;
  name?: string;
  sub?: string;
  rest: string;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const isObj = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);

export function notFound(t: { group: string; resource: string }, name: string): KubeError {
  return new KubeError(404, 'NotFound', `${qualified(t)} "${name}" not found`, { name, ...(t.group ? { group: t.group } : {}), kind: t.resource });
}

export class KubeCluster {
  readonly name: string;
  readonly store = new Store();
  readonly types: ResourceType[] = builtinResources();
  readonly logs = new LogStore();
  readonly managers = new Map<string, ManagerEntry[]>();
  /** Per service (`ns/name`) proxy answers by path; a function gets the path and answers (or undefined = default). */
  readonly proxyAnswers = new Map<string, Record<string, ProxyAnswer> | ((path: string) => ProxyAnswer | undefined)>();
  /** Per Ollama service (`ns/name`) the models pulled into it (what its volume would hold). */
  readonly ollamaModels = new Map<string, Map<string, OllamaModel>>();
  /** Services whose proxy forwards to a URL (another sandbox API standing for the pod's server), by namespace/name. */
  readonly proxyForwards = new Map<string, string>();
  /** Cluster-level faults: images whose pull fails, watch streams that drop after ms, jobs that fail. */
  readonly clusterFaults = { imagePull: [] as RegExp[], watchDropMs: 0, failJobs: new Set<string | RegExp>() };
  readonly controllers: Controllers;
  private server?: Server;
  port = 0;
  private readonly watchers = new Set<ServerResponse>();

  readonly flavor: 'gke' | 'minikube';
  /** The sandbox's fault rules (the kubelet reads podExit and imagePull rules). */
  readonly faults: FaultInjector;

  constructor(readonly options: ClusterOptions) {
    const opts = options;
    this.name = opts.name;
    this.flavor = opts.flavor ?? 'minikube';
    this.faults = opts.faults;
    this.controllers = new Controllers(this, opts.delays);
    const policy = bootstrapPolicy(this.flavor);
    for (const o of policy.clusterRoles) this.seed(this.type('rbac.authorization.k8s.io', 'clusterroles'), o);
    for (const o of policy.clusterRoleBindings) this.seed(this.type('rbac.authorization.k8s.io', 'clusterrolebindings'), o);
    for (const sc of this.flavor === 'gke'
      ? [{ name: 'standard-rwo', provisioner: 'pd.csi.storage.gke.io', def: true, params: { type: 'pd-balanced' } }, { name: 'premium-rwo', provisioner: 'pd.csi.storage.gke.io', def: false, params: { type: 'pd-ssd' } }, { name: 'standard', provisioner: 'kubernetes.io/gce-pd', def: false, params: { type: 'pd-standard' } }]
      : [{ name: 'standard', provisioner: 'k8s.io/minikube-hostpath', def: true, params: undefined }]) {
      this.seed(this.type('storage.k8s.io', 'storageclasses'), {
        apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass',
        metadata: { name: sc.name, ...(sc.def ? { annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } } : {}), ...(this.flavor === 'minikube' ? { labels: { 'addonmanager.kubernetes.io/mode': 'EnsureExists' } } : {}) },
        provisioner: sc.provisioner, reclaimPolicy: 'Delete', volumeBindingMode: this.flavor === 'gke' ? 'WaitForFirstConsumer' : 'Immediate', ...(sc.params ? { parameters: sc.params, allowVolumeExpansion: true } : {}),
      });
    }
    // The endpoints controllers follow pods and Services (endpoints.ts), once per turn of the event loop.
    let pending = false;
    this.store.changes.on('event', (ev: WatchEvent) => {
      if (pending || ev.group !== '' || (ev.resource !== 'pods' && ev.resource !== 'services')) return;
      pending = true;
      setImmediate(() => {
        pending = false;
        try {
          reconcileEndpoints(this);
        } catch (err) {
          console.error('[sandbox kubernetes] endpoints controller:', err);
        }
      });
    });
    for (const ns of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) {
      this.createObject(this.type('', 'namespaces'), { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } }, 'kube-apiserver');
    }
    this.createObject(this.type('', 'services'), {
      apiVersion: 'v1', kind: 'Service', metadata: { name: 'kubernetes', namespace: 'default', labels: { component: 'apiserver', provider: 'kubernetes' } },
      spec: { type: 'ClusterIP', clusterIP: '10.96.0.1', ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: 6443 }] },
    }, 'kube-apiserver');
  }

  /** Store a system object as the cluster's own bootstrap makes it (no admission, no managed fields). */
  seed(t: ResourceType, obj: Json): Json {
    const m = meta(obj);
    m.uid = randomUUID();
    m.creationTimestamp = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    return this.store.put(t, obj);
  }

  /** What a namespace gets from the controllers at once: the `default` ServiceAccount and `kube-root-ca.crt`. */
  private namespaceDefaults(ns: string): void {
    const sa = this.type('', 'serviceaccounts');
    if (!this.store.get(sa, ns, 'default')) this.seed(sa, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default', namespace: ns } });
    const cm = this.type('', 'configmaps');
    if (!this.store.get(cm, ns, 'kube-root-ca.crt')) {
      this.seed(cm, {
        apiVersion: 'v1', kind: 'ConfigMap',
        metadata: { name: 'kube-root-ca.crt', namespace: ns, annotations: { 'kubernetes.io/description': 'Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.' } },
        data: { 'ca.crt': this.options.pki.caPem },
      });
    }
  }

  get server_(): string {
    return `https://127.0.0.1:${this.port}`;
  }

  async start(port = 0): Promise<void> {
    this.server = createServer({ key: this.options.pki.keyPem, cert: this.options.pki.certPem }, (req, res) => void this.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      this.server?.once('error', reject);
      this.server?.listen(port, '127.0.0.1', () => resolve());
    });
    this.port = (this.server.address() as AddressInfo).port;
    this.controllers.start();
  }

  async stop(): Promise<void> {
    this.controllers.stop();
    for (const w of this.watchers) w.destroy();
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  // ---- types ----------------------------------------------------------------------------------

  type(group: string, resource: string): ResourceType {
    const t = this.types.find((x) => x.group === group && x.resource === resource);
    if (!t) throw new Error(`unknown resource ${resource}.${group}`);
    return t;
  }

  typeOfKind(apiVersion: string, kind: string): ResourceType | undefined {
    return this.types.find((t) => apiVersionOf(t) === apiVersion && t.kind === kind);
  }

  schemaOf(t: ResourceType): ObjectSchema | undefined {
    return t.crd ? undefined : kindSchema(t.group, t.version, t.kind);
  }

  /** Re-read CustomResourceDefinitions into the type table. */
  syncCrds(): void {
    for (let i = this.types.length - 1; i >= 0; i--) if (this.types[i]?.crd) this.types.splice(i, 1);
    for (const crd of this.store.list(this.type('apiextensions.k8s.io', 'customresourcedefinitions'))) {
      if (meta(crd).deletionTimestamp) continue;
      const spec = (crd.spec ?? {}) as Json;
      const names = (spec.names ?? {}) as Json;
      for (const v of (spec.versions as Json[] | undefined) ?? []) {
        if (v.served === false) continue;
        this.types.push({
          group: String(spec.group),
          version: String(v.name),
          kind: String(names.kind),
          resource: String(names.plural),
          singular: String(names.singular ?? String(names.kind).toLowerCase()),
          namespaced: spec.scope !== 'Cluster',
          ...(Array.isArray(names.shortNames) ? { shortNames: names.shortNames as string[] } : {}),
          ...(Array.isArray(names.categories) ? { categories: names.categories as string[] } : {}),
          subresources: Object.keys(((v.subresources ?? {}) as Json)),
          crd: {
            schema: ((v.schema ?? {}) as Json).openAPIV3Schema as Json | undefined,
            selectableFields: ((v.selectableFields as Json[] | undefined) ?? []).map((f) => String(f.jsonPath).replace(/^\./, '')),
            printerColumns: (v.additionalPrinterColumns as Json[] | undefined) ?? [],
          },
        });
      }
    }
  }

  // ---- object lifecycle (used by handlers and controllers) ------------------------------------

  /** Admission + storage of a new object. Throws KubeError. */
  createObject(t: ResourceType, body: Json, manager: string, opts: { dryRun?: boolean; caller?: Caller } = {}): Json {
    const obj = structuredClone(body);
    obj.apiVersion = apiVersionOf(t);
    obj.kind = t.kind;
    const m = meta(obj);
    if (!m.name && m.generateName) m.name = `${String(m.generateName)}${randomUUID().replace(/-/g, '').slice(0, 5)}`;
    if (!m.name) throw new KubeError(422, 'Invalid', `${t.kind}${t.group ? `.${t.group}` : ''} "" is invalid: metadata.name: Required value: name or generateName is required`);
    const name = String(m.name);
    if (t.namespaced) {
      m.namespace ??= 'default';
      const ns = this.store.get(this.type('', 'namespaces'), '', String(m.namespace));
      if (!ns) throw notFound({ group: '', resource: 'namespaces' }, String(m.namespace));
      if (meta(ns).deletionTimestamp)
        throw new KubeError(403, 'Forbidden', `${qualified(t)} "${name}" is forbidden: unable to create new content in namespace ${String(m.namespace)} because it is being terminated`, { name, kind: t.resource });
    } else delete m.namespace;
    if (this.store.get(t, String(m.namespace ?? ''), name))
      throw new KubeError(409, 'AlreadyExists', `${qualified(t)} "${name}" already exists`, { name, ...(t.group ? { group: t.group } : {}), kind: t.resource });
    m.uid = randomUUID();
    m.creationTimestamp = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    m.generation = 1;
    delete m.resourceVersion;
    delete m.deletionTimestamp;
    delete m.managedFields;
    this.defaults(t, obj);
    this.validate(t, obj);
    if (opts.caller) this.confirmNoEscalation(t, obj, opts.caller);
    if (t.resource === 'pods') this.checkQuota(obj);
    if (opts.dryRun) return obj;
    if (t.resource === 'customresourcedefinitions') obj.status = crdStatus(obj);
    this.setManagers(obj, recordUpdate(undefined, obj, manager, [], this.schemaOf(t), apiVersionOf(t)));
    const stored = this.store.put(t, obj);
    if (t.resource === 'customresourcedefinitions') this.syncCrds();
    if (t.resource === 'namespaces') this.namespaceDefaults(name);
    if (t.resource === 'clusterroles' && t.group === 'rbac.authorization.k8s.io') this.aggregateClusterRoles();
    this.controllers.kick();
    return this.store.get(t, String(m.namespace ?? ''), name) ?? stored;
  }

  /** Role and binding writes by a user may not grant more than the user holds (auth.ts escalationRefusal). */
  private confirmNoEscalation(t: ResourceType, obj: Json, caller: Caller): void {
    if (t.group !== 'rbac.authorization.k8s.io') return;
    const refusal = escalationRefusal(this.store, t.resource, obj, caller.user, (a) => this.authorize(a, caller.token).allowed);
    if (refusal) throw new KubeError(refusal.status, refusal.reason, refusal.message, refusal.details);
  }

  /** The ClusterRole aggregation controller: aggregated roles take the rules of the roles their selectors match. */
  private aggregateClusterRoles(): void {
    const t = this.type('rbac.authorization.k8s.io', 'clusterroles');
    const roles = this.store.list(t).map((r) => structuredClone(r));
    for (const name of aggregateRules(roles)) this.store.put(t, roles.find((r) => meta(r).name === name) as Json);
  }

  /** Store an update of an existing object (generation, finalizer-driven removal, managed fields). */
  updateObject(t: ResourceType, current: Json, next: Json, manager: string | undefined, opts: { dryRun?: boolean; subresource?: string; managers?: ManagerEntry[]; caller?: Caller } = {}): Json {
    const cm = meta(current);
    const nm = meta(next);
    next.apiVersion = apiVersionOf(t);
    next.kind = t.kind;
    for (const k of ['uid', 'creationTimestamp', 'name', 'namespace', 'deletionTimestamp', 'generation']) {
      if (cm[k] === undefined) delete nm[k];
      else nm[k] = cm[k];
    }
    if (opts.subresource === 'status') {
      const s = next.status;
      next = { ...structuredClone(current), status: s };
    } else if (t.subresources?.includes('status') && manager !== undefined) {
      next.status = structuredClone(current.status);
      if (next.status === undefined) delete next.status;
    }
    const specOf = (o: Json): string => JSON.stringify({ ...o, metadata: undefined, status: undefined });
    if (specOf(current) !== specOf(next) && opts.subresource !== 'status') nm.generation = Number(cm.generation ?? 1) + 1;
    this.defaults(t, next);
    if (manager !== undefined) this.validate(t, next, current);
    if (opts.caller) this.confirmNoEscalation(t, next, opts.caller);
    if (opts.dryRun) return next;
    if (manager !== undefined) {
      const managers = opts.managers ?? recordUpdate(current, next, manager, this.managers.get(String(cm.uid)) ?? [], this.schemaOf(t), apiVersionOf(t));
      this.setManagers(next, managers);
    } else nm.managedFields = cm.managedFields;
    if (nm.deletionTimestamp && !((nm.finalizers as string[] | undefined) ?? []).length) {
      this.store.put(t, next);
      return this.purge(t, next);
    }
    const stored = this.store.put(t, next);
    if (t.resource === 'customresourcedefinitions') this.syncCrds();
    if (t.resource === 'clusterroles' && t.group === 'rbac.authorization.k8s.io') this.aggregateClusterRoles();
    this.controllers.kick();
    return stored;
  }

  private setManagers(obj: Json, managers: ManagerEntry[]): void {
    const m = meta(obj);
    this.managers.set(String(m.uid), managers);
    m.managedFields = managers.map((e) => ({ manager: e.manager, operation: e.operation, apiVersion: e.apiVersion, time: e.time.replace(/\.\d+Z$/, 'Z'), fieldsType: 'FieldsV1', fieldsV1: fieldsV1([...e.paths.values()]) }));
  }

  /** Delete: finalizers make it a mark (deletionTimestamp); dependents follow by propagation policy. */
  deleteObject(t: ResourceType, namespace: string, name: string, policy: string = 'Background'): Json {
    const cur = this.store.get(t, namespace, name);
    if (!cur) throw notFound(t, name);
    const m = meta(cur);
    if (policy === 'Orphan') {
      for (const d of this.dependentsOf(String(m.uid))) {
        const dm = meta(d.object);
        dm.ownerReferences = ((dm.ownerReferences as Json[]) ?? []).filter((r) => r.uid !== m.uid);
        this.store.put(this.type(d.group, d.resource), d.object);
      }
    }
    const finalizers = (m.finalizers as string[] | undefined) ?? [];
    if (t.resource === 'namespaces') {
      if (!m.deletionTimestamp) {
        m.deletionTimestamp = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
        cur.status = { phase: 'Terminating' };
        const stored = this.store.put(t, cur);
        this.controllers.kick();
        return stored;
      }
      return cur;
    }
    if (finalizers.length) {
      if (!m.deletionTimestamp) {
        m.deletionTimestamp = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
        m.deletionGracePeriodSeconds = 0;
        return this.store.put(t, cur);
      }
      return cur;
    }
    return this.purge(t, cur);
  }

  /** Remove from storage now; dependents are collected by the garbage collector. */
  purge(t: ResourceType, obj: Json): Json {
    const m = meta(obj);
    const gone = this.store.remove(t, String(m.namespace ?? ''), String(m.name)) ?? obj;
    this.managers.delete(String(m.uid));
    if (t.resource === 'pods') this.logs.delete(`${String(m.namespace)}/${String(m.name)}`);
    if (t.resource === 'customresourcedefinitions') {
      const spec = (obj.spec ?? {}) as Json;
      for (const o of this.store.all().filter((x) => x.group === spec.group && x.resource === ((spec.names ?? {}) as Json).plural)) {
        this.store.remove({ group: o.group, resource: o.resource }, String(meta(o.object).namespace ?? ''), String(meta(o.object).name));
      }
      this.syncCrds();
    }
    if (t.resource === 'clusterroles' && t.group === 'rbac.authorization.k8s.io') this.aggregateClusterRoles();
    this.controllers.kick();
    return gone;
  }

  dependentsOf(uid: string): { group: string; resource: string; object: Json }[] {
    return this.store.all().filter((x) => ((meta(x.object).ownerReferences as Json[] | undefined) ?? []).some((r) => r.uid === uid)).map((x) => ({ ...x, object: structuredClone(x.object) }));
  }

  /** Server-side defaults the controllers and kubectl rely on. */
  private defaults(t: ResourceType, obj: Json): void {
    const spec = (obj.spec ?? {}) as Json;
    const podSpec = (ps: Json | undefined): void => {
      if (!ps) return;
      ps.restartPolicy ??= 'Always';
      ps.terminationGracePeriodSeconds ??= 30;
      ps.dnsPolicy ??= 'ClusterFirst';
      ps.schedulerName ??= 'default-scheduler';
      for (const c of [...((ps.containers as Json[]) ?? []), ...((ps.initContainers as Json[]) ?? [])]) {
        const r = (c.resources ?? {}) as Json;
        const limits = r.limits as Json | undefined;
        if (limits) {
          const requests = (r.requests ?? {}) as Json;
          for (const [k, v] of Object.entries(limits)) requests[k] ??= v;
          r.requests = requests;
          c.resources = r;
        }
      }
    };
    switch (t.kind) {
      case 'Namespace':
        obj.spec = { finalizers: ['kubernetes'] };
        if (!meta(obj).deletionTimestamp) obj.status = { phase: 'Active' };
        (meta(obj).labels ??= {} as Json) as Json;
        ((meta(obj).labels as Json)['kubernetes.io/metadata.name'] = meta(obj).name);
        break;
      case 'Pod':
        podSpec(spec);
        obj.status ??= { phase: 'Pending', qosClass: 'BestEffort' };
        break;
      case 'Deployment':
        spec.replicas ??= 1;
        spec.revisionHistoryLimit ??= 10;
        spec.progressDeadlineSeconds ??= 600;
        spec.strategy ??= { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } };
        podSpec((spec.template as Json | undefined)?.spec as Json | undefined);
        break;
      case 'ReplicaSet':
      case 'StatefulSet':
        spec.replicas ??= 1;
        if (t.kind === 'StatefulSet') {
          spec.podManagementPolicy ??= 'OrderedReady';
          spec.updateStrategy ??= { type: 'RollingUpdate', rollingUpdate: { partition: 0 } };
          spec.revisionHistoryLimit ??= 10;
        }
        podSpec((spec.template as Json | undefined)?.spec as Json | undefined);
        break;
      case 'DaemonSet':
        spec.updateStrategy ??= { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } };
        spec.revisionHistoryLimit ??= 10;
        podSpec((spec.template as Json | undefined)?.spec as Json | undefined);
        break;
      case 'Job': {
        spec.parallelism ??= 1;
        spec.completions ??= 1;
        spec.backoffLimit ??= 6;
        spec.completionMode ??= 'NonIndexed';
        spec.suspend ??= false;
        spec.podReplacementPolicy ??= 'TerminatingOrFailed';
        const uid = String(meta(obj).uid);
        const jobLabels = { 'batch.kubernetes.io/controller-uid': uid, 'batch.kubernetes.io/job-name': String(meta(obj).name), 'controller-uid': uid, 'job-name': String(meta(obj).name) };
        if (!spec.selector && spec.manualSelector !== true) spec.selector = { matchLabels: { 'batch.kubernetes.io/controller-uid': uid } };
        const tpl = (spec.template ??= {}) as Json;
        const tm = (tpl.metadata ??= {}) as Json;
        tm.labels = { ...((tm.labels as Json) ?? {}), ...jobLabels };
        podSpec(tpl.spec as Json | undefined);
        break;
      }
      case 'Service': {
        spec.type ??= 'ClusterIP';
        if (spec.type !== 'ExternalName' && !spec.clusterIP) {
          const h = createHash('sha256').update(`${String(meta(obj).namespace)}/${String(meta(obj).name)}`).digest();
          spec.clusterIP = `10.96.${(h[0] ?? 0) % 255}.${((h[1] ?? 0) % 253) + 2}`;
          spec.clusterIPs = [spec.clusterIP];
        }
        spec.sessionAffinity ??= 'None';
        for (const p of (spec.ports as Json[] | undefined) ?? []) {
          p.protocol ??= 'TCP';
          p.targetPort ??= p.port;
        }
        break;
      }
      case 'Secret':
        obj.type ??= 'Opaque';
        if (isObj(obj.stringData)) {
          obj.data = { ...((obj.data as Json) ?? {}) };
          for (const [k, v] of Object.entries(obj.stringData)) (obj.data as Json)[k] = Buffer.from(String(v)).toString('base64');
          delete obj.stringData;
        }
        break;
      case 'PersistentVolumeClaim':
        if (spec.storageClassName === undefined) {
          const def = this.store.list(this.type('storage.k8s.io', 'storageclasses')).find((c) => ((meta(c).annotations ?? {}) as Json)['storageclass.kubernetes.io/is-default-class'] === 'true');
          if (def) spec.storageClassName = meta(def).name;
        }
        obj.status ??= { phase: 'Bound', accessModes: spec.accessModes, capacity: ((spec.resources as Json | undefined)?.requests as Json | undefined) ?? {} };
        break;
    }
    if (obj.spec === undefined && Object.keys(spec).length) obj.spec = spec;
  }

  /** Schema problems (required, enums) and the API server's own rules (validation.ts); on update, immutable fields. */
  private validate(t: ResourceType, obj: Json, old?: Json): void {
    const problems: Cause[] = t.crd ? [] : validateKind(t.group, t.version, t.kind, obj).filter((p) => p.kind === 'required' || p.kind === 'enum').map((p) => ({ reason: p.kind === 'required' ? 'FieldValueRequired' : 'FieldValueNotSupported', message: p.detail, field: p.field }));
    for (const c of [...validateObject(t, obj), ...(t.crd ? validateCustom(t.crd.schema, obj) : []), ...(old ? validateUpdate(t, obj, old) : [])]) {
      if (!problems.some((p) => p.field === c.field && p.message === c.message)) problems.push(c);
    }
    if (problems.length) {
      const name = String(meta(obj).name ?? '');
      const causes = problems.map((p) => ({ reason: p.reason, message: p.message, field: p.field }));
      const msg = problems.length === 1 ? `${problems[0]?.field}: ${problems[0]?.message}` : `[${problems.map((p) => `${p.field}: ${p.message}`).join(', ')}]`;
      throw new KubeError(422, 'Invalid', `${t.kind}${t.group ? `.${t.group}` : ''} "${name}" is invalid: ${msg}`, { name, ...(t.group ? { group: t.group } : {}), kind: t.kind, causes });
    }
  }

  /** Strict decoding: unknown fields refused (Strict) or warned about (Warn, the default). */
  private decode(t: ResourceType, body: unknown, fieldValidation: string | null, warnings: string[]): Json {
    if (!isObj(body)) throw new KubeError(400, 'BadRequest', `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf`);
    const schema = this.schemaOf(t);
    const mode = (fieldValidation ?? 'Warn').toLowerCase();
    if (schema) {
      const bad = badQuantities(schema, body);
      if (bad.length) throw new KubeError(400, 'BadRequest', `${t.kind} in version "${t.version}" cannot be handled as a ${t.kind}: quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'`);
    }
    // Unknown fields are refused (Strict) or dropped, never stored: with a warning (Warn, the default) or silently (Ignore).
    const unknown = schema ? unknownFields(schema, body) : t.crd ? customUnknownFields(t.crd.schema, body) : [];
    if (unknown.length) {
      if (mode === 'strict') {
        const list = unknown.map((u) => `unknown field "${u}"`).join(', ');
        throw new KubeError(400, 'BadRequest', `${t.kind} in version "${t.version}" cannot be handled as a ${t.kind}: strict decoding error: ${list}`);
      }
      if (mode !== 'ignore') for (const u of unknown) warnings.push(`unknown field "${u}"`);
      pruneFields(body, unknown);
    }
    return body;
  }

  private checkQuota(pod: Json): void {
    const ns = String(meta(pod).namespace);
    const quotas = this.store.list(this.type('', 'resourcequotas'), ns);
    if (!quotas.length) return;
    const req = podResources(pod);
    const pods = this.store.list(this.type('', 'pods'), ns).filter((p) => !['Succeeded', 'Failed'].includes(String((p.status as Json | undefined)?.phase)));
    const used: Record<string, number> = { pods: pods.length };
    for (const p of pods) for (const [k, v] of Object.entries(podResources(p))) used[k] = (used[k] ?? 0) + v;
    req.pods = 1;
    for (const q of quotas) {
      const hard = (((q.spec as Json | undefined)?.hard ?? {}) as Json);
      const over: string[] = [];
      for (const [k, limit] of Object.entries(hard)) {
        const key = k === 'cpu' || k === 'memory' ? `requests.${k}` : k;
        const want = req[key];
        if (!want) continue;
        if ((used[key] ?? 0) + want > parseQuantity(limit)) over.push(k);
      }
      if (over.length) {
        const fmt = (vals: (k: string) => number): string => over.map((k) => `${k}=${formatQuantity(vals(k), k)}`).join(',');
        const keyOf = (k: string): string => (k === 'cpu' || k === 'memory' ? `requests.${k}` : k);
        throw new KubeError(403, 'Forbidden',
          `pods "${String(meta(pod).name)}" is forbidden: exceeded quota: ${String(meta(q).name)}, requested: ${fmt((k) => req[keyOf(k)] ?? 0)}, used: ${fmt((k) => used[keyOf(k)] ?? 0)}, limited: ${fmt((k) => parseQuantity(hard[k]))}`,
          { name: String(meta(pod).name), kind: 'pods' });
      }
    }
  }

  // ---- HTTP ------------------------------------------------------------------------------------

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const u = new URL(req.url ?? '/', 'https://127.0.0.1');
    const method = (req.method ?? 'GET').toUpperCase();
    try {
      const body = await new Promise<Buffer>((resolve, reject) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => resolve(Buffer.concat(chunks)));
        req.on('error', reject);
      });
      const path = u.pathname.replace(/\/+$/, '') || '/';
      const open = ['/version', '/healthz', '/readyz', '/livez'].includes(path);
      const token = this.options.tokens.verify(bearerOf(req.headers.authorization));
      let user = token ? this.authenticate(token) : undefined;
      if (!open && !user) throw new KubeError(401, 'Unauthorized', 'Unauthorized');
      if (user) {
        user = this.impersonate(user, req, token);
        this.check(requestAttributes(user, method, path, u.searchParams), token);
      }
      const call = { api: 'kubernetes', method: this.callName(method, path, u.searchParams), httpMethod: method, path };
      const delay = this.options.faults.latencyFor(call);
      if (delay > 0) await sleep(delay);
      const injected = this.options.faults.errorFor(call);
      if (injected) {
        const reasons: Record<number, string> = { 429: 'TooManyRequests', 500: 'InternalError', 503: 'ServiceUnavailable', 504: 'Timeout', 403: 'Forbidden' };
        throw new KubeError(injected.status, reasons[injected.status] ?? 'InternalError',
          injected.message ?? (injected.status === 429 ? 'the server has received too many requests and has asked us to try again later' : 'an error on the server ("Internal Server Error") has prevented the request from succeeding'),
          undefined, injected.status === 429 ? { 'retry-after': '1' } : {});
      }
      await this.route(method, path, u.searchParams, req, res, body, user, token);
    } catch (err) {
      const e = err instanceof KubeError ? err : err instanceof PatchError ? new KubeError(422, 'Invalid', err.message) : new KubeError(500, 'InternalError', `Internal error occurred: ${(err as Error).message}`);
      if (!(err instanceof KubeError) && !(err instanceof PatchError)) console.error('[sandbox kubernetes] handler crashed:', err);
      if (!res.headersSent) this.send(res, e.code, e.toStatus(), e.headers);
      else res.end();
    }
  }

  // ---- authentication and authorization (auth.ts) ---------------------------------------------------

  /**
   * Who a token stands for here: a service account token this cluster issued (while its ServiceAccount
   * exists); on a machine (minikube) cluster its admin credentials (`minikube-user`, group
   * `system:masters`); on GKE a Google identity (its email). Anything else is not authenticated.
   */
  authenticate(token: TokenInfo): UserInfo | undefined {
    if (token.kind === 'kubernetes-sa') {
      const c = token.claims as { cluster?: string; namespace?: string; name?: string; uid?: string };
      if (c.cluster !== this.name || !c.namespace || !c.name) return undefined;
      const sa = this.store.get(this.type('', 'serviceaccounts'), c.namespace, c.name);
      if (!sa || meta(sa).uid !== c.uid) return undefined;
      return serviceAccountUser(c.namespace, c.name, c.uid);
    }
    if (this.flavor === 'minikube') return token.kind === 'kubernetes' ? { username: 'minikube-user', groups: ['system:masters', 'system:authenticated'] } : undefined;
    return { username: token.subject, groups: ['system:authenticated'] };
  }

  /** `Impersonate-User` / `Impersonate-Group` (kubectl --as, --as-group): allowed by the `impersonate` verb. */
  private impersonate(user: UserInfo, req: IncomingMessage, token?: TokenInfo): UserInfo {
    const h = req.headersDistinct;
    const asUser = h['impersonate-user']?.[0];
    const asGroups = h['impersonate-group'] ?? [];
    if (asUser === undefined) {
      if (asGroups.length) throw new KubeError(500, 'InternalError', `Internal error occurred: requested [${asGroups.map((g) => `{Group  ${g}  authentication.k8s.io/v1  }`).join(' ')}] without impersonating a user`);
      return user;
    }
    const base = { user, verb: 'impersonate', resourceRequest: true, path: '', apiVersion: '', apiGroup: '', subresource: '' };
    const sa = parseServiceAccountUser(asUser);
    this.check(sa ? { ...base, resource: 'serviceaccounts', namespace: sa.namespace, name: sa.name } : { ...base, resource: 'users', namespace: '', name: asUser }, token);
    for (const g of asGroups) this.check({ ...base, resource: 'groups', namespace: '', name: g }, token);
    let groups = asGroups.length ? [...asGroups] : sa ? serviceAccountUser(sa.namespace, sa.name).groups.filter((g) => g !== 'system:authenticated') : [];
    if (asUser !== 'system:anonymous' && !groups.includes('system:authenticated') && !groups.includes('system:unauthenticated')) groups = [...groups, 'system:authenticated'];
    return { username: asUser, groups };
  }

  /** The authorizer chain's verdict (the cluster's external authorizer, then RBAC). */
  authorize(a: RequestAttributes, token?: TokenInfo): { allowed: boolean; reason: string } {
    return authorize(this.store, a, this.options.authorize, token);
  }

  private check(a: RequestAttributes, token?: TokenInfo): void {
    const d = this.authorize(a, token);
    if (d.allowed) return;
    const f = forbiddenStatus(a, d.reason);
    throw new KubeError(403, 'Forbidden', f.message, f.details);
  }

  /** SelfSubjectAccessReview, SelfSubjectRulesReview, SelfSubjectReview, TokenRequest. */
  private reviews(res: ServerResponse, t: ResourceType, body: Json, user: UserInfo, token: TokenInfo | undefined, namespace: string, name: string | undefined): void {
    const spec = (body.spec ?? {}) as Json;
    const out = (status: Json, code = 201): void => this.send(res, code, { kind: t.kind, apiVersion: apiVersionOf(t), metadata: { creationTimestamp: null }, spec, status });
    switch (t.resource) {
      case 'subjectaccessreviews':
      case 'localsubjectaccessreviews':
      case 'selfsubjectaccessreviews': {
        const ra = spec.resourceAttributes as Json | undefined;
        if (t.resource !== 'selfsubjectaccessreviews') {
          // SubjectAccessReview asks about another user (spec.user, spec.groups); the Local one within its namespace.
          if (!spec.user && !((spec.groups as unknown[] | undefined) ?? []).length)
            throw new KubeError(422, 'Invalid', `${t.kind}.authorization.k8s.io "" is invalid: spec.user: Invalid value: "": at least one of user or group must be specified`, { group: 'authorization.k8s.io', kind: t.kind, causes: [{ reason: 'FieldValueInvalid', message: 'Invalid value: "": at least one of user or group must be specified', field: 'spec.user' }] });
          if (t.resource === 'localsubjectaccessreviews' && ra && ra.namespace !== undefined && ra.namespace !== namespace)
            throw new KubeError(400, 'BadRequest', `spec.resourceAttributes.namespace must match namespace: ${namespace}`);
          if (t.resource === 'localsubjectaccessreviews' && ra) ra.namespace = namespace;
          user = { username: String(spec.user ?? ''), groups: ((spec.groups as string[] | undefined) ?? []).map(String), ...(spec.uid ? { uid: String(spec.uid) } : {}) };
        }
        const nra = spec.nonResourceAttributes as Json | undefined;
        if ((ra === undefined) === (nra === undefined))
          throw new KubeError(422, 'Invalid', `SelfSubjectAccessReview.authorization.k8s.io "" is invalid: spec.resourceAttributes: Invalid value: "null": exactly one of nonResourceAttributes or resourceAttributes must be specified`, { group: 'authorization.k8s.io', kind: 'SelfSubjectAccessReview', causes: [{ reason: 'FieldValueInvalid', message: 'Invalid value: "null": exactly one of nonResourceAttributes or resourceAttributes must be specified', field: 'spec.resourceAttributes' }] });
        const a: RequestAttributes = ra
          ? { user, verb: String(ra.verb ?? ''), resourceRequest: true, path: '', namespace: String(ra.namespace ?? ''), apiGroup: String(ra.group ?? ''), apiVersion: String(ra.version ?? ''), resource: String(ra.resource ?? ''), subresource: String(ra.subresource ?? ''), name: String(ra.name ?? '') }
          : { user, verb: String(nra?.verb ?? ''), resourceRequest: false, path: String(nra?.path ?? ''), namespace: '', apiGroup: '', apiVersion: '', resource: '', subresource: '', name: '' };
        const d = this.authorize(a, token);
        return out({ allowed: d.allowed, ...(d.reason ? { reason: d.reason } : {}) });
      }
      case 'selfsubjectrulesreviews': {
        if (!spec.namespace) throw new KubeError(422, 'Invalid', `SelfSubjectRulesReview.authorization.k8s.io "" is invalid: spec.namespace: Required value`, { group: 'authorization.k8s.io', kind: 'SelfSubjectRulesReview', causes: [{ reason: 'FieldValueRequired', message: 'Required value', field: 'spec.namespace' }] });
        const r = rbacRulesFor(this.store, user, String(spec.namespace));
        const incomplete = this.options.authorize !== undefined || r.errors.length > 0;
        return out({ resourceRules: r.resourceRules, nonResourceRules: r.nonResourceRules, incomplete, ...(r.errors.length ? { evaluationError: r.errors.join(', ') } : {}) });
      }
      case 'selfsubjectreviews':
        return this.send(res, 201, { kind: t.kind, apiVersion: apiVersionOf(t), metadata: { creationTimestamp: null }, status: { userInfo: { username: user.username, ...(user.uid ? { uid: user.uid } : {}), groups: user.groups, ...(user.extra ? { extra: user.extra } : {}) } } });
      case 'serviceaccounts': {
        const sa = this.store.get(t, namespace, String(name));
        if (!sa) throw notFound(t, String(name));
        const requested = spec.expirationSeconds === undefined ? 3600 : Number(spec.expirationSeconds);
        if (!Number.isInteger(requested) || requested < 600)
          throw new KubeError(422, 'Invalid', `TokenRequest.authentication.k8s.io "${String(name)}" is invalid: spec.expirationSeconds: Invalid value: ${String(spec.expirationSeconds)}: may not specify a duration less than 10 minutes`, { name: String(name), group: 'authentication.k8s.io', kind: 'TokenRequest', causes: [{ reason: 'FieldValueInvalid', message: `Invalid value: ${String(spec.expirationSeconds)}: may not specify a duration less than 10 minutes`, field: 'spec.expirationSeconds' }] });
        const ttl = Math.min(requested, 48 * 3600);
        const audiences = Array.isArray(spec.audiences) && spec.audiences.length ? (spec.audiences as string[]) : ['https://kubernetes.default.svc.cluster.local'];
        const uid = String(meta(sa).uid);
        const now = Math.floor(Date.now() / 1000);
        const b64 = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url');
        const jwt = `${b64({ alg: 'RS256', kid: 'sandbox' })}.${b64({ aud: audiences, exp: now + ttl, iat: now, iss: 'https://kubernetes.default.svc.cluster.local', jti: randomUUID(), 'kubernetes.io': { namespace, serviceaccount: { name, uid } }, nbf: now, sub: `system:serviceaccount:${namespace}:${String(name)}` })}.${randomUUID().replace(/-/g, '')}`;
        const issued = this.options.tokens.issue({ token: jwt, subject: `system:serviceaccount:${namespace}:${String(name)}`, kind: 'kubernetes-sa', ttlSeconds: ttl, scopes: [], claims: { cluster: this.name, namespace, name, uid } });
        return this.send(res, 201, {
          kind: 'TokenRequest', apiVersion: 'authentication.k8s.io/v1', metadata: { name, namespace, creationTimestamp: null },
          spec: { audiences, expirationSeconds: ttl, boundObjectRef: spec.boundObjectRef ?? null },
          status: { token: issued.token, expirationTimestamp: new Date(issued.expiresAt).toISOString().replace(/\.\d+Z$/, 'Z') },
        });
      }
    }
    throw new KubeError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
  }

  private callName(method: string, path: string, q: URLSearchParams): string {
    const t = this.parseTarget(path);
    if (!t) return path;
    const verb = method === 'GET' ? (q.get('watch') === 'true' || q.get('watch') === '1' ? 'watch' : t.name ? 'get' : 'list') : method === 'POST' ? 'create' : method === 'PUT' ? 'update' : method === 'PATCH' ? 'patch' : 'delete';
    return `${t.type.resource}${t.sub ? `/${t.sub}` : ''}.${verb}`;
  }

  private send(res: ServerResponse, status: number, json: unknown, headers: Record<string, string> = {}): void {
    const payload = JSON.stringify(json);
    res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-cache, private', ...headers });
    res.end(payload);
  }

  private parseTarget(path: string): Target | undefined {
    let m = /^\/api\/v1\/(.+)$/.exec(path);
    let group = '';
    let version = 'v1';
    let rest: string;
    if (m) rest = m[1] as string;
    else {
      m = /^\/apis\/([^/]+)\/([^/]+)\/(.+)$/.exec(path);
      if (!m) return undefined;
      group = m[1] as string;
      version = m[2] as string;
      rest = m[3] as string;
    }
    const segs = rest.split('/').map(decodeURIComponent);
    const find = (r: string | undefined): ResourceType | undefined => this.types.find((t) => t.group === group && t.version === version && t.resource === r);
    let namespace = '';
    let tail = segs;
    if (segs[0] === 'namespaces' && segs.length >= 3 && find(segs[2]) && find(segs[2])?.namespaced) {
      namespace = segs[1] as string;
      tail = segs.slice(2);
    }
    const type = find(tail[0]);
    if (!type) return undefined;
    return { type, namespace, name: tail[1], sub: tail[2], rest: tail.slice(3).join('/') };
  }

  private async route(method: string, path: string, q: URLSearchParams, req: IncomingMessage, res: ServerResponse, body: Buffer, user?: UserInfo, token?: TokenInfo): Promise<void> {
    const accept = String(req.headers.accept ?? '');
    if (method === 'GET') {
      if (path === '/version') {
        const v = { ...KUBE_VERSION, ...this.options.version };
        return this.send(res, 200, { major: v.major, minor: v.minor, gitVersion: v.gitVersion, gitCommit: 'sandbox', gitTreeState: 'clean', buildDate: '2025-04-22T00:00:00Z', goVersion: v.goVersion ?? 'go1.23.6', compiler: 'gc', platform: v.platform });
      }
      if (path === '/healthz' || path === '/readyz' || path === '/livez') {
        res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
        return void res.end('ok');
      }
      if (path === '/api' || path === '/apis') return this.discovery(res, path, accept);
      if (path === '/openapi/v3') return this.send(res, 200, { paths: Object.fromEntries(this.groupVersions().map((gv) => [gv.path, { serverRelativeURL: `/openapi/v3/${gv.path}?hash=${this.docHash(gv.path)}` }])) });
      const oa = /^\/openapi\/v3\/(.+)$/.exec(path);
      if (oa) return this.send(res, 200, this.openApiDoc(oa[1] as string), { etag: `"${this.docHash(oa[1] as string)}"` });
      if (path === '/openapi/v2') throw new KubeError(404, 'NotFound', 'the server could not find the requested resource');
      const gv = this.groupVersions().find((x) => `/${x.path}` === path);
      if (gv) return this.send(res, 200, this.resourceList(gv.group, gv.version));
      const g = /^\/apis\/([^/]+)$/.exec(path);
      if (g) {
        const grp = this.apiGroups().find((x) => x.name === g[1]);
        if (grp) return this.send(res, 200, { kind: 'APIGroup', apiVersion: 'v1', ...grp });
      }
    }
    const target = this.parseTarget(path);
    if (!target) throw new KubeError(404, 'NotFound', 'the server could not find the requested resource');
    const { type: t, namespace, name, sub } = target;
    const manager = q.get('fieldManager') ?? String(req.headers['user-agent'] ?? 'unknown').split('/')[0] ?? 'unknown';
    const dryRun = q.get('dryRun') === 'All';
    const warnings: string[] = [];
    const warnHeader = (): Record<string, string> => (warnings.length ? { warning: warnings.map((w) => `299 - ${JSON.stringify(w)}`).join(', ') } : {});
    if (sub === 'log' && t.resource === 'pods' && method === 'GET') return this.podLog(res, namespace, name as string, q);
    if (sub === 'proxy' && t.resource === 'services') return this.serviceProxy(res, namespace, name as string, target.rest, method, q, body, String(req.headers['content-type'] ?? ''));
    if ((t.verbs?.length === 1 && t.verbs[0] === 'create') || (sub === 'token' && t.resource === 'serviceaccounts')) {
      if (method !== 'POST' || !user) throw new KubeError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
      const input = this.parseBody(req, body);
      return this.reviews(res, t, isObj(input) ? input : {}, user, token, namespace, name);
    }
    if (sub === 'scale') return this.scale(res, method, t, namespace, name as string, body, manager, String(req.headers['content-type'] ?? ''));
    if (sub !== undefined && sub !== 'status') throw new KubeError(404, 'NotFound', 'the server could not find the requested resource');
    if (!name) {
      if (method === 'GET' || method === 'DELETE') this.checkFieldSelector(t, q);
      if (method === 'GET') {
        if (q.get('watch') === 'true' || q.get('watch') === '1') return this.watch(res, t, namespace, q);
        return this.send(res, 200, this.listObjects(t, namespace, q, accept));
      }
      if (method === 'POST') {
        const input = this.decode(t, this.parseBody(req, body), q.get('fieldValidation'), warnings);
        if (t.namespaced) {
          const im = meta(input);
          if (im.namespace && im.namespace !== namespace)
            throw new KubeError(400, 'BadRequest', `the namespace of the provided object does not match the namespace sent on the request`);
          im.namespace = namespace;
        }
        const created = this.createObject(t, input, manager, { dryRun, ...(user ? { caller: { user, token } } : {}) });
        return this.send(res, 201, created, warnHeader());
      }
      if (method === 'DELETE') {
        const items = this.filter(this.store.list(t, namespace), q);
        for (const o of items) this.deleteObject(t, String(meta(o).namespace ?? ''), String(meta(o).name));
        return this.send(res, 200, { kind: `${t.kind}List`, apiVersion: apiVersionOf(t), metadata: { resourceVersion: String(this.store.resourceVersion) }, items });
      }
      throw new KubeError(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource`);
    }
    const current = this.store.get(t, namespace, name);
    if (method === 'GET') {
      if (!current) throw notFound(t, name);
      return this.send(res, 200, this.asTable(t, [current], accept, { resourceVersion: String(meta(current).resourceVersion ?? '') }, q) ?? current);
    }
    if (method === 'PUT') {
      if (!current) throw notFound(t, name);
      const input = this.decode(t, this.parseBody(req, body), q.get('fieldValidation'), warnings);
      const rv = meta(input).resourceVersion;
      if (rv !== undefined && rv !== '' && rv !== meta(current).resourceVersion) throw this.conflict(t, name);
      return this.send(res, 200, this.updateObject(t, current, input, manager, { dryRun, subresource: sub, ...(user ? { caller: { user, token } } : {}) }), warnHeader());
    }
    if (method === 'PATCH') {
      const ctype = String(req.headers['content-type'] ?? '').split(';')[0]?.trim();
      if (ctype === 'application/apply-patch+yaml') return this.apply(res, t, namespace, name, current, body, q, manager, warnings, sub, user ? { user, token } : undefined);
      if (!current) throw notFound(t, name);
      const patch = this.parseBody(req, body);
      let next: unknown;
      if (ctype === 'application/json-patch+json') next = jsonPatch(current, patch);
      else if (ctype === 'application/merge-patch+json') next = mergePatch(current, patch);
      else if (ctype === 'application/strategic-merge-patch+json') {
        if (t.crd) throw new KubeError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml`);
        next = strategicMerge(current, patch, this.schemaOf(t));
      } else throw new KubeError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml`);
      const decoded = this.decode(t, next, q.get('fieldValidation'), warnings);
      const rv = isObj(patch) && isObj(patch.metadata) ? patch.metadata.resourceVersion : undefined;
      if (rv !== undefined && rv !== meta(current).resourceVersion) throw this.conflict(t, name);
      return this.send(res, 200, this.updateObject(t, current, decoded, manager, { dryRun, subresource: sub, ...(user ? { caller: { user, token } } : {}) }), warnHeader());
    }
    if (method === 'DELETE') {
      if (!current) throw notFound(t, name);
      let policy = q.get('propagationPolicy') ?? undefined;
      if (!policy && body.length) {
        try {
          policy = (JSON.parse(body.toString('utf8')) as { propagationPolicy?: string }).propagationPolicy;
        } catch {
          /* ignore */
        }
      }
      if (dryRun) return this.send(res, 200, current);
      const out = this.deleteObject(t, namespace, name, policy ?? 'Background');
      return this.send(res, 200, out);
    }
    throw new KubeError(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource`);
  }

  private conflict(t: ResourceType, name: string): KubeError {
    return new KubeError(409, 'Conflict', `Operation cannot be fulfilled on ${qualified(t)} "${name}": the object has been modified; please apply your changes to the latest version and try again`, { name, ...(t.group ? { group: t.group } : {}), kind: t.resource });
  }

  private parseBody(req: IncomingMessage, body: Buffer): unknown {
    const ctype = String(req.headers['content-type'] ?? '');
    if (/^application\/vnd\.kubernetes\.protobuf\s*(;|$)/.test(ctype) && body.length) {
      try {
        return decodeKubeProtobuf(body);
      } catch (err) {
        if (err instanceof ProtobufBodyError) throw new KubeError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - ${err.message}`);
        throw err;
      }
    }
    const text = body.toString('utf8');
    if (!text.trim()) return undefined;
    if (/protobuf|cbor/.test(ctype))
      throw new KubeError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf`);
    try {
      return ctype.includes('yaml') ? (parseYaml(text) as unknown) : (JSON.parse(text) as unknown);
    } catch (err) {
      throw new KubeError(400, 'BadRequest', `error decoding body: ${(err as Error).message}`);
    }
  }

  private apply(res: ServerResponse, t: ResourceType, namespace: string, name: string, current: Json | undefined, body: Buffer, q: URLSearchParams, manager: string, warnings: string[], sub?: string, caller?: Caller): void {
    if (!q.get('fieldManager')) throw new KubeError(400, 'BadRequest', 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch');
    let applied: unknown;
    try {
      applied = parseYaml(body.toString('utf8')) as unknown;
    } catch (err) {
      throw new KubeError(400, 'BadRequest', `error decoding YAML: ${(err as Error).message}`);
    }
    if (!isObj(applied)) throw new KubeError(400, 'BadRequest', 'apply patch must be an object');
    const schema = this.schemaOf(t);
    if (schema && (q.get('fieldValidation') ?? 'Strict').toLowerCase() === 'strict') {
      const unknown = unknownFields(schema, applied);
      if (unknown.length)
        throw new KubeError(400, 'BadRequest', `failed to create typed patch object (${namespace ? `${namespace}/` : ''}${name}; ${apiVersionOf(t)}, Kind=${t.kind}): ${unknown.map((u) => `.${u}: field not declared in schema`).join(', ')}`);
    }
    const am = meta(applied);
    am.name ??= name;
    if (t.namespaced) am.namespace ??= namespace;
    const force = q.get('force') === 'true';
    const managers = current ? (this.managers.get(String(meta(current).uid)) ?? []) : [];
    const result = serverSideApply(current, applied, manager, managers, schema, { force, apiVersion: apiVersionOf(t) });
    if ('conflicts' in result) {
      const c = result.conflicts;
      const who = (x: (typeof c)[number]): string => `"${x.manager}"${x.operation === 'Update' ? ` using ${x.apiVersion}` : ''}`;
      const groups = new Map<string, string[]>();
      for (const x of c) groups.set(who(x), [...(groups.get(who(x)) ?? []), x.field]);
      const msg = c.length === 1
        ? `Apply failed with 1 conflict: conflict with ${who(c[0] as (typeof c)[number])}: ${c[0]?.field}`
        : `Apply failed with ${c.length} conflicts: ${[...groups].map(([w, fs]) => `conflicts with ${w}:\n${fs.map((f) => `- ${f}`).join('\n')}`).join('\n')}`;
      throw new KubeError(409, 'Conflict', msg, { causes: c.map((x) => ({ reason: 'FieldManagerConflict', message: `conflict with ${who(x)}`, field: x.field })) });
    }
    const dryRun = q.get('dryRun') === 'All';
    if (!current) {
      const obj = result.object;
      const created = this.createObject(t, obj, manager, { dryRun, ...(caller ? { caller } : {}) });
      if (!dryRun) {
        const stored = this.store.get(t, namespace, name) as Json;
        this.setManagers(stored, result.managers.map((m) => (m.manager === manager ? { ...m, operation: 'Apply' as const } : m)));
        return this.send(res, 201, this.store.put(t, stored));
      }
      return this.send(res, 201, created);
    }
    return this.send(res, 200, this.updateObject(t, current, result.object, manager, { dryRun, subresource: sub, managers: result.managers, ...(caller ? { caller } : {}) }), warnings.length ? { warning: warnings.join(', ') } : {});
  }

  private scale(res: ServerResponse, method: string, t: ResourceType, namespace: string, name: string, body: Buffer, manager: string, ctype: string): void {
    // Only kinds that declare a scale subresource have one (a Job, a Pod, a CRD without it: 404, nothing stored).
    if (!t.subresources?.includes('scale')) throw new KubeError(404, 'NotFound', 'the server could not find the requested resource');
    const current = this.store.get(t, namespace, name);
    if (!current) throw notFound(t, name);
    const selectorOf = (o: Json): string => {
      const sel = ((o.spec as Json | undefined)?.selector ?? {}) as Json;
      const parts = Object.entries((sel.matchLabels ?? {}) as Json).map(([k, v]) => `${k}=${String(v)}`);
      for (const e of (sel.matchExpressions as Json[] | undefined) ?? []) {
        const vals = ((e.values as string[] | undefined) ?? []).join(',');
        parts.push(e.operator === 'Exists' ? String(e.key) : e.operator === 'DoesNotExist' ? `!${String(e.key)}` : `${String(e.key)} ${String(e.operator).toLowerCase()} (${vals})`);
      }
      return parts.join(',');
    };
    const toScale = (o: Json): Json => ({
      kind: 'Scale', apiVersion: 'autoscaling/v1',
      metadata: { name, namespace, uid: meta(o).uid, resourceVersion: meta(o).resourceVersion, creationTimestamp: meta(o).creationTimestamp },
      spec: { replicas: (o.spec as Json).replicas }, status: { replicas: ((o.status as Json | undefined)?.replicas as number | undefined) ?? 0, selector: selectorOf(o) },
    });
    if (method === 'GET') return this.send(res, 200, toScale(current));
    let input: Json;
    const text = body.toString('utf8') || '{}';
    try {
      const parsed = JSON.parse(text) as unknown;
      input = ctype.includes('merge-patch') || ctype.includes('strategic-merge-patch') ? (mergePatch(toScale(current), parsed) as Json) : ctype.includes('json-patch') ? (jsonPatch(toScale(current), parsed) as Json) : (parsed as Json);
    } catch (err) {
      if (err instanceof PatchError) throw err;
      throw new KubeError(400, 'BadRequest', `error decoding body: ${(err as Error).message}`);
    }
    const replicas = (input.spec as Json | undefined)?.replicas as unknown;
    if (replicas === undefined) throw new KubeError(422, 'Invalid', `Scale.autoscaling "${name}" is invalid: spec.replicas: Required value`, { name, group: 'autoscaling', kind: 'Scale', causes: [{ reason: 'FieldValueRequired', message: 'Required value', field: 'spec.replicas' }] });
    if (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0) {
      const msg = `Invalid value: ${JSON.stringify(replicas)}: must be greater than or equal to 0`;
      throw new KubeError(422, 'Invalid', `Scale.autoscaling "${name}" is invalid: spec.replicas: ${msg}`, { name, group: 'autoscaling', kind: 'Scale', causes: [{ reason: 'FieldValueInvalid', message: msg, field: 'spec.replicas' }] });
    }
    const next = structuredClone(current);
    (next.spec as Json).replicas = replicas;
    return this.send(res, 200, toScale(this.updateObject(t, current, next, manager)));
  }

  // ---- list / watch ----------------------------------------------------------------------------

  /** The field labels the API server converts for this kind (the AddFieldLabelConversionFunc lists); others are a 400. */
  private checkFieldSelector(t: ResourceType, q: URLSearchParams): void {
    const fs = q.get('fieldSelector');
    if (!fs) return;
    const extra = t.crd ? (t.crd.selectableFields ?? []) : (FIELD_LABELS[`${t.group}/${t.resource}`] ?? []);
    for (const raw of fs.split(',')) {
      const p = raw.trim();
      if (!p) continue;
      const m = /^([^!=]+)(==|=|!=)(.*)$/.exec(p);
      if (!m) throw new KubeError(400, 'BadRequest', `invalid selector: '${fs}'; can't understand '${p}'`);
      const label = (m[1] as string).trim();
      if (label !== 'metadata.name' && label !== 'metadata.namespace' && !extra.includes(label)) throw new KubeError(400, 'BadRequest', `field label not supported: ${label}`);
    }
  }

  filter(items: Json[], q: URLSearchParams): Json[] {
    const ls = q.get('labelSelector');
    const fs = q.get('fieldSelector');
    return items.filter((o) => (!ls || matchLabelSelector(ls, (meta(o).labels ?? {}) as Record<string, string>)) && (!fs || matchFieldSelector(fs, o)));
  }

  /**
   * A list, in pages when `limit` is set: `metadata.continue` is a token as etcd-backed servers write it
   * (base64 of {"v":"meta.k8s.io/v1","rv":N,"start":"<key>\u0000"}); a token older than the watch
   * history is 410 Expired, as a compacted one is. Later pages show the current objects after the key.
   */
  private listObjects(t: ResourceType, namespace: string, q: URLSearchParams, accept: string): Json {
    let items = this.filter(this.store.list(t, namespace), q);
    const key = (o: Json): string => `${String(meta(o).namespace ?? '')}/${String(meta(o).name)}`;
    const rv = this.store.resourceVersion;
    let listRv = rv;
    const cont = q.get('continue');
    if (cont) {
      let token: { v?: string; rv?: number; start?: string };
      try {
        token = JSON.parse(Buffer.from(cont, 'base64').toString('utf8')) as typeof token;
      } catch {
        throw new KubeError(400, 'BadRequest', 'continue key is not valid: illegal base64 data at input byte 0');
      }
      if (token.v !== 'meta.k8s.io/v1' || typeof token.rv !== 'number' || typeof token.start !== 'string') throw new KubeError(400, 'BadRequest', 'continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)');
      if (token.rv < this.store.oldest - 1)
        throw new KubeError(410, 'Expired', 'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.');
      const start = token.start.endsWith('\u0000') ? token.start.slice(0, -1) : token.start;
      items = items.filter((o) => key(o).localeCompare(start) >= 0 && key(o) !== start);
      listRv = token.rv;
    }
    const limit = Number(q.get('limit') ?? 0);
    const listMeta: Json = { resourceVersion: String(listRv) };
    if (Number.isInteger(limit) && limit > 0 && items.length > limit) {
      const last = items[limit - 1] as Json;
      listMeta.continue = Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv: listRv, start: `${key(last)}\u0000` })).toString('base64');
      listMeta.remainingItemCount = items.length - limit;
      items = items.slice(0, limit);
    }
    return this.asTable(t, items, accept, listMeta, q) ?? { kind: `${t.kind}List`, apiVersion: apiVersionOf(t), metadata: listMeta, items };
  }

  private asTable(t: ResourceType, items: Json[], accept: string, listMeta: Json, q: URLSearchParams): Json | undefined {
    if (!/as=Table/.test(accept)) return undefined;
    const include = q.get('includeObject') ?? 'Metadata';
    if (!['None', 'Metadata', 'Object'].includes(include)) throw new KubeError(400, 'BadRequest', `Table.meta.k8s.io "" is invalid: includeObject: Unsupported value: "${include}": supported values: "Metadata", "None", "Object"`);
    return tableOf(t, items, listMeta, /v=v1;/.test(accept) || /v=v1,/.test(accept) || /v=v1$/.test(accept) ? 'meta.k8s.io/v1' : 'meta.k8s.io/v1beta1', include);
  }

  /**
   * A watch as kube-apiserver streams it: headers at once, then one JSON event per line
   * (ADDED/MODIFIED/DELETED, BOOKMARK when `allowWatchBookmarks=true`), replaying history after
   * `resourceVersion` (an ERROR event with a 410 `Expired` Status when that is older than the history),
   * closed by the server after `timeoutSeconds`.
   */
  private watch(res: ServerResponse, t: ResourceType, namespace: string, q: URLSearchParams): void {
    const rvParam = q.get('resourceVersion');
    const bookmarks = q.get('allowWatchBookmarks') === 'true';
    const matches = (o: Json): boolean => (!namespace || meta(o).namespace === namespace) && this.filter([o], q).length === 1;
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked', 'cache-control': 'no-cache, private' });
    // Node holds the status line and headers until the first body write. A watch with nothing to
    // report yet must still answer at once: client-go (kubectl wait, rollout status) otherwise waits for
    // the headers past its own --timeout, because its informer cannot stop while the request is open.
    res.flushHeaders();
    this.watchers.add(res);
    const write = (type: string, object: Json): void => void res.write(`${JSON.stringify({ type, object })}\n`);
    const bookmark = (annotations?: Json): void => {
      if (bookmarks) write('BOOKMARK', { kind: t.kind, apiVersion: apiVersionOf(t), metadata: { resourceVersion: String(this.store.resourceVersion), ...(annotations ? { annotations } : {}) } });
    };
    if (!rvParam || rvParam === '0') {
      for (const o of this.store.list(t, namespace)) if (matches(o)) write('ADDED', o);
      if (q.get('sendInitialEvents') === 'true') bookmark({ 'k8s.io/initial-events-end': 'true' });
    } else {
      const initial = /^\d+$/.test(rvParam) ? this.store.since(Number(rvParam), t.group, t.resource) : undefined;
      if (!initial) {
        write('ERROR', { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: `too old resource version: ${rvParam} (${this.store.oldest})`, reason: 'Expired', code: 410 });
        this.watchers.delete(res);
        return void res.end();
      }
      for (const ev of initial) if (matches(ev.object)) write(ev.type, ev.object);
    }
    const onEvent = (ev: WatchEvent): void => {
      if (ev.group !== t.group || ev.resource !== t.resource) return;
      if (matches(ev.object)) write(ev.type, ev.object);
    };
    this.store.changes.on('event', onEvent);
    const timers: NodeJS.Timeout[] = [];
    const end = (): void => {
      this.store.changes.off('event', onEvent);
      for (const x of timers) clearTimeout(x);
      this.watchers.delete(res);
      if (!res.writableEnded) res.end();
    };
    const requested = Number(q.get('timeoutSeconds'));
    const timeout = Number.isFinite(requested) && requested > 0 ? requested : 1800;
    // A real server sends a bookmark about once a minute and just before it ends the stream.
    timers.push(setTimeout(() => {
      bookmark();
      end();
    }, timeout * 1000));
    if (bookmarks) {
      const every = setInterval(() => bookmark(), 60_000);
      timers.push(every);
    }
    if (this.clusterFaults.watchDropMs > 0) timers.push(setTimeout(() => res.destroy(), this.clusterFaults.watchDropMs));
    res.on('close', end);
  }

  // ---- logs and proxy --------------------------------------------------------------------------

  private podLog(res: ServerResponse, namespace: string, name: string, q: URLSearchParams): void {
    try {
      servePodLog({ pod: () => this.store.get(this.type('', 'pods'), namespace, name), logs: this.logs, track: (r) => {
        this.watchers.add(r);
        r.on('close', () => this.watchers.delete(r));
      } }, res, namespace, name, q);
    } catch (err) {
      if (err instanceof LogRequestError) throw err.code === 404 ? notFound({ group: '', resource: 'pods' }, name) : new KubeError(err.code, err.reason, err.message);
      throw err;
    }
  }

  private async serviceProxy(res: ServerResponse, namespace: string, nameAndPort: string, rest: string, method: string, q = new URLSearchParams(), body: Buffer = Buffer.alloc(0), contentType = ''): Promise<void> {
    const [name, port] = nameAndPort.split(':') as [string, string | undefined];
    const svc = this.store.get(this.type('', 'services'), namespace, name);
    if (!svc) throw notFound({ group: '', resource: 'services' }, name);
    const spec = (svc.spec ?? {}) as Json;
    const ports = (spec.ports as Json[] | undefined) ?? [];
    if (port && !ports.some((p) => String(p.port) === port || p.name === port))
      throw new KubeError(503, 'ServiceUnavailable', `no endpoints available for service "${nameAndPort}"`);
    const selector = (spec.selector ?? {}) as Record<string, string>;
    const ready = Object.keys(selector).length > 0 ? this.store.list(this.type('', 'pods'), namespace).find((p) =>
      Object.entries(selector).every(([k, v]) => ((meta(p).labels ?? {}) as Json)[k] === v) && podReady(p) && !meta(p).deletionTimestamp) : undefined;
    if (!ready) throw new KubeError(503, 'ServiceUnavailable', `no endpoints available for service "${nameAndPort}"`);
    const path = `/${rest}`;
    const forward = this.proxyForwards.get(`${namespace}/${name}`);
    if (forward) {
      // As the API server does: the method, path, query and body go to the pod; its answer comes back as it is.
      const qs = q.toString();
      const r = await fetch(`${forward}${path}${qs ? `?${qs}` : ''}`, { method, ...(body.length && method !== 'GET' ? { body: new Uint8Array(body), headers: { 'content-type': contentType || 'application/json' } } : {}) });
      res.writeHead(r.status, { 'content-type': r.headers.get('content-type') ?? 'text/plain; charset=utf-8' });
      return void res.end(Buffer.from(await r.arrayBuffer()));
    }
    const configured = this.proxyAnswers.get(`${namespace}/${name}`);
    let answer = typeof configured === 'function' ? configured(path) : configured?.[path];
    answer ??= vllmAnswer(ready, path, method);
    answer ??= nimAnswer(ready, path, method);
    if (!answer && isOllamaPod(ready)) {
      const key = `${namespace}/${name}`;
      let models = this.ollamaModels.get(key);
      if (!models) this.ollamaModels.set(key, (models = new Map()));
      answer = ollamaAnswer(models, path, method, body);
    }
    answer ??= method === 'GET' ? COMPONENT_HEALTH[path] : undefined;
    if (!answer) answer = { status: 404, body: '404 page not found\n', contentType: 'text/plain; charset=utf-8' };
    res.writeHead(answer.status, { 'content-type': answer.contentType ?? 'text/plain; charset=utf-8' });
    res.end(answer.body);
  }

  // ---- discovery and OpenAPI -------------------------------------------------------------------

  groupVersions(): { group: string; version: string; path: string }[] {
    const seen = new Map<string, { group: string; version: string; path: string }>();
    for (const t of this.types) {
      const path = t.group ? `apis/${t.group}/${t.version}` : `api/${t.version}`;
      if (!seen.has(path)) seen.set(path, { group: t.group, version: t.version, path });
    }
    return [...seen.values()];
  }

  private apiGroups(): Json[] {
    const groups = new Map<string, string[]>();
    for (const gv of this.groupVersions()) if (gv.group) groups.set(gv.group, [...new Set([...(groups.get(gv.group) ?? []), gv.version])]);
    return [...groups].map(([name, versions]) => ({
      name,
      versions: versions.map((v) => ({ groupVersion: `${name}/${v}`, version: v })),
      preferredVersion: { groupVersion: `${name}/${versions[0] as string}`, version: versions[0] as string },
    }));
  }

  private resourceEntries(group: string, version: string): Json[] {
    const out: Json[] = [];
    for (const t of this.types.filter((x) => x.group === group && x.version === version)) {
      out.push({ name: t.resource, singularName: t.singular, namespaced: t.namespaced, kind: t.kind, verbs: t.verbs ?? VERBS, ...(t.shortNames ? { shortNames: t.shortNames } : {}), ...(t.categories ? { categories: t.categories } : {}), storageVersionHash: createHash('sha256').update(`${group}/${version}/${t.kind}`).digest('base64').slice(0, 11) });
      for (const s of t.subresources ?? []) {
        const verbs = subresourceVerbs(s);
        const kind = s === 'scale' ? 'Scale' : s === 'binding' ? 'Binding' : s === 'eviction' ? 'Eviction' : s === 'log' ? 'Pod' : s === 'token' ? 'TokenRequest' : s === 'proxy' ? (t.kind === 'Node' ? 'NodeProxyOptions' : 'ServiceProxyOptions') : t.kind;
        out.push({ name: `${t.resource}/${s}`, singularName: '', namespaced: t.namespaced, kind, verbs, ...(s === 'scale' ? { group: 'autoscaling', version: 'v1' } : s === 'token' ? { group: 'authentication.k8s.io', version: 'v1' } : {}) });
      }
    }
    return out;
  }

  private resourceList(group: string, version: string): Json {
    return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: group ? `${group}/${version}` : version, resources: this.resourceEntries(group, version) };
  }

  private discovery(res: ServerResponse, path: string, accept: string): void {
    const aggregated = /as=APIGroupDiscoveryList/.test(accept) && /v=v2(?!beta)/.test(accept);
    if (aggregated) {
      const gvs = this.groupVersions().filter((gv) => (path === '/api' ? gv.group === '' : gv.group !== ''));
      const byGroup = new Map<string, string[]>();
      for (const gv of gvs) byGroup.set(gv.group, [...(byGroup.get(gv.group) ?? []), gv.version]);
      const items = [...byGroup].map(([group, versions]) => ({
        metadata: { name: group, creationTimestamp: null },
        versions: versions.map((version) => ({
          version,
          freshness: 'Current',
          resources: this.types.filter((t) => t.group === group && t.version === version).map((t) => ({
            resource: t.resource,
            responseKind: { group, version, kind: t.kind },
            scope: t.namespaced ? 'Namespaced' : 'Cluster',
            singularResource: t.singular,
            verbs: t.verbs ?? VERBS,
            ...(t.shortNames ? { shortNames: t.shortNames } : {}),
            ...(t.categories ? { categories: t.categories } : {}),
            ...(t.subresources?.length ? {
              subresources: t.subresources.map((s) => ({
                subresource: s,
                responseKind: s === 'scale' ? { group: 'autoscaling', version: 'v1', kind: 'Scale' } : s === 'token' ? { group: 'authentication.k8s.io', version: 'v1', kind: 'TokenRequest' } : { group, version, kind: t.kind },
                verbs: subresourceVerbs(s),
              })),
            } : {}),
          })),
        })),
      }));
      res.writeHead(200, { 'content-type': 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList', vary: 'Accept' });
      return void res.end(JSON.stringify({ kind: 'APIGroupDiscoveryList', apiVersion: 'apidiscovery.k8s.io/v2', metadata: {}, items }));
    }
    if (path === '/api') return this.send(res, 200, { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: `127.0.0.1:${this.port}` }] });
    return this.send(res, 200, { kind: 'APIGroupList', apiVersion: 'v1', groups: this.apiGroups() });
  }

  private docHash(gvPath: string): string {
    const types = this.types.filter((t) => (t.group ? `apis/${t.group}/${t.version}` : `api/${t.version}`) === gvPath);
    return createHash('sha512').update(JSON.stringify(types)).digest('hex').slice(0, 64).toUpperCase();
  }

  /** The group-version's OpenAPI v3 document: schemas from kubernetes-models, a PATCH per kind with fieldValidation. */
  openApiDoc(gvPath: string): Json {
    const types = this.types.filter((t) => (t.group ? `apis/${t.group}/${t.version}` : `api/${t.version}`) === gvPath);
    if (!types.length) throw new KubeError(404, 'NotFound', 'the server could not find the requested resource');
    const roots: { schema: ObjectSchema; gvk: { group: string; version: string; kind: string } }[] = [];
    const paths: Json = {};
    const params = ['dryRun', 'fieldManager', 'fieldValidation', 'force'].map((n) => ({ name: n, in: 'query', description: n, schema: n === 'force' ? { type: 'boolean' } : { type: 'string' }, uniqueItems: true }));
    for (const t of types) {
      const gvk = { group: t.group, version: t.version, kind: t.kind };
      const schema = this.schemaOf(t);
      let ref: Json;
      if (schema) {
        roots.push({ schema, gvk });
        ref = { $ref: `#/components/schemas/${schema.name}` };
      } else {
        ref = { type: 'object', 'x-kubernetes-preserve-unknown-fields': true };
      }
      const base = t.group ? `/apis/${t.group}/${t.version}` : `/api/${t.version}`;
      const p = `${base}${t.namespaced ? '/namespaces/{namespace}' : ''}/${t.resource}/{name}`;
      const content = (c: string[]): Json => Object.fromEntries(c.map((x) => [x, { schema: ref }]));
      paths[p] = {
        get: { tags: [t.group || 'core'], operationId: `read${t.kind}`, responses: { '200': { description: 'OK', content: content(['application/json']) } }, 'x-kubernetes-action': 'get', 'x-kubernetes-group-version-kind': gvk },
        put: { tags: [t.group || 'core'], operationId: `replace${t.kind}`, parameters: params.filter((x) => x.name !== 'force'), requestBody: { content: content(['*/*']), required: true }, responses: { '200': { description: 'OK', content: content(['application/json']) } }, 'x-kubernetes-action': 'put', 'x-kubernetes-group-version-kind': gvk },
        patch: {
          tags: [t.group || 'core'],
          operationId: `patch${t.kind}`,
          requestBody: { content: Object.fromEntries(['application/apply-patch+yaml', 'application/json-patch+json', 'application/merge-patch+json', ...(t.crd ? [] : ['application/strategic-merge-patch+json'])].map((c) => [c, { schema: { type: 'object' } }])), required: true },
          responses: { '200': { description: 'OK', content: content(['application/json']) }, '201': { description: 'Created', content: content(['application/json']) } },
          'x-kubernetes-action': 'patch',
          'x-kubernetes-group-version-kind': gvk,
          parameters: params,
        },
        parameters: [{ name: 'name', in: 'path', required: true, schema: { type: 'string' } }, ...(t.namespaced ? [{ name: 'namespace', in: 'path', required: true, schema: { type: 'string' } }] : [])],
      };
    }
    const components = openApiComponents(roots);
    for (const t of types) {
      if (!t.crd) continue;
      const name = `${t.group.split('.').reverse().join('.')}.${t.version}.${t.kind}`;
      components[name] = { ...(t.crd.schema ?? { type: 'object', 'x-kubernetes-preserve-unknown-fields': true }), 'x-kubernetes-group-version-kind': [{ group: t.group, version: t.version, kind: t.kind }] };
    }
    return { openapi: '3.0.0', info: { title: 'Kubernetes', version: KUBE_VERSION.gitVersion }, paths, components: { schemas: components } };
  }
}

/** Field selectors each built-in kind supports besides metadata.name and metadata.namespace (k8s.io/kubernetes pkg/apis/<group>/v1 conversion.go). */
const FIELD_LABELS: Record<string, string[]> = {
  '/pods': ['spec.nodeName', 'spec.restartPolicy', 'spec.schedulerName', 'spec.serviceAccountName', 'spec.hostNetwork', 'status.phase', 'status.podIP', 'status.podIPs', 'status.nominatedNodeName'],
  '/nodes': ['spec.unschedulable'],
  '/events': ['involvedObject.kind', 'involvedObject.namespace', 'involvedObject.name', 'involvedObject.uid', 'involvedObject.apiVersion', 'involvedObject.resourceVersion', 'involvedObject.fieldPath', 'reason', 'reportingComponent', 'source', 'type'],
  '/namespaces': ['status.phase'],
  '/secrets': ['type'],
  'apps/replicasets': ['status.replicas'],
  'batch/jobs': ['status.successful'],
};

const subresourceVerbs = (s: string): string[] => (s === 'log' || s === 'proxy' ? ['get'] : s === 'binding' || s === 'eviction' || s === 'token' ? ['create'] : ['get', 'patch', 'update']);

// ---- helpers shared with controllers -----------------------------------------------------------

export function podReady(p: Json): boolean {
  const conds = ((p.status as Json | undefined)?.conditions as Json[] | undefined) ?? [];
  return conds.some((c) => c.type === 'Ready' && c.status === 'True');
}

/** Requests and limits of a pod, keyed like quota resources (requests.cpu, limits.memory, requests.nvidia.com/gpu). */
export function podResources(pod: Json): Record<string, number> {
  const out: Record<string, number> = {};
  for (const c of (((pod.spec as Json | undefined)?.containers as Json[] | undefined) ?? [])) {
    const r = (c.resources ?? {}) as Json;
    for (const [kind, map] of [['requests', r.requests], ['limits', r.limits]] as const) {
      for (const [k, v] of Object.entries((map ?? {}) as Json)) out[`${kind}.${k}`] = (out[`${kind}.${k}`] ?? 0) + parseQuantity(v);
    }
  }
  return out;
}

export function matchLabelSelector(selector: string, labels: Record<string, string>): boolean {
  const parts = selector.match(/(?:[^,(]|\([^)]*\))+/g) ?? [];
  return parts.every((raw) => {
    const p = raw.trim();
    if (!p) return true;
    let m = /^(\S+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(p);
    if (m) {
      const vals = (m[3] as string).split(',').map((s) => s.trim());
      const v = labels[m[1] as string];
      return m[2] === 'in' ? v !== undefined && vals.includes(v) : v === undefined || !vals.includes(v);
    }
    m = /^([^!=\s]+)\s*(==|=|!=)\s*(.*)$/.exec(p);
    if (m) return m[2] === '!=' ? labels[m[1] as string] !== m[3] : labels[m[1] as string] === m[3];
    if (p.startsWith('!')) return labels[p.slice(1)] === undefined;
    return labels[p] !== undefined;
  });
}

export function matchFieldSelector(selector: string, obj: Json): boolean {
  return selector.split(',').every((raw) => {
    const m = /^([^!=]+)(==|=|!=)(.*)$/.exec(raw.trim());
    if (!m) return true;
    let cur: unknown = obj;
    for (const s of (m[1] as string).split('.')) cur = isObj(cur) ? cur[s] : undefined;
    const v = cur === undefined || cur === null ? '' : String(cur);
    return m[2] === '!=' ? v !== m[3] : v === m[3];
  });
}

/**
 * What the apiextensions controllers write into a new CRD's status at once here (asynchronously on a
 * real server): its names accepted, Established, and the storage version, so `kubectl wait
 * --for=condition=Established` returns instead of timing out.
 */
function crdStatus(crd: Json): Json {
  const spec = (crd.spec ?? {}) as Json;
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const storage = ((spec.versions as Json[] | undefined) ?? []).find((v) => v.storage === true)?.name;
  const condition = (type: string, reason: string, message: string): Json => ({ type, status: 'True', lastTransitionTime: now, reason, message });
  return {
    conditions: [condition('NamesAccepted', 'NoConflicts', 'no conflicts found'), condition('Established', 'InitialNamesAccepted', 'the initial names have been accepted')],
    acceptedNames: spec.names ?? {},
    storedVersions: storage ? [storage] : [],
  };
}
