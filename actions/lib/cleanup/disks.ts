/**
 * Compute Engine persistent disks and disk snapshots, the calls cost-cleanup makes: every disk
 * (aggregatedList), createSnapshot, snapshots.get, disks.delete, each mutation awaited through the
 * shared LRO waiter (operations.ts) on its zone operation.
 */
import { apiUrl } from '../endpoints.js';
import { requestJson } from '../http.js';
import { getAccessToken } from '../google/auth.js';
import { OperationFailedError, waitFor, type LroAdapter, type WaitOptions } from '../operations.js';

export interface Disk {
  name: string;
  zone: string;
  sizeGb: number;
  type: string;
  users: string[];
  labels: Record<string, string>;
  creationTimestamp: string;
  lastDetachTimestamp?: string;
  selfLink: string;
  status: string;
}

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

export interface DiskSnapshot {
  name: string;
  status: string;
  selfLink: string;
  sourceDisk?: string;
  storageBytes?: string;
}

const last = (url: string | undefined): string => (url ?? '').replace(/\/+$/, '').split('/').pop() ?? '';
const base = (project: string): string => apiUrl('compute', `projects/${encodeURIComponent(project)}`);

interface RawDisk {
  name?: string;
  zone?: string;
  sizeGb?: string;
  type?: string;
  users?: string[];
  labels?: Record<string, string>;
  creationTimestamp?: string;
  lastDetachTimestamp?: string;
  selfLink?: string;
  status?: string;
}

/** disks.aggregatedList over every page: every zonal disk of the project. */
export async function listAllDisks(project: string): Promise<Disk[]> {
  const token = await getAccessToken();
  const out: Disk[] = [];
  let pageToken: string | undefined;
  do {
    const page = await requestJson<{ items?: Record<string, { disks?: RawDisk[] }>; nextPageToken?: string }>(`${base(project)}/aggregated/disks`, {
      token,
      query: { returnPartialSuccess: true, pageToken },
    });
    for (const [scope, entry] of Object.entries(page.items ?? {})) {
      if (!scope.startsWith('zones/')) continue;
      for (const d of entry.disks ?? []) {
        out.push({
          name: d.name ?? '',
          zone: last(d.zone) || scope.slice('zones/'.length),
          sizeGb: Number(d.sizeGb ?? 0),
          type: last(d.type) || 'pd-standard',
          users: d.users ?? [],
          labels: d.labels ?? {},
          creationTimestamp: d.creationTimestamp ?? '',
          ...(d.lastDetachTimestamp ? { lastDetachTimestamp: d.lastDetachTimestamp } : {}),
          selfLink: d.selfLink ?? '',
          status: d.status ?? 'READY',
        });
      }
    }
    pageToken = page.nextPageToken;
  } while (pageToken);
  return out;
}

function zoneOperation(project: string, zone: string, op: ComputeOperation, what: string): LroAdapter<ComputeOperation> {
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

async function waitZone(project: string, zone: string, op: ComputeOperation, what: string, opts: WaitOptions): Promise<void> {
  const adapter = zoneOperation(project, zone, op, what);
  if (op.status === 'DONE') {
    const failure = adapter.errorOf(op);
    if (failure) throw new OperationFailedError(adapter.label, failure, op);
    return;
  }
  await waitFor(adapter, opts);
}

/** disks.createSnapshot, awaited; then snapshots.get must show READY. */
export async function snapshotDisk(project: string, disk: Disk, snapshotName: string, labels: Record<string, string>, opts: WaitOptions): Promise<DiskSnapshot> {
  const token = await getAccessToken();
  const op = await requestJson<ComputeOperation>(`${base(project)}/zones/${disk.zone}/disks/${encodeURIComponent(disk.name)}/createSnapshot`, {
    method: 'POST',
    token,
    body: { name: snapshotName, labels, description: `cost-cleanup: snapshot of unattached disk ${disk.name} (${disk.zone}) before its deletion` },
  });
  await waitZone(project, disk.zone, op, `createSnapshot ${disk.name}`, opts);
  return getDiskSnapshot(project, snapshotName);
}

export async function getDiskSnapshot(project: string, name: string): Promise<DiskSnapshot> {
  const token = await getAccessToken();
  return requestJson<DiskSnapshot>(`${base(project)}/global/snapshots/${encodeURIComponent(name)}`, { token });
}

/** disks.delete, awaited. */
export async function deleteDisk(project: string, disk: Disk, opts: WaitOptions): Promise<void> {
  const token = await getAccessToken();
  const op = await requestJson<ComputeOperation>(`${base(project)}/zones/${disk.zone}/disks/${encodeURIComponent(disk.name)}`, { method: 'DELETE', token });
  await waitZone(project, disk.zone, op, `delete disk ${disk.name}`, opts);
}

/** A snapshot name for a disk: `<disk>-cleanup-<yyyymmddhhmmss>`, at most 63 characters. */
export function diskSnapshotName(disk: string, now = new Date()): string {
  const ts = now.toISOString().replace(/[-:T]/g, '').slice(0, 14);
  const head = disk.slice(0, 63 - '-cleanup-'.length - ts.length).replace(/-+$/, '');
  return `${head}-cleanup-${ts}`;
}
