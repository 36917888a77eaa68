// One quota ledger behind Compute regions.get, Cloud Quotas quotaInfos and GKE's quota checks,
// so the three always agree. Seeded from the top-level `quotas` key.
import type { FaultInjector } from './faults.js';

export type ReviewDecision = 'grant' | 'partial' | 'deny';

export interface QuotaReview {
  /** What Google decides for a request above the auto-grant ceiling. */
  decision: ReviewDecision;
  /** How long the preference stays `reconciling: true` before the decision (ms). */
  delayMs: number;
  /** For 'partial': the value granted (default: the auto-grant ceiling, or the current limit). */
  partialValue?: number;
}

export interface QuotaEntry {
  /** Cloud Quotas id, e.g. 'NVIDIA-L4-GPUS-per-project-region'. */
  quotaId: string;
  /** Compute metric name, e.g. 'NVIDIA_L4_GPUS'. */
  metric: string;
  /** Region for regional quotas; unset for project-level (global) ones such as GPUS_ALL_REGIONS. */
  region?: string;
  /** Extra dimension for GPUS-PER-GPU-FAMILY quotas, e.g. 'NVIDIA_H100'. */
  gpuFamily?: string;
  /** Service, default compute.googleapis.com. */
  service?: string;
  limit: number;
  /** Usage not explained by sandbox resources (baseline). Live usage adds what modules report. */
  usage: number;
  /** Preferences up to this value are granted at once. */
  autoGrantCeiling?: number;
  review?: QuotaReview;
}

export interface QuotaSeed {
  defaults?: { autoGrantCeiling?: number; review?: QuotaReview };
  entries: QuotaEntry[];
}

export type UsageProvider = (metric: string, region: string | undefined) => number;

export interface Shortfall {
  entry: QuotaEntry;
  requested: number;
  available: number;
}

export class QuotaLedger {
  private readonly providers: UsageProvider[] = [];

  constructor(
    readonly seed: QuotaSeed,
    private readonly faults: FaultInjector,
  ) {
    seed.entries ??= [];
  }

  entries(): QuotaEntry[] {
    return this.seed.entries;
  }

  find(metric: string, region?: string): QuotaEntry | undefined {
    return this.seed.entries.find((e) => e.metric === metric && e.region === region);
  }

  byQuotaId(service: string, quotaId: string): QuotaEntry[] {
    return this.seed.entries.filter((e) => (e.service ?? 'compute.googleapis.com') === service && e.quotaId === quotaId);
  }

  /** Modules report the usage their resources cause (e.g. GKE: GPUs of live node pools). */
  addUsageProvider(p: UsageProvider): void {
    this.providers.push(p);
  }

  private exhausted(e: QuotaEntry): boolean {
    return !!this.faults.take('quota', (r) => r.metric === e.metric && (r.region === undefined || r.region === e.region), { peek: true });
  }

  usage(e: QuotaEntry): number {
    const live = e.usage + this.providers.reduce((sum, p) => sum + p(e.metric, e.region), 0);
    return this.exhausted(e) ? Math.max(live, e.limit) : live;
  }

  available(e: QuotaEntry): number {
    return Math.max(0, e.limit - this.usage(e));
  }

  setLimit(e: QuotaEntry, limit: number): void {
    e.limit = limit;
  }

  autoGrantCeiling(e: QuotaEntry): number {
    return e.autoGrantCeiling ?? this.seed.defaults?.autoGrantCeiling ?? 0;
  }

  review(e: QuotaEntry): QuotaReview {
    return e.review ?? this.seed.defaults?.review ?? { decision: 'grant', delayMs: 1000 };
  }

  /** Shortfalls for a set of demands; spends a counted quota fault that caused one. */
  check(demands: { metric: string; region?: string; amount: number }[]): Shortfall[] {
    const out: Shortfall[] = [];
    for (const d of demands) {
      if (d.amount <= 0) continue;
      const e = this.find(d.metric, d.region);
      if (!e) continue; // a metric the seed does not model is unlimited
      const available = this.available(e);
      if (d.amount > available) {
        out.push({ entry: e, requested: d.amount, available });
        this.faults.take('quota', (r) => r.metric === e.metric && (r.region === undefined || r.region === e.region));
      }
    }
    return out;
  }
}

const f1 = (n: number): string => n.toFixed(1);

/** GKE/Compute's wording for quota shortfalls (google-behaviour.md). */
export function quotaShortfallMessage(shortfalls: Shortfall[]): string {
  const one = (s: Shortfall): string =>
    `Insufficient ${s.entry.region ? 'regional' : 'project'} quota to satisfy request: resource "${s.entry.metric}": request requires '${f1(s.requested)}' and is short '${f1(s.requested - s.available)}'. project has a quota of '${f1(s.entry.limit)}' with '${f1(s.available)}' available. View and manage quotas at https://console.cloud.google.com/iam-admin/quotas?usage=USED.`;
  if (shortfalls.length === 1) return one(shortfalls[0] as Shortfall);
  return shortfalls.map((s, i) => `(${i + 1}) ${one(s)}`).join(' ');
}
