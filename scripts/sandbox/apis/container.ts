// GKE container.googleapis.com/v1: clusters, node pools, operations.
// Routes and shapes: google.container.v1.ClusterManager from @google-cloud/container.
// Served under /container (CLOUDSDK_API_ENDPOINT_OVERRIDES_CONTAINER=http://127.0.0.1:PORT/container/).
import { createHash } from 'node:crypto';
import type { ApiModule, SandboxContext } from '../context.js';
import type { ContractCall } from '../contracts.js';
import { RPC_CODE, type GoogleStatus } from '../errors.js';
import type { LroError } from '../operations.js';
import { quotaShortfallMessage } from '../quota.js';
import type { ComputeService } from './compute.js';

type Json = Record<string, unknown>;

export interface ContainerState {
  clusters: Json[];
  operations: Json[];
  /** Live nodes per node pool: key `projects/P/locations/L/clusters/C/nodePools/NP` -> zone -> count. */
  nodes: Record<string, Record<string, number>>;
}

/** Emitted on ctx.events as 'container.nodePool' whenever a pool's nodes change. */
export interface NodePoolEvent {
  action: 'provisioning' | 'created' | 'failed' | 'resized' | 'updated' | 'deleting' | 'deleted';
  /** projects/P/locations/L/clusters/C */
  cluster: string;
  pool: string;
  /** zone -> node count after the change */
  nodes: Record<string, number>;
  nodePool: Json | undefined;
}

/** What the container module offers other modules via ctx.services.get('container'). */
export interface ContainerService {
  state: ContainerState;
  findCluster(project: string, location: string, name: string): Json | undefined;
  /** Every node (one entry per node) of every pool: for the Kubernetes module to materialise Node objects. */
  listNodes(): { cluster: string; clusterName: string; pool: string; zone: string; index: number; name: string; nodePool: Json }[];
}

/** Compute metric family of an accelerator type. */
const FAMILY: Record<string, string> = {
  'nvidia-l4': 'NVIDIA_L4',
  'nvidia-l4-vws': 'NVIDIA_L4_VWS',
  'nvidia-tesla-t4': 'NVIDIA_T4',
  'nvidia-tesla-t4-vws': 'NVIDIA_T4_VWS',
  'nvidia-tesla-a100': 'NVIDIA_A100',
  'nvidia-a100-80gb': 'NVIDIA_A100_80GB',
  'nvidia-h100-80gb': 'NVIDIA_H100',
  'nvidia-h100-mega-80gb': 'NVIDIA_H100_MEGA',
  'nvidia-h200-141gb': 'NVIDIA_H200',
  'nvidia-tesla-v100': 'NVIDIA_V100',
  'nvidia-tesla-p100': 'NVIDIA_P100',
  'nvidia-tesla-p4': 'NVIDIA_P4',
  'nvidia-tesla-k80': 'NVIDIA_K80',
};

export function gpuMetric(acceleratorType: string, preemptible: boolean): string {
  const fam = FAMILY[acceleratorType] ?? acceleratorType.replace(/^nvidia-(tesla-)?/, 'NVIDIA_').replace(/-/g, '_').toUpperCase();
  return `${preemptible ? 'PREEMPTIBLE_' : ''}${fam}_GPUS`;
}

const regionOf = (location: string): string => (/^[a-z]+-[a-z]+\d+-[a-z]$/.test(location) ? location.slice(0, -2) : location);
const isZone = (location: string): boolean => /^[a-z]+-[a-z]+\d+-[a-z]$/.test(location);

const etagOf = (o: unknown): string => createHash('sha256').update(JSON.stringify(o)).digest('hex').slice(0, 16);

