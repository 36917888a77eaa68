/**
 * GKE (container.googleapis.com v1): the calls the node-pool actions make, typed after
 * google.container.v1 (JSON names are lowerCamelCase; int64 values travel as strings).
 * Every call retries 429/5xx through http.ts; errors come back as ApiError.
 */
import { apiUrl } from '../endpoints.js';
import { ActionError } from '../errors.js';
import { findOrUndefined, requestJson, type RequestOptions } from '../http.js';
import { getAccessToken } from './auth.js';

export interface AcceleratorConfig {
  acceleratorCount?: string | number;
  acceleratorType?: string;
  gpuPartitionSize?: string;
  gpuDriverInstallationConfig?: { gpuDriverVersion?: 'GPU_DRIVER_VERSION_UNSPECIFIED' | 'INSTALLATION_DISABLED' | 'DEFAULT' | 'LATEST' };
  gpuSharingConfig?: Record<string, unknown>;
}

export interface NodeTaint {
  key: string;
  value?: string;
  effect: 'NO_SCHEDULE' | 'PREFER_NO_SCHEDULE' | 'NO_EXECUTE' | 'EFFECT_UNSPECIFIED';
}

export interface NodeConfig {
  machineType?: string;
  diskSizeGb?: number;
  diskType?: string;
  oauthScopes?: string[];
  serviceAccount?: string;
  labels?: Record<string, string>;
  resourceLabels?: Record<string, string>;
  taints?: NodeTaint[];
  accelerators?: AcceleratorConfig[];
  spot?: boolean;
  preemptible?: boolean;
  imageType?: string;
  [field: string]: unknown;
}

export interface NodePoolAutoscaling {
  enabled?: boolean;
  minNodeCount?: number;
  maxNodeCount?: number;
  totalMinNodeCount?: number;
  totalMaxNodeCount?: number;
  locationPolicy?: string;
  autoprovisioned?: boolean;
}

export interface StatusCondition {
  code?: string;
  canonicalCode?: string;
  message?: string;
}

export type NodePoolStatus = 'STATUS_UNSPECIFIED' | 'PROVISIONING' | 'RUNNING' | 'RUNNING_WITH_ERROR' | 'RECONCILING' | 'STOPPING' | 'ERROR';

export interface NodePool {
  name: string;
  config?: NodeConfig;
  initialNodeCount?: number;
  locations?: string[];
  version?: string;
  autoscaling?: NodePoolAutoscaling;
  management?: { autoUpgrade?: boolean; autoRepair?: boolean };
  status?: NodePoolStatus;
  statusMessage?: string;
  conditions?: StatusCondition[];
  instanceGroupUrls?: string[];
  selfLink?: string;
  etag?: string;
  [field: string]: unknown;
}

export interface Cluster {
  name: string;
  location?: string;
  zone?: string;
  locations?: string[];
  currentMasterVersion?: string;
  currentNodeVersion?: string;
  status?: string;
  nodePools?: NodePool[];
  [field: string]: unknown;
}

export interface OperationError {
  code?: number;
  message?: string;
  details?: unknown[];
}

export interface GkeOperation {
  name: string;
  zone?: string;
  location?: string;
  operationType?: string;
  status?: 'STATUS_UNSPECIFIED' | 'PENDING' | 'RUNNING' | 'DONE' | 'ABORTING';
  detail?: string;
  statusMessage?: string;
  selfLink?: string;
  targetLink?: string;
  startTime?: string;
  endTime?: string;
  progress?: { name?: string; status?: string; metrics?: Array<{ name?: string; intValue?: string; doubleValue?: number; stringValue?: string }>; stages?: unknown[] };
  nodepoolConditions?: StatusCondition[];
  clusterConditions?: StatusCondition[];
  error?: OperationError;
}

export interface ServerConfig {
  defaultClusterVersion?: string;
  validNodeVersions?: string[];
  validMasterVersions?: string[];
  defaultImageType?: string;
  validImageTypes?: string[];
}

/** Where a cluster lives: project, location (region or zone) and name. */
export interface ClusterRef {
  project: string;
  location: string;
  cluster: string;
}

export function clusterName(ref: ClusterRef): string {
  return `projects/${ref.project}/locations/${ref.location}/clusters/${ref.cluster}`;
}

export function nodePoolName(ref: ClusterRef, pool: string): string {
  return `${clusterName(ref)}/nodePools/${pool}`;
}

async function call<T>(method: string, path: string, body?: unknown, query?: Record<string, string | undefined>, extra: Pick<RequestOptions, 'adoptOnConflict'> = {}): Promise<T> {
  const token = await getAccessToken();
  return requestJson<T>(apiUrl('container', `v1/${path}`), { method, body, token, query, ...extra });
}

