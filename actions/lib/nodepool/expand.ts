/**
 * Bring a GPU node pool into existence (create with zone failover) or to the requested size
 * (setSize / setAutoscaling) when it exists.
 */
import { info, warning } from '../runner.js';
import { findNodePool, getNodePool, setNodePoolAutoscaling, setNodePoolSize, type Cluster, type ClusterRef, type NodePool, type NodePoolAutoscaling } from '../google/container.js';
import { waitForGkeOperation } from '../google/container-operations.js';
import { createWithFailover, removeLeftover, type Attempt } from './failover.js';
import { withClusterLock } from './lock.js';
import { adoptedCreate, awaitPoolOperations } from './pending.js';
import { liveNodeCount } from './snapshot.js';
import { buildGpuPool, type GpuPoolSpec } from './spec.js';
import { candidateZones, type ZonesInput } from './zones.js';

export interface ExpandResult {
  outcome: 'created' | 'resized' | 'unchanged';
  pool: NodePool;
  zones: string[];
  attempts: Attempt[];
  changes: string[];
  /** Nodes the pool runs after this run (all zones), when read or set here; else the definition's count applies. */
  nodes?: number;
}

function sameAutoscaling(a: NodePoolAutoscaling | undefined, b: NodePoolAutoscaling | undefined): boolean {
  const on = (x?: NodePoolAutoscaling) => x?.enabled === true;
  if (on(a) !== on(b)) return false;
  if (!on(a)) return true;
  return Number(a?.minNodeCount ?? 0) === Number(b?.minNodeCount ?? 0) && Number(a?.maxNodeCount ?? 0) === Number(b?.maxNodeCount ?? 0);
}

export interface ExpandOptions {
  /**
   * Called before any mutation that adds GPUs, with how many more the pool needs than it runs
   * now (the whole pool for a create, the growth for a resize): node-pool-expand's ensure_quota.
   */
  beforeGrow?: (moreGpus: number) => Promise<void>;
}

export async function expandNodePool(ref: ClusterRef, cluster: Cluster, spec: GpuPoolSpec, zones: ZonesInput, deadline: number, opts: ExpandOptions = {}): Promise<ExpandResult> {
  const wanted = buildGpuPool(spec);
  const adopted = await awaitPoolOperations(ref, spec.name, deadline);
  let current = await findNodePool(ref, spec.name);
  if (current?.status === 'ERROR') {
    info(`Node pool ${spec.name} is in ERROR (a failed earlier create); deleting it and creating it again.`);
    await removeLeftover(ref, spec.name, deadline);
    current = undefined;
  }
  // Nodes per zone the pool may grow to: the autoscaling ceiling, else the fixed count.
  const perZoneCeiling = Math.max(spec.nodeCount, spec.maxNodes ?? 0);
  if (!current) {
    if (opts.beforeGrow) {
      const zonesOfPool = zones.mode === 'default' ? Math.max(1, cluster.locations?.length ?? 1) : 1;
      await opts.beforeGrow(spec.acceleratorCount * perZoneCeiling * zonesOfPool);
    }
    const candidates = await candidateZones(zones, ref.project, cluster, ref.location, { acceleratorType: spec.acceleratorType, gpus: spec.acceleratorCount * Number(wanted.initialNodeCount ?? 1), spot: spec.spot });
    const created = await createWithFailover(ref, wanted, candidates, { deadline });
    return { outcome: 'created', pool: created.pool, zones: created.zones, attempts: created.attempts, changes: ['created'] };
  }
  // Resize an existing pool. Its shape (machine, accelerator) is not changed by expand.
  const have = current.config?.accelerators?.[0];
  if (have?.acceleratorType !== spec.acceleratorType || Number(have?.acceleratorCount ?? 0) !== spec.acceleratorCount) {
    warning(
      `Node pool ${spec.name} exists with ${have?.acceleratorCount ?? 0} × ${have?.acceleratorType ?? 'no accelerator'} per node; expand only resizes it. ` +
        'To change its shape, destroy it and expand again (or restore with replace: true).',
    );
  }
  const zonesOfPool = Math.max(1, current.locations?.length ?? 1);
  const wantAuto = wanted.autoscaling;
  // Read before any change: a size that cannot be read stops the run (liveNodeCount throws).
  const live = !wantAuto || opts.beforeGrow ? await liveNodeCount(current) : undefined;
  if (opts.beforeGrow && live) {
    const cards = Number(have?.acceleratorCount ?? spec.acceleratorCount);
    const more = cards * (perZoneCeiling * zonesOfPool - live.count);
    if (more > 0) await opts.beforeGrow(more);
    else info(`Node pool ${spec.name} runs ${live.count} node(s); growing to ${perZoneCeiling} per zone needs no more GPU quota.`);
  }
  const changes: string[] = [];
  let nodes = live?.source === 'instance-groups' ? live.count : undefined;
  if (!sameAutoscaling(current.autoscaling, wantAuto)) {
    if (wantAuto) nodes = undefined; // the autoscaler decides from here
    const target: NodePoolAutoscaling = wantAuto ?? { enabled: false };
    const op = await withClusterLock(ref, deadline, `set autoscaling of ${spec.name}`, () => setNodePoolAutoscaling(ref, spec.name, target));
    await waitForGkeOperation(ref.project, ref.location, op, { deadline, what: `SET_NODE_POOL_AUTOSCALING ${spec.name}` });
    changes.push(wantAuto ? `autoscaling ${wantAuto.minNodeCount}–${wantAuto.maxNodeCount} nodes per zone` : 'autoscaling off');
  }
  if (!wantAuto && live) {
    const perZone = live.source === 'instance-groups' ? live.count / zonesOfPool : undefined;
    if (perZone !== spec.nodeCount) {
      const op = await withClusterLock(ref, deadline, `resize ${spec.name}`, () => setNodePoolSize(ref, spec.name, spec.nodeCount));
      await waitForGkeOperation(ref.project, ref.location, op, { deadline, what: `SET_NODE_POOL_SIZE ${spec.name}` });
      changes.push(`${spec.nodeCount} node(s) per zone`);
      nodes = spec.nodeCount * zonesOfPool;
    }
  }
  const pool = await getNodePool(ref, spec.name);
  // An earlier run's create that this run waited for, with nothing left to change: this run's create.
  const outcome: ExpandResult['outcome'] = changes.length ? 'resized' : adoptedCreate(adopted) ? 'created' : 'unchanged';
  return { outcome, pool, zones: pool.locations ?? [], attempts: [], changes: outcome === 'created' ? ['created'] : changes, nodes };
}
