/**
 * What cost-cleanup calls, labels and describes the snapshot it takes of an unattached disk before
 * deleting it (the disk client is google/compute-disks.ts).
 */
import type { Disk, SnapshotSpec } from '../google/compute-disks.js';

/** A snapshot name for a disk: `<disk>-cleanup-<yyyymmddhhmmss>`, at most 63 characters. */
export function diskSnapshotName(disk: string, now = new Date()): string {
  const ts = now.toISOString().replace(/[-:T]/g, '').slice(0, 14);
  const head = disk.slice(0, 63 - '-cleanup-'.length - ts.length).replace(/-+$/, '');
  return `${head}-cleanup-${ts}`;
}

/** The snapshot cost-cleanup takes of `disk` before deleting it. */
export function cleanupSnapshot(disk: Disk, now = new Date()): SnapshotSpec {
  return {
    name: diskSnapshotName(disk.name, now),
    labels: { 'mlabs-cleanup': 'true', 'mlabs-keep': 'false' },
    description: `cost-cleanup: snapshot of unattached disk ${disk.name} (${disk.zone}) before its deletion`,
  };
}
