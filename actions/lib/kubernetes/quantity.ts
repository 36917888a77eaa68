/** Kubernetes resource quantities ("500m", "2", "1.5", "8Gi", "1e3"), as node and pod resources carry them. */
const SUFFIX: Record<string, number> = {
  n: 1e-9, u: 1e-6, m: 1e-3, '': 1, k: 1e3, K: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
  Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, Ti: 1024 ** 4, Pi: 1024 ** 5, Ei: 1024 ** 6,
};

/** The quantity's value (cores for cpu, bytes for memory, a count otherwise); NaN when it is not a quantity. */
export function parseQuantity(q: string): number {
  const m = /^([0-9.]+(?:[eE][+-]?\d+)?)([A-Za-z]*)$/.exec(q.trim());
  const factor = m ? SUFFIX[m[2] as string] : undefined;
  return m && factor !== undefined ? Number(m[1]) * factor : NaN;
}

/** A cpu quantity in millicores ("500m" → 500, "2" → 2000); NaN when it is not a quantity. */
export function milliQuantity(q: string): number {
  return Math.round(parseQuantity(q) * 1000);
}
