/**
 * Compute Engine v1, the read-only parts the GPU actions need: a region's quotas
 * (regions.get), the project's own quotas (projects.get, where GPUS_ALL_REGIONS
 * lives), zones, accelerator types per zone or across all zones, and the managed
 * instance groups behind a GKE node pool (instanceGroupManagers.get); and the zone operations
 * Compute mutations return, on the generic waiter (compute-disks.ts makes those mutations).
 */
import { apiUrl } from '../endpoints.js';
import { listAll, requestJson } from '../http.js';
import { waitForReturned, type LroAdapter, type WaitOptions, type WaitResult } from '../operations.js';
import { getAccessToken } from './auth.js';

export interface ComputeQuota {
  metric: string;
  limit: number;
  usage: number;
}

export interface Region {
  name: string;
  status: string;
  /** Zone URLs. */
  zones: string[];
  quotas: ComputeQuota[];
}

export interface Zone {
  name: string;
  /** Region name (the API's URL shortened). */
  region: string;
  status: string;
}

export interface AcceleratorType {
  name: string;
  /** Zone name. */
  zone: string;
  description: string;
  maximumCardsPerInstance: number;
}

/** The last path segment of a Compute URL (a zone, region or disk type link). */
export const lastSegment = (url: string | undefined): string => (url ?? '').replace(/\/+$/, '').split('/').pop() ?? '';

/** The Compute API URL of a project, under which its zones, regions and global resources live. */
export function projectUrl(project: string): string {
  return apiUrl('compute', `projects/${encodeURIComponent(project)}`);
}

const base = projectUrl;

function toQuotas(raw: unknown): ComputeQuota[] {
  return ((raw as Array<{ metric?: string; limit?: number | string; usage?: number | string }> | undefined) ?? []).map((q) => ({
    metric: String(q.metric ?? ''),
    limit: Number(q.limit ?? 0),
    usage: Number(q.usage ?? 0),
  }));
}

/** regions.get: the region with its quotas (`quotas[].metric` such as NVIDIA_L4_GPUS). */
export async function getRegion(project: string, region: string): Promise<Region> {
  const token = await getAccessToken();
  const r = await requestJson<{ name?: string; status?: string; zones?: string[]; quotas?: unknown }>(`${base(project)}/regions/${encodeURIComponent(region)}`, { token });
  return { name: r.name ?? region, status: r.status ?? 'UP', zones: r.zones ?? [], quotas: toQuotas(r.quotas) };
}

/** projects.get quotas: the project-level limits, among them GPUS_ALL_REGIONS. */
export async function getProjectQuotas(project: string): Promise<ComputeQuota[]> {
  const token = await getAccessToken();
  const p = await requestJson<{ quotas?: unknown }>(base(project), { token });
  return toQuotas(p.quotas);
}

/** The quota `metric` in a quota list, if present. */
export function findQuota(quotas: ComputeQuota[], metric: string): ComputeQuota | undefined {
  return quotas.find((q) => q.metric === metric);
}

/** zones.list, every page. */
export async function listZones(project: string): Promise<Zone[]> {
  const token = await getAccessToken();
  const items = await listAll<{ name?: string; region?: string; status?: string }>(`${base(project)}/zones`, 'items', { token });
  return items.map((z) => ({ name: z.name ?? '', region: lastSegment(z.region), status: z.status ?? 'UP' }));
}

function toAccelerator(raw: { name?: string; zone?: string; description?: string; maximumCardsPerInstance?: number | string }, zone?: string): AcceleratorType {
  return {
    name: raw.name ?? '',
    zone: lastSegment(raw.zone) || (zone ?? ''),
    description: raw.description ?? '',
    maximumCardsPerInstance: Number(raw.maximumCardsPerInstance ?? 0),
  };
}

/** acceleratorTypes.list for one zone. */
export async function listAcceleratorTypes(project: string, zone: string): Promise<AcceleratorType[]> {
  const token = await getAccessToken();
  const items = await listAll<Parameters<typeof toAccelerator>[0]>(`${base(project)}/zones/${encodeURIComponent(zone)}/acceleratorTypes`, 'items', { token });
  return items.map((a) => toAccelerator(a, zone));
}

/**
 * acceleratorTypes.aggregatedList: every zone's accelerator types, optionally only `name`
 * (filtered by the API and again here, so a server that ignores `filter` gives the same result).
 */