export function getCluster(ref: ClusterRef): Promise<Cluster> {
  return call<Cluster>('GET', clusterName(ref));
}

export function getServerConfig(project: string, location: string): Promise<ServerConfig> {
  return call<ServerConfig>('GET', `projects/${project}/locations/${location}/serverConfig`);
}

export function getNodePool(ref: ClusterRef, pool: string): Promise<NodePool> {
  return call<NodePool>('GET', nodePoolName(ref, pool));
}

/** The node pool, or undefined when the cluster has none by that name (404). */
export function findNodePool(ref: ClusterRef, pool: string): Promise<NodePool | undefined> {
  return findOrUndefined(() => getNodePool(ref, pool));
}

export async function listNodePools(ref: ClusterRef): Promise<NodePool[]> {
  const res = await call<{ nodePools?: NodePool[] }>('GET', `${clusterName(ref)}/nodePools`);
  return res.nodePools ?? [];
}

/**
 * CreateNodePool. A create is not repeated after a 5xx (it may have landed); when a retry after a
 * 429 meets 409, the create that landed is adopted: its operation, still running or done.
 */
export function createNodePool(ref: ClusterRef, nodePool: NodePool): Promise<GkeOperation> {
  const adoptOnConflict = async (): Promise<Response> => {
    const ops = (await listOperations(ref.project, ref.location)).filter((op) => op.operationType === 'CREATE_NODE_POOL' && targetsNodePool(op, ref, nodePool.name));
    const op = ops.find((o) => o.status !== 'DONE') ?? ops[ops.length - 1];
    if (!op) throw new ActionError(`GKE says node pool ${nodePool.name} already exists, and no create operation for it was found.`, { fix: 'Another run or a person created it: run the action again to judge the pool as it is.' });
    return new Response(JSON.stringify(op), { status: 200, headers: { 'content-type': 'application/json' } });
  };
  return call<GkeOperation>('POST', `${clusterName(ref)}/nodePools`, { parent: clusterName(ref), nodePool }, undefined, { adoptOnConflict });
}

export function deleteNodePool(ref: ClusterRef, pool: string): Promise<GkeOperation> {
  return call<GkeOperation>('DELETE', nodePoolName(ref, pool));
}

export function setNodePoolSize(ref: ClusterRef, pool: string, nodeCount: number): Promise<GkeOperation> {
  return call<GkeOperation>('POST', `${nodePoolName(ref, pool)}:setSize`, { name: nodePoolName(ref, pool), nodeCount });
}

export function setNodePoolAutoscaling(ref: ClusterRef, pool: string, autoscaling: NodePoolAutoscaling): Promise<GkeOperation> {
  return call<GkeOperation>('POST', `${nodePoolName(ref, pool)}:setAutoscaling`, { name: nodePoolName(ref, pool), autoscaling });
}

/** UpdateNodePool: `update` carries the UpdateNodePoolRequest fields to change (nodeVersion and imageType are required by GKE). */
export function updateNodePool(ref: ClusterRef, pool: string, update: Record<string, unknown>): Promise<GkeOperation> {
  return call<GkeOperation>('PUT', nodePoolName(ref, pool), { name: nodePoolName(ref, pool), ...update });
}

/** An operation's full name from what a mutation returned (GKE returns the short id in `name`). */
export function operationName(project: string, location: string, op: Pick<GkeOperation, 'name' | 'location' | 'zone'>): string {
  if (op.name.startsWith('projects/')) return op.name;
  return `projects/${project}/locations/${op.location || op.zone || location}/operations/${op.name}`;
}

export function getOperation(name: string): Promise<GkeOperation> {
  return call<GkeOperation>('GET', name);
}

/** ListOperations for a location (GKE has no server-side filter: filter the answer). */
export async function listOperations(project: string, location: string): Promise<GkeOperation[]> {
  const res = await call<{ operations?: GkeOperation[] }>('GET', `projects/${project}/locations/${location}/operations`);
  return res.operations ?? [];
}

/**
 * Whether an operation's targetLink names this node pool. GKE writes targetLink with the project
 * number or id and with `zones/` or `locations/`, so only location, cluster and pool are compared.
 */
export function targetsNodePool(op: Pick<GkeOperation, 'targetLink'>, ref: ClusterRef, pool: string): boolean {
  const m = /\/(?:locations|zones)\/([^/]+)\/clusters\/([^/]+)\/nodePools\/([^/?]+)$/.exec(op.targetLink ?? '');
  return !!m && m[1] === ref.location && m[2] === ref.cluster && m[3] === pool;
}