/** State, helpers and services the container handlers share; registers what other modules use. */
function containerParts(ctx: SandboxContext) {
  const { errors } = ctx;
  const st = ctx.state.section<ContainerState>('container', () => ({ clusters: [], operations: [], nodes: {} }));
  st.clusters ??= [];
  st.operations ??= [];
  st.nodes ??= {};
  const base = `${ctx.baseUrl}/container/v1`;

  const canonProject = (p: string): string => {
    if (p === ctx.project.projectId || p === ctx.project.projectNumber || p === '-') return ctx.project.projectId;
    throw errors.permissionDenied(`Permission denied on resource project ${p}.`, [
      errors.errorInfo('CONSUMER_INVALID', 'googleapis.com', { consumer: `projects/${p}`, service: 'container.googleapis.com' }),
    ]);
  };
  const clusterKey = (c: Json): string => `projects/${ctx.project.projectId}/locations/${String(c.location)}/clusters/${String(c.name)}`;
  const poolKey = (c: Json, np: Json): string => `${clusterKey(c)}/nodePools/${String(np.name)}`;
  const pools = (c: Json): Json[] => ((c.nodePools as Json[] | undefined) ?? (c.nodePools = []));
  const poolZones = (c: Json, np: Json): string[] =>
    ((np.locations as string[] | undefined)?.length ? (np.locations as string[]) : ((c.locations as string[] | undefined) ?? []));

  // ---- normalise the seed: fill server-set fields, settle anything left RUNNING ----
  const compute = (): ComputeService | undefined => ctx.services.get('compute') as ComputeService | undefined;
  const catalogMetric = (type: string, preemptible: boolean): string | undefined => {
    const t = compute()?.acceleratorType(type);
    return preemptible ? t?.preemptibleMetric : t?.metric;
  };

  function fillCluster(c: Json): void {
    const location = String(c.location ?? c.zone ?? ctx.project.region);
    c.location = location;
    c.zone = location;
    if (!(c.locations as string[] | undefined)?.length) {
      c.locations = isZone(location) ? [location] : (compute()?.zonesOfRegion(location).slice(0, 3) ?? [`${location}-a`, `${location}-b`, `${location}-c`]);
    }
    c.selfLink = `${base}/${clusterKey(c)}`;
    c.status ??= 'RUNNING';
    c.currentMasterVersion ??= '1.32.4-gke.1415000';
    c.currentNodeVersion ??= c.currentMasterVersion;
    c.initialClusterVersion ??= c.currentMasterVersion;
    c.endpoint ??= '127.0.0.1';
    c.network ??= 'default';
    c.subnetwork ??= 'default';
    c.createTime ??= new Date().toISOString();
    c.id ??= createHash('sha256').update(clusterKey(c)).digest('hex').slice(0, 32);
    c.masterAuth ??= {};
    c.loggingService ??= 'logging.googleapis.com/kubernetes';
    c.monitoringService ??= 'monitoring.googleapis.com/kubernetes';
    c.clusterIpv4Cidr ??= '10.8.0.0/14';
    c.servicesIpv4Cidr ??= '34.118.224.0/20';
    for (const np of pools(c)) fillPool(c, np);
    c.currentNodeCount = Object.values(st.nodes)
      .filter((_v, i) => Object.keys(st.nodes)[i]?.startsWith(`${clusterKey(c)}/`))
      .reduce((s, z) => s + Object.values(z).reduce((a, b) => a + b, 0), 0);
    c.labelFingerprint ??= etagOf(c.resourceLabels ?? {}).slice(0, 8);
    c.etag = etagOf({ ...c, etag: undefined });
  }

  function fillPool(c: Json, np: Json): void {
    np.config ??= {};
    const cfg = np.config as Json;
    cfg.machineType ??= 'e2-medium';
    cfg.diskSizeGb ??= 100;
    cfg.diskType ??= 'pd-balanced';
    cfg.imageType ??= 'COS_CONTAINERD';
    cfg.oauthScopes ??= ['https://www.googleapis.com/auth/cloud-platform'];
    cfg.serviceAccount ??= 'default';
    np.initialNodeCount ??= 3;
    np.version ??= c.currentNodeVersion;
    np.status ??= 'RUNNING';
    np.podIpv4CidrSize ??= 24;
    np.management ??= { autoUpgrade: true, autoRepair: true };
    np.upgradeSettings ??= { maxSurge: 1, strategy: 'SURGE' };
    np.maxPodsConstraint ??= { maxPodsPerNode: '110' };
    np.locations = poolZones(c, np);
    np.selfLink = `${base}/${poolKey(c, np)}`;
    np.instanceGroupUrls = (np.locations as string[]).map(
      (z) => `https://www.googleapis.com/compute/v1/projects/${ctx.project.projectId}/zones/${z}/instanceGroupManagers/gke-${String(c.name)}-${String(np.name)}-grp`,
    );
    const key = poolKey(c, np);
    if (!st.nodes[key] && np.status === 'RUNNING') st.nodes[key] = nodesFor(np, np.initialNodeCount as number);
    np.etag = etagOf({ ...np, etag: undefined });
  }

  function nodesFor(np: Json, perZone: number): Record<string, number> {
    return Object.fromEntries(((np.locations as string[] | undefined) ?? []).map((z) => [z, perZone]));
  }

  for (const c of st.clusters) {
    if (c.status === 'PROVISIONING' || c.status === 'RECONCILING') c.status = 'RUNNING';
    for (const np of pools(c)) if (np.status === 'PROVISIONING' || np.status === 'RECONCILING') np.status = 'RUNNING';
    c.nodePools = pools(c).filter((np) => np.status !== 'STOPPING');
  }
  st.clusters = st.clusters.filter((c) => c.status !== 'STOPPING');
  for (const op of st.operations) {
    if (op.status === 'RUNNING' || op.status === 'PENDING') {
      op.status = 'DONE';
      op.endTime ??= new Date().toISOString();
    }
  }
  // Modules register in name order, so compute's service is there already.
  for (const c of st.clusters) fillCluster(c);

  // ---- quota usage: GPUs of live pools ----
  function poolGpus(np: Json, nodeTotal: number): { metric: string; count: number }[] {
    const cfg = (np.config as Json | undefined) ?? {};
    const pre = cfg.preemptible === true || cfg.spot === true;
    return ((cfg.accelerators as Json[] | undefined) ?? []).map((a) => ({
      metric: catalogMetric(String(a.acceleratorType), pre) ?? gpuMetric(String(a.acceleratorType), pre),
      count: Number(a.acceleratorCount ?? 1) * nodeTotal,
    }));
  }
  ctx.quota.addUsageProvider((metric, region) => {
    let sum = 0;
    for (const c of st.clusters) {
      if (region !== undefined && regionOf(String(c.location)) !== region) continue;
      for (const np of pools(c)) {
        const nodes = st.nodes[poolKey(c, np)] ?? {};
        const total = Object.values(nodes).reduce((a, b) => a + b, 0);
        for (const g of poolGpus(np, total)) {
          if (metric === 'GPUS_ALL_REGIONS' ? region === undefined : g.metric === metric) sum += g.count;
        }
      }
    }
    return sum;
  });

  const service: ContainerService = {
    state: st,
    findCluster: (p, l, n) => st.clusters.find((c) => c.location === l && c.name === n && canonProject(p) === ctx.project.projectId),
    listNodes() {
      const out: ReturnType<ContainerService['listNodes']> = [];
      for (const c of st.clusters) {
        for (const np of pools(c)) {
          const nodes = st.nodes[poolKey(c, np)] ?? {};
          for (const [zone, n] of Object.entries(nodes)) {
            for (let i = 0; i < n; i++) {
              const suffix = createHash('sha256').update(`${poolKey(c, np)}/${zone}`).digest('hex').slice(0, 8);
              out.push({
                cluster: clusterKey(c),
                clusterName: String(c.name),
                pool: String(np.name),
                zone,
                index: i,
                name: `gke-${String(c.name)}-${String(np.name)}-${suffix}-${i.toString(36).padStart(4, '0')}`.slice(0, 63),
                nodePool: np,
              });
            }
          }
        }
      }
      return out;
    },
  };
  ctx.services.set('container', service);

  const emit = (action: NodePoolEvent['action'], c: Json, np: Json): void => {
    const ev: NodePoolEvent = { action, cluster: clusterKey(c), pool: String(np.name), nodes: { ...(st.nodes[poolKey(c, np)] ?? {}) }, nodePool: np };
    ctx.events.emit('container.nodePool', ev);
  };

  // ---- addressing: new-style names and the legacy projects/zones bindings ----
  interface Addr { project: string; location: string; cluster?: string; pool?: string; operation?: string }
  function addr(req: Json): Addr {
    const n = String(req.name ?? req.parent ?? '');
    if (n) {
      const m = /^projects\/([^/]+)\/locations\/([^/]+)(?:\/clusters\/([^/]+)(?:\/nodePools\/([^/]+))?)?(?:\/operations\/([^/]+))?$/.exec(n);
      if (!m) throw errors.invalidArgument(`Invalid resource name "${n}".`);
      return { project: canonProject(m[1] as string), location: m[2] as string, cluster: m[3], pool: m[4], operation: m[5] };
    }
    return {
      project: canonProject(String(req.projectId ?? '')),
      location: String(req.zone ?? ''),
      cluster: req.clusterId as string | undefined,
      pool: req.nodePoolId as string | undefined,
      operation: req.operationId as string | undefined,
    };
  }
  function getCluster(a: Addr): Json {
    const c = st.clusters.find((x) => x.name === a.cluster && x.location === a.location);
    if (!c) throw errors.notFound(`Not found: projects/${a.project}/locations/${a.location}/clusters/${a.cluster ?? ''}.`);
    return c;
  }
  function getPool(a: Addr): { c: Json; np: Json } {
    const c = getCluster(a);
    const np = pools(c).find((x) => x.name === a.pool);
    if (!np) throw errors.notFound(`Not found: projects/${a.project}/locations/${a.location}/clusters/${a.cluster ?? ''}/nodePools/${a.pool ?? ''}.`);
    return { c, np };
  }
  const view = (o: Json): Json => o;

  // ---- operations ----
  function assertNoRunningOp(c: Json): void {
    const running = st.operations.find((op) => op.status === 'RUNNING' && String(op.targetLink ?? '').startsWith(String(c.selfLink)) );
    if (running) {
      throw errors.failedPrecondition(`Cluster is running incompatible operation ${String(running.name)}.`, [
        errors.errorInfo('CLUSTER_ALREADY_HAS_OPERATION', 'container.googleapis.com'),
      ]);
    }
  }

  function startOp(
    call: ContractCall,
    c: Json,
    type: string,
    targetLink: string,
    complete: () => LroError | undefined | void,
    failed: (e: LroError) => void,
    after: () => void = () => undefined,
  ): Json {
    const id = ctx.operations.newId();
    const location = String(c.location);
    const op: Json = {
      name: id,
      zone: location,
      operationType: type,
      status: 'RUNNING',
      selfLink: `${base}/projects/${ctx.project.projectNumber}/locations/${location}/operations/${id}`,
      targetLink,
      location,
      startTime: new Date().toISOString(),
    };
    st.operations.push(op);
    ctx.operations.start(
      {
        call: { api: 'container', method: call.rpc, httpMethod: call.http.method, path: call.http.path },
        complete,
        failed,
        done(error) {
          op.status = 'DONE';
          op.endTime = new Date().toISOString();
          if (error) {
            const status = (error.status in RPC_CODE ? error.status : 'UNKNOWN') as GoogleStatus;
            op.error = { code: RPC_CODE[status] ?? 2, message: error.message, details: [] };
            op.statusMessage = error.message;
            op.detail = error.message;
          }
          after();
          fillCluster(c);
        },
      },
      id,
    );
    return op;
  }

  // ---- machine shape, accelerator, placement checks (GKE's answers, google-behaviour.md) ----
  /**
   * Refuses what GKE refuses for a pool's machine type and accelerators in `zones`, and fills in the
   * GPUs an A2/A3/A4/G2 machine type carries when the request names none (GKE does the same, so they
   * show in the pool's config and count against quota).
   */
  function checkShape(np: Json, zones: string[]): void {
    const cfg = (np.config ??= {}) as Json;
    const comp = compute();
    const given = (cfg.accelerators as Json[] | undefined) ?? [];
    const machine = cfg.machineType === undefined ? undefined : String(cfg.machineType);
    if (machine === undefined) {
      if (given.length > 0) throw errors.invalidArgument('Cannot use default machine type (e2-medium) with GPUs; choose a different machine type.');
      return;
    }
    if (!comp) return;
    for (const z of zones) {
      if (!comp.machineType(machine, z)) throw errors.invalidArgument(`Invalid machine type "${machine}" in zone "${z}": GCE_NOT_FOUND`);
    }
    const shape = comp.machineType(machine) as NonNullable<ReturnType<NonNullable<typeof comp>['machineType']>>;
    const builtIn = shape.accelerators ?? [];
    const incompatible = (type: string): Error => errors.invalidArgument(`[${machine}, ${type}] features are not compatible for creating instance.`);
    if (builtIn.length > 0) {
      if (given.length === 0) {
        cfg.accelerators = builtIn.map((b) => ({ acceleratorType: b.guestAcceleratorType, acceleratorCount: String(b.guestAcceleratorCount) }));
      } else {
        for (const a of given) {
          const b = builtIn.find((x) => x.guestAcceleratorType === String(a.acceleratorType));
          if (!b) throw incompatible(String(a.acceleratorType));
          const count = Number(a.acceleratorCount ?? 1);
          if (count !== b.guestAcceleratorCount) {
            throw errors.invalidArgument(
              `Accelerator count ${count} is not valid for machine type ${machine}: the allowed numbers of accelerator "${b.guestAcceleratorType}" with machine type "${machine}" are: [${b.guestAcceleratorCount}].`,
            );
          }
        }
      }
    } else {
      for (const a of given) {
        const type = String(a.acceleratorType);
        const acc = comp.acceleratorType(type);
        // GPUs attach only to N1 (not its shared-core f1/g1 types); the rest of the catalog is built in.
        if (!machine.startsWith('n1-') || !acc?.n1Counts) throw incompatible(type);
        const count = Number(a.acceleratorCount ?? 1);
        if (!acc.n1Counts.includes(count)) {
          throw errors.invalidArgument(
            `Accelerator count ${count} is not valid for machine type ${machine}: the allowed numbers of accelerator "${type}" with machine type "${machine}" are: [${acc.n1Counts.join(', ')}].`,
          );
        }
      }
    }
    for (const a of (cfg.accelerators as Json[] | undefined) ?? []) {
      for (const z of zones) {
        const offered = comp.acceleratorsInZone(z);
        if (offered && !offered.includes(String(a.acceleratorType))) {
          throw errors.invalidArgument(`Accelerator type "${String(a.acceleratorType)}" does not exist in zone ${z}.`);
        }
      }
    }
  }
  function checkQuota(c: Json, np: Json, addNodes: number): void {
    const region = regionOf(String(c.location));
    const demands: { metric: string; region?: string; amount: number }[] = [];
    let total = 0;
    for (const g of poolGpus(np, addNodes)) {
      demands.push({ metric: g.metric, region, amount: g.count });
      total += g.count;
    }
    if (total > 0) demands.push({ metric: 'GPUS_ALL_REGIONS', amount: total });
    const short = ctx.quota.check(demands);
    if (short.length > 0) {
      throw errors.permissionDenied(quotaShortfallMessage(short), [errors.errorInfo('GCE_QUOTA_EXCEEDED', 'container.googleapis.com')]);
    }
  }
  function stockoutMessage(c: Json, np: Json, zone: string): string {
    return `Google Compute Engine: Not all instances running in IGM after 35m5.96s. Expected ${Number(np.initialNodeCount)}, running 0, transitioning ${Number(np.initialNodeCount)}. Current errors: [GCE_STOCKOUT]: Instance 'gke-${String(c.name)}-${String(np.name)}-${etagOf(zone).slice(0, 8)}-0000' creation failed: The zone 'projects/${ctx.project.projectId}/zones/${zone}' does not have enough resources available to fulfill the request.  Try a different zone, or try again later.`;
  }

  // ---- handlers ----
  return { ctx, errors, st, base, canonProject, clusterKey, poolKey, pools, poolZones, compute, fillCluster, fillPool, nodesFor, poolGpus, service, emit, addr, getCluster, getPool, view, assertNoRunningOp, startOp, checkShape, checkQuota, stockoutMessage };
}

