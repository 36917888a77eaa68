/**
 * Bring a GPU node pool into existence (create with zone failover) or to the requested size
 * (setSize / setAutoscaling) when it exists.
 */
import { ApiError } from '../http.js';
import { info, warning } from '../runner.js';
import { getNodePool, setNodePoolAutoscaling, setNodePoolSize, type Cluster, type ClusterRef, type NodePool, type NodePoolAutoscaling } from '../google/container.js';
import { waitForGkeOperation } from '../operations.js';
import { createWithFailover, removeLeftover, type Attempt } from './failover.js';
import { withClusterLock } from './lock.js';
import { liveNodeCount } from './snapshot.js';
import { buildGpuPool, type GpuPoolSpec } from './spec.js';
import { candidateZones, type ZonesInput } from './zones.js';

export interface ExpandResult {
  outcome: 'created' | 'resized' | 'unchanged';
  pool: NodePool;
  zones: string[];
  attempts: Attempt[];
  changes: string[];
}

function sameAutoscaling(a: NodePoolAutoscaling | undefined, b: NodePoolAutoscaling | undefined): boolean {
  const on = (x?: NodePoolAutoscaling) => x?.enabled === true;
  if (on(a) !== on(b)) return false;
  if (!on(a)) return true;
  return Number(a?.minNodeCount ?? 0) === Number(b?.minNodeCount ?? 0) && Number(a?.maxNodeCount ?? 0) === Number(b?.maxNodeCount ?? 0);
}

export async function expandNodePool(ref: ClusterRef, cluster: Cluster, spec: GpuPoolSpec, zones: ZonesInput, deadline: number): Promise<ExpandResult> {
  const wanted = buildGpuPool(spec);
  let current: NodePool | undefined;
  try {
    current = await getNodePool(ref, spec.name);
  } catch (err) {
    if (!(err instanceof ApiError && err.httpStatus === 404)) throw err;
  }
  if (current?.status === 'ERROR') {
    info(`Node pool ${spec.name} is in ERROR (a failed earlier create); deleting it and creating it again.`);
    await removeLeftover(ref, spec.name, deadline);
    current = undefined;
  }
  if (!current) {
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
  const changes: string[] = [];
  const wantAuto = wanted.autoscaling;
  if (!sameAutoscaling(current.autoscaling, wantAuto)) {
    const target: NodePoolAutoscaling = wantAuto ?? { enabled: false };
    const op = await withClusterLock(ref, deadline, `set autoscaling of ${spec.name}`, () => setNodePoolAutoscaling(ref, spec.name, target));
    await waitForGkeOperation(ref.project, ref.location, op, { deadline, what: `SET_NODE_POOL_AUTOSCALING ${spec.name}` });
    changes.push(wantAuto ? `autoscaling ${wantAuto.minNodeCount}–${wantAuto.maxNodeCount} nodes per zone` : 'autoscaling off');
  }
  if (!wantAuto) {
    const zonesOfPool = Math.max(1, current.locations?.length ?? 1);
    const live = await liveNodeCount(current);
    const perZone = live.source === 'instance-groups' ? live.count / zonesOfPool : undefined;
    if (perZone !== spec.nodeCount) {
      const op = await withClusterLock(ref, deadline, `resize ${spec.name}`, () => setNodePoolSize(ref, spec.name, spec.nodeCount));
      await waitForGkeOperation(ref.project, ref.location, op, { deadline, what: `SET_NODE_POOL_SIZE ${spec.name}` });
      changes.push(`${spec.nodeCount} node(s) per zone`);
    }
  }
  const pool = await getNodePool(ref, spec.name);
  return { outcome: changes.length ? 'resized' : 'unchanged', pool, zones: pool.locations ?? [], attempts: [], changes };
}
