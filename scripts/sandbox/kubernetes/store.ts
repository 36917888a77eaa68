// Generic object storage for one cluster: any group/resource, namespaced or not, with
// resourceVersion, a bounded event history for watches, and change notifications.
import { EventEmitter } from 'node:events';
import type { ResourceType } from './resources.js';

export type Json = Record<string, unknown>;

export interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  rv: number;
  group: string;
  resource: string;
  namespace: string;
  object: Json;
}

export const meta = (o: Json): Json => ((o.metadata ??= {}) as Json);

export class Store {
  private readonly objects = new Map<string, Json>();
  private rv = 1000;
  private readonly history: WatchEvent[] = [];
  readonly changes = new EventEmitter();

  constructor() {
    this.changes.setMaxListeners(0);
  }

  static key(group: string, resource: string, namespace: string, name: string): string {
    return `${group}|${resource}|${namespace}|${name}`;
  }

  get resourceVersion(): number {
    return this.rv;
  }

  /** Oldest resourceVersion a watch can resume from. */
  get oldest(): number {
    return this.history[0]?.rv ?? this.rv;
  }

  get(t: Pick<ResourceType, 'group' | 'resource'>, namespace: string, name: string): Json | undefined {
    const o = this.objects.get(Store.key(t.group, t.resource, namespace, name));
    return o ? structuredClone(o) : undefined;
  }

  list(t: Pick<ResourceType, 'group' | 'resource'>, namespace?: string): Json[] {
    const prefix = `${t.group}|${t.resource}|`;
    const out: Json[] = [];
    for (const [k, o] of this.objects) {
      if (!k.startsWith(prefix)) continue;
      if (namespace !== undefined && namespace !== '' && String(meta(o).namespace ?? '') !== namespace) continue;
      out.push(structuredClone(o));
    }
    return out.sort((a, b) => String(meta(a).namespace ?? '').localeCompare(String(meta(b).namespace ?? '')) || String(meta(a).name).localeCompare(String(meta(b).name)));
  }

  /** Every stored object in a namespace (any resource). */
  inNamespace(namespace: string): { group: string; resource: string; object: Json }[] {
    const out: { group: string; resource: string; object: Json }[] = [];
    for (const [k, o] of this.objects) {
      const [group, resource, ns] = k.split('|') as [string, string, string];
      if (ns === namespace) out.push({ group, resource, object: structuredClone(o) });
    }
    return out;
  }

  all(): { group: string; resource: string; object: Json }[] {
    return [...this.objects.entries()].map(([k, o]) => {
      const [group, resource] = k.split('|') as [string, string];
      return { group, resource, object: o };
    });
  }

  /** Write (create or update); bumps resourceVersion and notifies watchers. Returns the stored copy. */
  put(t: Pick<ResourceType, 'group' | 'resource'>, obj: Json): Json {
    const m = meta(obj);
    const ns = String(m.namespace ?? '');
    const key = Store.key(t.group, t.resource, ns, String(m.name));
    const existed = this.objects.has(key);
    this.rv += 1;
    m.resourceVersion = String(this.rv);
    const stored = structuredClone(obj);
    this.objects.set(key, stored);
    this.record({ type: existed ? 'MODIFIED' : 'ADDED', rv: this.rv, group: t.group, resource: t.resource, namespace: ns, object: structuredClone(stored) });
    return structuredClone(stored);
  }

  remove(t: Pick<ResourceType, 'group' | 'resource'>, namespace: string, name: string): Json | undefined {
    const key = Store.key(t.group, t.resource, namespace, name);
    const o = this.objects.get(key);
    if (!o) return undefined;
    this.objects.delete(key);
    this.rv += 1;
    const last = structuredClone(o);
    meta(last).resourceVersion = String(this.rv);
    this.record({ type: 'DELETED', rv: this.rv, group: t.group, resource: t.resource, namespace, object: last });
    return structuredClone(last);
  }

  private record(ev: WatchEvent): void {
    this.history.push(ev);
    if (this.history.length > 5000) this.history.splice(0, this.history.length - 5000);
    this.changes.emit('event', ev);
  }

  /** Events after `rv` for a resource (undefined when rv is older than the history: 410 Gone). */
  since(rv: number, group: string, resource: string): WatchEvent[] | undefined {
    if (rv < this.oldest - 1 && this.history.length >= 5000) return undefined;
    return this.history.filter((e) => e.rv > rv && e.group === group && e.resource === resource);
  }
}