type ContainerParts = ReturnType<typeof containerParts>;
type Handlers = Record<string, (req: Json, call: ContractCall) => unknown>;

/** Clusters: list, get, create, delete. */
function clusterHandlers(p: ContainerParts): Handlers {
  const { errors, st, clusterKey, poolKey, pools, compute, fillCluster, fillPool, nodesFor, service, emit, addr, getCluster, view, assertNoRunningOp, startOp, checkShape } = p;
  return {
    ListClusters(req) {
      const a = addr(req);
      const all = a.location === '-' ? st.clusters : st.clusters.filter((c) => c.location === a.location);
      return { clusters: all.map(view), missingZones: [] };
    },
    GetCluster(req) {
      return view(getCluster(addr(req)));
    },
    CreateCluster(req, call) {
      const a = addr(req);
      const cl = req.cluster as Json;
      if (!cl.name) throw errors.invalidArgument('Cluster.name must be specified.');
      if (st.clusters.some((x) => x.name === cl.name && x.location === a.location)) {
        throw errors.alreadyExists(`Already exists: projects/${a.project}/locations/${a.location}/clusters/${String(cl.name)}.`);
      }
      const c: Json = { ...cl, location: a.location, status: 'PROVISIONING' };
      if (!(c.nodePools as Json[] | undefined)?.length) {
        c.nodePools = [{ name: 'default-pool', initialNodeCount: cl.initialNodeCount ?? 3, config: cl.nodeConfig ?? {} }];
      }
      delete c.initialNodeCount;
      delete c.nodeConfig;
      c.nodePools = (c.nodePools as Json[]).map((np) => ({ ...np, status: 'PROVISIONING' }));
      fillCluster(c);
      st.clusters.push(c);
      return startOp(call, c, 'CREATE_CLUSTER', String(c.selfLink), () => {
        c.status = 'RUNNING';
        for (const np of pools(c)) {
          np.status = 'RUNNING';
          st.nodes[poolKey(c, np)] = nodesFor(np, Number(np.initialNodeCount));
          emit('created', c, np);
        }
      }, (e) => {
        c.status = 'ERROR';
        c.statusMessage = e.message;
      });
    },
    UpdateCluster(req, call) {
      const a = addr(req);
      const c = getCluster(a);
      const u = (req.update as Json | undefined) ?? {};
      if (u.etag !== undefined && u.etag !== '' && u.etag !== c.etag) {
        throw errors.aborted(`Cluster etag mismatch: the cluster was modified (etag "${String(c.etag)}").`);
      }
      const changes = Object.entries(u).filter(([k, v]) => k !== 'etag' && v !== undefined && v !== null);
      if (changes.length === 0) throw errors.invalidArgument('Cluster.update must contain at least one field to update.');
      const locations = u.desiredLocations as string[] | undefined;
      if (locations?.length) {
        const known = compute()?.zonesOfRegion(regionOf(String(c.location)));
        for (const z of locations) {
          if (regionOf(z) !== regionOf(String(c.location)) || (known && !known.includes(z))) {
            throw errors.invalidArgument(`Location "${z}" is not a valid zone in the cluster's region ${regionOf(String(c.location))}.`);
          }
        }
        for (const np of pools(c)) checkShape(structuredClone(np), locations);
      }
      const poolId = u.desiredNodePoolId as string | undefined;
      const target = poolId ? pools(c).find((x) => x.name === poolId) : undefined;
      if (poolId && !target) throw errors.notFound(`Not found: ${clusterKey(c)}/nodePools/${poolId}.`);
      if (u.desiredNodePoolAutoscaling && !poolId && pools(c).length > 1) {
        throw errors.invalidArgument('Node pool must be specified when the cluster has more than one node pool.');
      }
      assertNoRunningOp(c);
      c.status = 'RECONCILING';
      return startOp(call, c, locations?.length || u.desiredNodeVersion ? 'UPGRADE_NODES' : u.desiredMasterVersion ? 'UPGRADE_MASTER' : 'UPDATE_CLUSTER', String(c.selfLink), () => {
        for (const [k, v] of changes) {
          if (k === 'desiredLocations') {
            c.locations = v;
            for (const np of pools(c)) {
              const per = Math.max(0, ...Object.values(st.nodes[poolKey(c, np)] ?? {}));
              np.locations = v;
              st.nodes[poolKey(c, np)] = nodesFor(np, per);
              emit('updated', c, np);
            }
          } else if (k === 'desiredNodePoolAutoscaling') {
            const np = target ?? (pools(c)[0] as Json);
            np.autoscaling = v;
          } else if (k === 'desiredNodeVersion' || k === 'desiredImageType') {
            for (const np of target ? [target] : pools(c)) {
              if (k === 'desiredImageType') (np.config as Json).imageType = v;
              else if (v !== '-') np.version = v;
            }
          } else if (k === 'desiredMasterVersion') {
            if (v !== '-') c.currentMasterVersion = v;
          } else if (k === 'desiredClusterAutoscaling') {
            c.autoscaling = v;
          } else if (k === 'desiredAddonsConfig') {
            c.addonsConfig = { ...((c.addonsConfig as Json | undefined) ?? {}), ...(v as Json) };
          } else if (k.startsWith('desired') && k !== 'desiredNodePoolId') {
            c[k.charAt(7).toLowerCase() + k.slice(8)] = v;
          }
        }
        c.status = 'RUNNING';
      }, (e) => {
        c.status = 'RUNNING';
        c.statusMessage = e.message;
      }, () => {
        for (const np of pools(c)) fillPool(c, np);
      });
    },
    SetLabels(req, call) {
      const a = addr(req);
      const c = getCluster(a);
      if (req.labelFingerprint && req.labelFingerprint !== c.labelFingerprint) {
        throw errors.failedPrecondition(`Labels could not be set due to fingerprint mismatch: expected "${String(c.labelFingerprint)}", got "${String(req.labelFingerprint)}".`);
      }
      assertNoRunningOp(c);
      return startOp(call, c, 'SET_LABELS', String(c.selfLink), () => {
        c.resourceLabels = (req.resourceLabels as Json | undefined) ?? {};
        c.labelFingerprint = etagOf(c.resourceLabels).slice(0, 8);
      }, () => undefined);
    },
    DeleteCluster(req, call) {
      const a = addr(req);
      const c = getCluster(a);
      assertNoRunningOp(c);
      c.status = 'STOPPING';
      return startOp(call, c, 'DELETE_CLUSTER', String(c.selfLink), () => {
        for (const np of pools(c)) {
          delete st.nodes[poolKey(c, np)];
          emit('deleted', c, np);
        }
        st.clusters = st.clusters.filter((x) => x !== c);
        service.state.clusters = st.clusters;
      }, (e) => {
        c.status = 'ERROR';
        c.statusMessage = e.message;
      });
    },
  };
}

