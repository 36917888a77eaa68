/**
 * Version skew on restore: a snapshot's node version may no longer be offered (GKE retires
 * versions) or be newer than the control plane (nodes may not be newer than the master). Pick the
 * closest valid version and say so.
 */
export function parseGkeVersion(v: string): number[] {
  return (v.match(/\d+/g) ?? []).map(Number);
}

export function compareVersions(a: string, b: string): number {
  const x = parseGkeVersion(a);
  const y = parseGkeVersion(b);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

export interface VersionChoice {
  version: string;
  /** Set when the snapshot's version could not be used. */
  note?: string;
}

/** `wanted` if it is valid and not newer than `master`; else the closest valid version not newer than `master`. */
export function chooseNodeVersion(wanted: string, master: string, validNodeVersions: string[]): VersionChoice {
  if (!wanted) return { version: wanted };
  const usable = validNodeVersions.filter((v) => !master || compareVersions(v, master) <= 0).sort(compareVersions);
  const offered = validNodeVersions.length === 0 || validNodeVersions.includes(wanted);
  const tooNew = master !== '' && compareVersions(wanted, master) > 0;
  if (offered && !tooNew) return { version: wanted };
  const below = usable.filter((v) => compareVersions(v, wanted) <= 0);
  const pick = below[below.length - 1] ?? usable[0] ?? master;
  const why = tooNew ? `is newer than the control plane (${master})` : 'is no longer offered by GKE';
  return { version: pick, note: `The snapshot's node version ${wanted} ${why}; using ${pick}, the closest valid version.` };
}
