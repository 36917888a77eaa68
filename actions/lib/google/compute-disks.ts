/**
 * Compute Engine persistent disks and disk snapshots: every disk of a project (aggregatedList),
 * disks.createSnapshot, snapshots.get, disks.delete; each mutation is awaited on its zone
 * operation (compute.ts's waitForZoneOperation).
 */
import { requestJson } from '../http.js';
import type { WaitOptions } from '../operations.js';
import { getAccessToken } from './auth.js';
import { lastSegment, projectUrl, waitForZoneOperation, type ComputeOperation } from './compute.js';

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

export interface DiskSnapshot {
  name: string;
  status: string;
  selfLink: string;
  sourceDisk?: string;
  storageBytes?: string;
}

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
    const page = await requestJson<{ items?: Record<string, { disks?: RawDisk[] }>; nextPageToken?: string }>(`${projectUrl(project)}/aggregated/disks`, {
      token,
      query: { returnPartialSuccess: true, pageToken },
    });
    for (const [scope, entry] of Object.entries(page.items ?? {})) {
      if (!scope.startsWith('zones/')) continue;
      for (const d of entry.disks ?? []) {
        out.push({
          name: d.name ?? '',
          zone: lastSegment(d.zone) || scope.slice('zones/'.length),
          sizeGb: Number(d.sizeGb ?? 0),
          type: lastSegment(d.type) || 'pd-standard',
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

/** What a new disk snapshot is called, labelled and described as. */
export interface SnapshotSpec {
  name: string;
  labels: Record<string, string>;
  description: string;
}

/** disks.createSnapshot, awaited; then snapshots.get must show READY. */
export async function snapshotDisk(project: string, disk: Disk, snapshot: SnapshotSpec, opts: WaitOptions): Promise<DiskSnapshot> {
  const token = await getAccessToken();
  const op = await requestJson<ComputeOperation>(`${projectUrl(project)}/zones/${disk.zone}/disks/${encodeURIComponent(disk.name)}/createSnapshot`, {
    method: 'POST',
    token,
    body: snapshot,
  });
  await waitForZoneOperation(project, disk.zone, op, `createSnapshot ${disk.name}`, opts);
  return getDiskSnapshot(project, snapshot.name);
}

export async function getDiskSnapshot(project: string, name: string): Promise<DiskSnapshot> {
  const token = await getAccessToken();
  return requestJson<DiskSnapshot>(`${projectUrl(project)}/global/snapshots/${encodeURIComponent(name)}`, { token });
}

/** disks.delete, awaited. */
export async function deleteDisk(project: string, disk: Disk, opts: WaitOptions): Promise<void> {
  const token = await getAccessToken();
  const op = await requestJson<ComputeOperation>(`${projectUrl(project)}/zones/${disk.zone}/disks/${encodeURIComponent(disk.name)}`, { method: 'DELETE', token });
  await waitForZoneOperation(project, disk.zone, op, `delete disk ${disk.name}`, opts);
}
