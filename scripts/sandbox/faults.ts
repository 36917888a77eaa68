// Fault injection. Rules are plain JSON (so a seed file or the CLI can carry them).
// Request-level faults (latency, error) are applied by the server before the handler runs;
// domain faults (stockout, quota, operationFailure) are consumed by the modules that own them.

/** Which calls a rule applies to. Every given key must match; an empty match matches every call. */
export interface FaultMatch {
  /** API id of the module, e.g. 'container', 'compute', 'cloudquotas', 'storage'. */
  api?: string;
  /** RPC / route name, e.g. 'CreateNodePool', 'GetOperation'. */
  method?: string;
  /** HTTP method, e.g. 'POST'. */
  httpMethod?: string;
  /** Regular expression (source text) tested against the request path. */
  path?: string;
}

interface RuleBase {
  id?: string;
  /** Apply to the next N matching events only, then the rule is spent. Unset: every match. */
  count?: number;
}

/** Delay matching calls. */
export interface LatencyFault extends RuleBase {
  kind: 'latency';
  match?: FaultMatch;
  ms: number;
}

/** Answer matching calls with a Google error instead of running them (default 429/503 bodies). */
export interface ErrorFault extends RuleBase {
  kind: 'error';
  match?: FaultMatch;
  /** HTTP status: 429 (RESOURCE_EXHAUSTED), 503 (UNAVAILABLE), 500, 403, ... */
  status: number;
  /** Probability 0..1 that a matching call fails (deterministic PRNG, see `seed`). Unset: every call. */
  rate?: number;
  seed?: number;
  message?: string;
}

/** GPU stockout: node pools created in these zones end in GCE_STOCKOUT. */
export interface StockoutFault extends RuleBase {
  kind: 'stockout';
  zones: string[];
  /** Only these accelerator types (e.g. 'nvidia-l4'); unset: any accelerator. */
  acceleratorTypes?: string[];
}

/** Quota exhaustion: the metric shows usage == limit (in Compute, Cloud Quotas and GKE's checks). */
export interface QuotaFault extends RuleBase {
  kind: 'quota';
  metric: string;
  /** Region, or unset for every region (and project-level metrics such as GPUS_ALL_REGIONS). */
  region?: string;
}

/** Operations started by matching calls fail midway. */
export interface OperationFailureFault extends RuleBase {
  kind: 'operationFailure';
  match?: FaultMatch;
  message?: string;
  /** google.rpc code name for Operation.error (default INTERNAL). */
  code?: string;
}

/**
 * A Cloud Storage resumable upload loses its connection: the chunk that carries the session past
 * `afterBytes` is persisted only up to there (a 256 KiB multiple, as GCS persists) and answered 503,
 * so the client must ask the session how much arrived (`Content-Range: bytes *\/N`) and resume.
 */
export interface UploadInterruptedFault extends RuleBase {
  kind: 'uploadInterrupted';
  afterBytes: number;
  /** Only sessions for object names matching this regular expression (source text). */
  object?: string;
}


/** Which pods a kubelet fault applies to (every given key must match). */
export interface PodMatch {
  /** Kubernetes cluster: a GKE cluster's name, or the machine (`dgx`, `agx`). Unset: every cluster. */
  cluster?: string;
  namespace?: string;
  /** A label selector as `kubectl -l` takes it: `app=train,tier!=web`, `job-name in (a,b)`, `key`. */
  labelSelector?: string;
  /** Regular expression (source text) tested against a container's image. */
  image?: string;
}

/**
 * The simulated kubelet: a matching pod's containers run for `afterMs`, print `log` (one line per
 * entry, appended to the kubelet's start lines), then exit with `exitCode` (0 = Succeeded).
 * Without a rule a run-to-completion pod exits 0 after the cluster's job run time.
 */
export interface PodExitFault extends RuleBase {
  kind: 'podExit';
  match?: PodMatch;
  afterMs?: number;
  exitCode?: number;
  log?: string[];
  /** Only the pod with this Job completion index (an Indexed Job's / JobSet's rank). */
  completionIndex?: number;
}