export async function aggregatedAcceleratorTypes(project: string, name?: string): Promise<AcceleratorType[]> {
  const token = await getAccessToken();
  const out: AcceleratorType[] = [];
  let pageToken: string | undefined;
  do {
    const page = await requestJson<{ items?: Record<string, { acceleratorTypes?: Parameters<typeof toAccelerator>[0][] }>; nextPageToken?: string }>(
      `${base(project)}/aggregated/acceleratorTypes`,
      { token, query: { filter: name ? `name = "${name}"` : undefined, returnPartialSuccess: true, pageToken } },
    );
    for (const [scope, entry] of Object.entries(page.items ?? {})) {
      const zone = scope.startsWith('zones/') ? scope.slice('zones/'.length) : undefined;
      for (const a of entry.acceleratorTypes ?? []) out.push(toAccelerator(a, zone));
    }
    pageToken = page.nextPageToken;
  } while (pageToken);
  return name ? out.filter((a) => a.name === name) : out;
}

/** google.cloud.compute.v1.InstanceGroupManager, the fields a node pool's live size needs. */
export interface InstanceGroupManager {
  name: string;
  zone: string;
  targetSize: number;
  currentActions: Record<string, number>;
  isStable: boolean;
}

/**
 * instanceGroupManagers.get from the URL GKE lists in a node pool's instanceGroupUrls
 * (`https://www.googleapis.com/compute/v1/projects/P/zones/Z/instanceGroupManagers/NAME`),
 * sent to the Compute endpoint in use. Retried like every call; errors are ApiError.
 */
export async function getInstanceGroupManager(url: string): Promise<InstanceGroupManager> {
  const m = /\/projects\/([^/]+)\/zones\/([^/]+)\/instanceGroup(?:Manager)?s\/([^/?]+)$/.exec(url);
  if (!m) throw new Error(`not an instance group URL: ${url}`);
  const [, project, zone, name] = m as unknown as [string, string, string, string];
  const token = await getAccessToken();
  const igm = await requestJson<{ name?: string; zone?: string; targetSize?: number | string; currentActions?: Record<string, number | string>; status?: { isStable?: boolean } }>(
    `${base(decodeURIComponent(project))}/zones/${encodeURIComponent(decodeURIComponent(zone))}/instanceGroupManagers/${encodeURIComponent(decodeURIComponent(name))}`,
    { token },
  );
  return {
    name: igm.name ?? name,
    zone: lastSegment(igm.zone) || zone,
    targetSize: Number(igm.targetSize ?? 0),
    currentActions: Object.fromEntries(Object.entries(igm.currentActions ?? {}).map(([k, v]) => [k, Number(v)])),
    isStable: igm.status?.isStable === true,
  };
}

/** A Compute zone operation, as a mutation returns it and zoneOperations.get answers. */
export interface ComputeOperation {
  name: string;
  zone?: string;
  status?: 'PENDING' | 'RUNNING' | 'DONE';
  operationType?: string;
  targetLink?: string;
  progress?: number;
  error?: { errors?: Array<{ code?: string; message?: string }> };
  httpErrorMessage?: string;
}

/** An adapter for a zone operation: zoneOperations.get, its errors[] as the failure text, status and percent as progress. */
export function zoneOperation(project: string, zone: string, op: ComputeOperation, what: string): LroAdapter<ComputeOperation> {
  return {
    label: `${what} (${op.name})`,
    poll: async () => requestJson<ComputeOperation>(`${base(project)}/zones/${zone}/operations/${op.name}`, { token: await getAccessToken() }),
    isDone: (o) => o.status === 'DONE',
    errorOf: (o) => {
      const errs = o.error?.errors ?? [];
      return errs.length ? errs.map((e) => `${e.message ?? ''}${e.code ? ` [${e.code}]` : ''}`.trim()).join('; ') : undefined;
    },
    progressOf: (o) => `${o.status ?? 'RUNNING'}${o.progress ? ` ${o.progress}%` : ''}`,
  };
}

/** Wait for the zone operation a mutation returned (`what` names it in logs and errors). */
export function waitForZoneOperation(project: string, zone: string, op: ComputeOperation, what: string, opts: WaitOptions = {}): Promise<WaitResult<ComputeOperation>> {
  return waitForReturned(zoneOperation(project, zone, op, what), op, opts);
}
