// The endpoint table one node knows: per service with ingress-published ports, its ports, drain
// period and backends (mesh-endpoints.ts), and who wants to hear about changes. A source keeps it
// current — the store on a manager (store-endpoint-source.ts), the dispatcher's Endpoints stream on
// a worker — and consumers subscribe: the node's routing mesh, the dispatcher's streams to the
// workers, per-network VIPs. It holds plain data and calls listeners synchronously, in order.
// The same table keyed by service holds other per-service entries too: the networked services
// (VIPs, aliases, backends) the dispatcher streams to workers are an EndpointTable<NetworkedService>.
import type { ServiceEndpoints } from './mesh-endpoints';

/** What every entry of a table has: the service it describes. */
export interface ServiceEntry {
  serviceId: string;
}

/** What changed in the table. */
export interface EndpointChange<E extends ServiceEntry = ServiceEndpoints> {
  /**
   * True for the first change a subscriber receives: `updated` is then the whole table, and
   * anything the subscriber held before is gone.
   */
  complete: boolean;
  /** Services added or changed, each whole. */
  updated: E[];
  /** Services no longer published (removed, or their last ingress port unpublished). */
  removed: string[];
  /** The store index the table reflects (0 when the source does not know it). */
  index: number;
}

export type EndpointListener<E extends ServiceEntry = ServiceEndpoints> = (change: EndpointChange<E>) => void;

export interface EndpointSubscription {
  close(): void;
}

export class EndpointTable<E extends ServiceEntry = ServiceEndpoints> {
  private readonly entries = new Map<string, E>();
  private readonly listeners = new Set<EndpointListener<E>>();
  private appliedIndex = 0;

  get size(): number {
    return this.entries.size;
  }

  /** The store index of the last change applied. */
  get index(): number {
    return this.appliedIndex;
  }

  get(serviceId: string): E | undefined {
    return this.entries.get(serviceId);
  }

  /** Every entry, ordered by service ID. */
  list(): E[] {
    return [...this.entries.values()].sort((a, b) => compare(a.serviceId, b.serviceId));
  }

  /**
   * Calls `listener` at once with the whole table (complete: true), then with every change. The
   * subscription ends with close() or when `signal` aborts.
   */
  subscribe(listener: EndpointListener<E>, options: { signal?: AbortSignal } = {}): EndpointSubscription {
    const subscription = { close: () => this.listeners.delete(listener) };
    if (options.signal?.aborted) return subscription;
    options.signal?.addEventListener('abort', () => subscription.close(), { once: true });
    this.listeners.add(listener);
    listener({ complete: true, updated: this.list(), removed: [], index: this.appliedIndex });
    return subscription;
  }

  /**
   * Sets or replaces entries and removes others; listeners hear only what really changed. Returns
   * that change, or undefined when nothing did.
   */
  apply(
    updated: readonly E[],
    removed: readonly string[],
    index = this.appliedIndex,
  ): EndpointChange<E> | undefined {
    const change: EndpointChange<E> = { complete: false, updated: [], removed: [], index };
    for (const serviceId of removed) {
      if (this.entries.delete(serviceId)) change.removed.push(serviceId);
    }
    for (const entry of updated) {
      if (sameEntry(this.entries.get(entry.serviceId), entry)) continue;
      this.entries.set(entry.serviceId, entry);
      change.updated.push(entry);
      const at = change.removed.indexOf(entry.serviceId);
      if (at >= 0) change.removed.splice(at, 1);
    }
    this.appliedIndex = Math.max(this.appliedIndex, index);
    if (change.updated.length === 0 && change.removed.length === 0) return undefined;
    this.emit(change);
    return change;
  }

  /** Replaces the whole table (a source's complete set): the difference reaches the listeners. */
  reset(entries: Iterable<E>, index = this.appliedIndex): EndpointChange<E> | undefined {
    const next = new Map<string, E>();
    for (const entry of entries) next.set(entry.serviceId, entry);
    const removed = [...this.entries.keys()].filter((id) => !next.has(id));
    return this.apply([...next.values()], removed, index);
  }

  /** Empties the table (the source went away) and tells the listeners. */
  clear(): void {
    this.apply([], [...this.entries.keys()]);
  }

  /** Drops every listener. */
  close(): void {
    this.listeners.clear();
  }

  /** Tells the listeners about `change` (subclasses announce what the entries do not carry). */
  protected emit(change: EndpointChange<E>): void {
    for (const listener of [...this.listeners]) listener(change);
  }
}

/** Entries are normalized by their translation (sorted lists), so equal entries serialize equally. */
function sameEntry<E>(a: E | undefined, b: E | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return JSON.stringify(a) === JSON.stringify(b);
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