/** Matching images cannot be pulled: the pod stays Pending with ImagePullBackOff. */
export interface ImagePullFault extends RuleBase {
  kind: 'imagePull';
  match?: PodMatch;
  /** Why the registry refused (default `not found`). */
  reason?: string;
}


export type FaultRule = LatencyFault | ErrorFault | StockoutFault | QuotaFault | OperationFailureFault | UploadInterruptedFault | PodExitFault | ImagePullFault;

export interface CallInfo {
  api: string;
  method: string;
  httpMethod: string;
  path: string;
}

function matches(m: FaultMatch | undefined, call: CallInfo): boolean {
  if (!m) return true;
  if (m.api !== undefined && m.api !== call.api) return false;
  if (m.method !== undefined && m.method !== call.method) return false;
  if (m.httpMethod !== undefined && m.httpMethod.toUpperCase() !== call.httpMethod) return false;
  if (m.path !== undefined && !new RegExp(m.path).test(call.path)) return false;
  return true;
}

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Entry {
  rule: FaultRule;
  remaining: number | undefined;
  rng: () => number;
}

export class FaultInjector {
  private entries: Entry[] = [];
  private nextId = 1;

  constructor(rules: FaultRule[] = []) {
    for (const r of rules) this.add(r);
  }

  /** Add a rule; returns its id (for remove). */
  add(rule: FaultRule): string {
    const id = rule.id ?? `fault-${this.nextId++}`;
    const copy = { ...rule, id } as FaultRule;
    this.entries.push({
      rule: copy,
      remaining: rule.count,
      rng: mulberry32(rule.kind === 'error' ? (rule.seed ?? 1) : 1),
    });
    return id;
  }

  remove(id: string): void {
    this.entries = this.entries.filter((e) => e.rule.id !== id);
  }

  clear(): void {
    this.entries = [];
  }

  list(): FaultRule[] {
    return this.entries.map((e) => ({ ...e.rule, ...(e.remaining !== undefined ? { count: e.remaining } : {}) }));
  }

  private spend(e: Entry): void {
    if (e.remaining === undefined) return;
    e.remaining -= 1;
    if (e.remaining <= 0) this.entries = this.entries.filter((x) => x !== e);
  }

  /** Total latency to add to this call (spends counted latency rules). */
  latencyFor(call: CallInfo): number {
    let ms = 0;
    for (const e of [...this.entries]) {
      if (e.rule.kind === 'latency' && matches(e.rule.match, call)) {
        ms += e.rule.ms;
        this.spend(e);
      }
    }
    return ms;
  }

  /** The error rule that fires for this call, if any (spends it). */
  errorFor(call: CallInfo): ErrorFault | undefined {
    for (const e of [...this.entries]) {
      if (e.rule.kind !== 'error' || !matches(e.rule.match, call)) continue;
      if (e.rule.rate !== undefined && e.rng() >= e.rule.rate) continue;
      this.spend(e);
      return e.rule;
    }
    return undefined;
  }

  /**
   * Find (and spend, unless peek) the first rule of `kind` the predicate accepts.
   * Modules use this for domain faults: stockout, quota, operationFailure.
   */
  take<K extends FaultRule['kind']>(
    kind: K,
    accept: (rule: Extract<FaultRule, { kind: K }>) => boolean,
    opts: { peek?: boolean } = {},
  ): Extract<FaultRule, { kind: K }> | undefined {
    for (const e of [...this.entries]) {
      if (e.rule.kind !== kind) continue;
      const rule = e.rule as Extract<FaultRule, { kind: K }>;
      if (!accept(rule)) continue;
      if (!opts.peek) this.spend(e);
      return rule;
    }
    return undefined;
  }

  /** Convenience for operationFailure rules matched against a call. */
  operationFailureFor(call: CallInfo): OperationFailureFault | undefined {
    return this.take('operationFailure', (r) => matches(r.match, call));
  }
}
