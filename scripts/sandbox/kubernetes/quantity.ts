// Kubernetes resource quantities ("500m", "1Gi", "2", "1e3").
const SUFFIX: Record<string, number> = {
  n: 1e-9, u: 1e-6, m: 1e-3, '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
  Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, Ti: 1024 ** 4, Pi: 1024 ** 5, Ei: 1024 ** 6,
};

export function parseQuantity(q: unknown): number {
  if (typeof q === 'number') return q;
  const m = /^([+-]?[0-9.]+(?:[eE][+-]?\d+)?)(n|u|m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/.exec(String(q ?? '').trim());
  if (!m) return 0;
  return Number(m[1]) * (SUFFIX[m[2] ?? ''] ?? 1);
}

/** A canonical-looking quantity for status fields. */
export function formatQuantity(n: number, resource: string): string {
  if (resource.endsWith('memory') || resource.endsWith('storage')) {
    for (const [s, f] of [['Gi', 1024 ** 3], ['Mi', 1024 ** 2], ['Ki', 1024]] as const) if (n >= f && n % f === 0) return `${n / f}${s}`;
    return String(n);
  }
  if (!Number.isInteger(n)) return `${Math.round(n * 1000)}m`;
  return String(n);
}