/** Node pools: list, get, create, delete, resize, autoscaling, update. */
function nodePoolHandlers(p: ContainerParts): Handlers {
  const { errors, st, poolKey, pools, poolZones, compute, fillPool, nodesFor, emit, addr, getCluster, getPool, view, assertNoRunningOp, startOp, checkShape, checkQuota, stockoutMessage, ctx } = p;
  return {
    ListNodePools(req) {
      return { nodePools: pools(getCluster(addr(req))).map(view) };
    },
    GetNodePool(req) {
      return view(getPool(addr(req)).np);
    },
    CreateNodePool(req, call) {
      const a = addr(req);
      const c = getCluster(a);
      const input = req.nodePool as Json;
      if (!input.name) throw errors.invalidArgument('Node pool name must be specified.');
      if (pools(c).some((x) => x.name === input.name)) {
        throw errors.alreadyExists(`Already exists: projects/${a.project}/locations/${a.location}/clusters/${a.cluster ?? ''}/nodePools/${String(input.name)}.`);
      }
      const np: Json = { ...input, status: 'PROVISIONING' };
      const zones = poolZones(c, np);
      const known = compute()?.zonesOfRegion(regionOf(String(c.location)));
      for (const z of zones) {
        if (regionOf(z) !== regionOf(String(c.location)) || (known && !known.includes(z))) {
          throw errors.invalidArgument(`Location "${z}" is not a valid zone in the cluster's region ${regionOf(String(c.location))}.`);
        }
      }
      np.config = structuredClone((np.config as Json | undefined) ?? {});
      checkShape(np, zones);
      assertNoRunningOp(c);
      const perZone = Number(np.initialNodeCount ?? 3);
      checkQuota(c, np, perZone * zones.length);
      fillPool(c, np);
      pools(c).push(np);
      const key = poolKey(c, np);
      const hasGpu = (((np.config as Json).accelerators as Json[] | undefined) ?? []).length > 0;
      const types = (((np.config as Json).accelerators as Json[] | undefined) ?? []).map((x) => String(x.acceleratorType));
      const stockZone = hasGpu
        ? zones.find((z) =>
            ctx.faults.take('stockout', (r) => r.zones.includes(z) && (!r.acceleratorTypes || r.acceleratorTypes.some((t) => types.includes(t))), { peek: true }),
          )
        : undefined;
      if (stockZone) ctx.faults.take('stockout', (r) => r.zones.includes(stockZone));
      // Reserve the requested nodes while provisioning (they count against quota, as GCE does).
      st.nodes[key] = nodesFor(np, perZone);
      emit('provisioning', c, np);
      return startOp(
        call,
        c,
        'CREATE_NODE_POOL',
        String(np.selfLink),
        () => {
          if (stockZone) return { status: 'RESOURCE_EXHAUSTED', message: stockoutMessage(c, np, stockZone) };
          np.status = 'RUNNING';
          emit('created', c, np);
          return undefined;
        },
        (e) => {
          np.status = 'ERROR';
          np.statusMessage = e.message;
          const stock = e.message.includes('GCE_STOCKOUT');
          np.conditions = [{ code: stock ? 'GCE_STOCKOUT' : 'UNKNOWN', message: e.message, canonicalCode: stock ? 'RESOURCE_EXHAUSTED' : 'INTERNAL' }];
          st.nodes[key] = nodesFor(np, 0);
          emit('failed', c, np);
        },
        () => fillPool(c, np),
      );
    },
    DeleteNodePool(req, call) {
      const a = addr(req);
      const { c, np } = getPool(a);
      assertNoRunningOp(c);
      np.status = 'STOPPING';
      emit('deleting', c, np);
      return startOp(
        call,
        c,
        'DELETE_NODE_POOL',
        String(np.selfLink),
        () => {
          c.nodePools = pools(c).filter((x) => x !== np);
          delete st.nodes[poolKey(c, np)];
          emit('deleted', c, np);
        },
        (e) => {
          np.status = 'ERROR';
          np.statusMessage = e.message;
        },
      );
    },
    SetNodePoolSize(req, call) {
      const a = addr(req);
      const { c, np } = getPool(a);
      const size = Number(req.nodeCount);
      if (!Number.isInteger(size) || size < 0) throw errors.invalidArgument('node_count must be a non-negative integer.');
      assertNoRunningOp(c);
      const key = poolKey(c, np);
      const zones = poolZones(c, np);
      const current = Object.values(st.nodes[key] ?? {}).reduce((x, y) => x + y, 0);
      const extra = size * zones.length - current;
      if (extra > 0) checkQuota(c, np, extra);
      const before = np.status;
      np.status = 'RECONCILING';
      return startOp(
        call,
        c,
        'SET_NODE_POOL_SIZE',
        String(np.selfLink),
        () => {
          np.status = 'RUNNING';
          st.nodes[key] = nodesFor(np, size);
          emit('resized', c, np);
        },
        (e) => {
          np.status = before === 'ERROR' ? 'ERROR' : 'RUNNING_WITH_ERROR';
          np.statusMessage = e.message;
        },
        () => fillPool(c, np),
      );
    },
    SetNodePoolAutoscaling(req, call) {
      const a = addr(req);
      const { c, np } = getPool(a);
      const as = req.autoscaling as Json;
      if (as.enabled && Number(as.minNodeCount ?? 0) > Number(as.maxNodeCount ?? 0)) {
        throw errors.invalidArgument('Maximum node count must be greater than or equal to minimum node count.');
      }
      assertNoRunningOp(c);
      np.status = 'RECONCILING';
      return startOp(
        call,
        c,
        'UPDATE_CLUSTER',
        String(np.selfLink),
        () => {
          np.autoscaling = as;
          np.status = 'RUNNING';
          if (as.enabled) {
            const key = poolKey(c, np);
            const nodes = st.nodes[key] ?? {};
            for (const z of Object.keys(nodes)) {
              nodes[z] = Math.min(Math.max(nodes[z] ?? 0, Number(as.minNodeCount ?? 0)), Number(as.maxNodeCount ?? nodes[z] ?? 0));
            }
            emit('resized', c, np);
          }
        },
        (e) => {
          np.status = 'RUNNING_WITH_ERROR';
          np.statusMessage = e.message;
        },
        () => fillPool(c, np),
      );
    },
    UpdateNodePool(req, call) {
      const a = addr(req);
      const { c, np } = getPool(a);
      if (req.etag !== undefined && req.etag !== np.etag) {
        throw errors.aborted(`Node pool etag mismatch: the node pool was modified (etag "${String(np.etag)}").`);
      }
      const newLocations = req.locations as string[] | undefined;
      const probe: Json = { ...np, config: { ...(np.config as Json), ...(req.accelerators ? { accelerators: req.accelerators } : {}), ...(req.machineType ? { machineType: req.machineType, ...(req.accelerators ? {} : { accelerators: undefined }) } : {}) } };
      if (newLocations?.length || req.accelerators || req.machineType) checkShape(probe, newLocations?.length ? newLocations : poolZones(c, np));
      if (req.machineType && !req.accelerators) req.accelerators = (probe.config as Json).accelerators;
      if (newLocations?.length) {
        // Nodes in added zones are new VMs: they count against quota before anything starts, as a create does.
        const per = Math.max(0, ...Object.values(st.nodes[poolKey(c, np)] ?? {}));
        const added = newLocations.filter((z) => !poolZones(c, np).includes(z)).length;
        if (added > 0) checkQuota(c, probe, per * added);
      }
      assertNoRunningOp(c);
      np.status = 'RECONCILING';
      return startOp(
        call,
        c,
        'UPGRADE_NODES',
        String(np.selfLink),
        () => {
          const cfg = np.config as Json;
          if (req.nodeVersion && req.nodeVersion !== '-' && req.nodeVersion !== np.version) {
            np.previousVersion = np.version;
            np.version = req.nodeVersion;
          }
          if (req.imageType) cfg.imageType = req.imageType;
          for (const f of ['machineType', 'diskType', 'diskSizeGb', 'accelerators', 'workloadMetadataConfig', 'linuxNodeConfig', 'kubeletConfig', 'gcfsConfig', 'gvnic', 'fastSocket', 'loggingConfig', 'windowsNodeConfig', 'resourceManagerTags', 'containerdConfig', 'storagePools', 'confidentialNodes']) {
            if (req[f] !== undefined) cfg[f] = req[f];
          }
          if (req.labels) cfg.labels = (req.labels as Json).labels ?? {};
          if (req.taints) cfg.taints = (req.taints as Json).taints ?? [];
          if (req.tags) cfg.tags = (req.tags as Json).tags ?? [];
          if (req.resourceLabels) cfg.resourceLabels = (req.resourceLabels as Json).labels ?? {};
          if (req.upgradeSettings) np.upgradeSettings = req.upgradeSettings;
          if (req.queuedProvisioning) np.queuedProvisioning = req.queuedProvisioning;
          const key = poolKey(c, np);
          if (newLocations?.length) {
            const per = Math.max(0, ...Object.values(st.nodes[key] ?? {}));
            np.locations = newLocations;
            st.nodes[key] = nodesFor(np, per);
          }
          np.status = 'RUNNING';
          emit('updated', c, np);
        },
        (e) => {
          np.status = 'RUNNING_WITH_ERROR';
          np.statusMessage = e.message;
        },
        () => fillPool(c, np),
      );
    },
  };
}

