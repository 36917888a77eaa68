// In-memory state, one JSON-serialisable section per top-level seed key.
// A module claims its section with `section(key, defaults)`; keys no module claims
// are kept as they came and come back out in dump().

export type SeedState = Record<string, unknown>;

export class StateStore {
  private readonly sections = new Map<string, unknown>();
  private readonly dumpers = new Map<string, () => unknown>();

  constructor(seed: SeedState = {}) {
    for (const [k, v] of Object.entries(seed)) this.sections.set(k, structuredClone(v));
  }

  /** The live, mutable section `key`: the seed's value if given, else `defaults`. */
  section<T>(key: string, defaults: () => T): T {
    if (!this.sections.has(key)) this.sections.set(key, defaults());
    return this.sections.get(key) as T;
  }

  /** Whether the seed (or a module) put something under `key`. */
  has(key: string): boolean {
    return this.sections.has(key);
  }

  /** Replace a section (e.g. after normalising the seed). */
  set(key: string, value: unknown): void {
    this.sections.set(key, value);
  }

  /** Let a module control how its section is written out (default: the live object). */
  onDump(key: string, fn: () => unknown): void {
    this.dumpers.set(key, fn);
  }

  /** A deep, JSON-serialisable copy of everything. */
  dump(): SeedState {
    const out: SeedState = {};
    for (const [k, v] of this.sections) {
      const d = this.dumpers.get(k);
      out[k] = JSON.parse(JSON.stringify(d ? d() : v)) as unknown;
    }
    return out;
  }

  /** Read-only view for tests and debugging: the live sections. */
  view(): Record<string, unknown> {
    return Object.fromEntries(this.sections);
  }
}