/** Rollback of a node pool's last upgrade (a no-op when there is nothing to undo, as GKE documents). */
function rollbackHandlers(p: ContainerParts): Handlers {
  const { addr, getPool, assertNoRunningOp, startOp, fillPool, emit } = p;
  return {
    RollbackNodePoolUpgrade(req, call) {
      const { c, np } = getPool(addr(req));
      assertNoRunningOp(c);
      const before = np.status;
      np.status = 'RECONCILING';
      return startOp(call, c, 'UPGRADE_NODES', String(np.selfLink), () => {
        if (typeof np.previousVersion === 'string') {
          np.version = np.previousVersion;
          delete np.previousVersion;
          emit('updated', c, np);
        }
        np.status = before === 'ERROR' ? 'ERROR' : 'RUNNING';
      }, (e) => {
        np.status = 'RUNNING_WITH_ERROR';
        np.statusMessage = e.message;
      }, () => fillPool(c, np));
    },
  };
}

/** Operations and the server config. */
function operationHandlers(p: ContainerParts): Handlers {
  const { errors, st, addr } = p;
  return {
    ListOperations(req) {
      const a = addr(req);
      const ops = st.operations.filter((op) => a.location === '-' || op.location === a.location);
      return { operations: ops, missingZones: [] };
    },
    GetOperation(req) {
      const a = addr(req);
      const op = st.operations.find((o) => o.name === a.operation && (a.location === '-' || o.location === a.location));
      if (!op) throw errors.notFound(`Not found: projects/${a.project}/locations/${a.location}/operations/${a.operation ?? ''}.`);
      return op;
    },
    GetServerConfig(req) {
      const a = addr(req);
      const c = st.clusters[0];
      const v = String(c?.currentMasterVersion ?? '1.32.4-gke.1415000');
      void a;
      return {
        defaultClusterVersion: v,
        validNodeVersions: [v],
        validMasterVersions: [v],
        defaultImageType: 'COS_CONTAINERD',
        validImageTypes: ['COS_CONTAINERD', 'UBUNTU_CONTAINERD'],
        channels: [{ channel: 'REGULAR', defaultVersion: v, validVersions: [v] }],
      };
    },
  };
}

const containerModule: ApiModule = {
  id: 'container',
  register(ctx: SandboxContext) {
    const parts = containerParts(ctx);
    const handlers: Handlers = { ...clusterHandlers(parts), ...nodePoolHandlers(parts), ...rollbackHandlers(parts), ...operationHandlers(parts) };

    ctx.contracts.bind({
      api: 'container',
      pkg: 'container',
      service: 'google.container.v1.ClusterManager',
      prefix: '/container',
      handlers,
      // gcloud container node-pools update --node-labels|--node-taints|--node-locations sends neither; GKE accepts it.
      notEnforced: { UpdateNodePool: ['nodeVersion', 'imageType'] },
    });
  },
};

export default containerModule;
