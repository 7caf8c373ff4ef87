// Keeps an EndpointTable current from a store replica (every manager has one, followers too): it
// watches services, tasks and nodes, marks the services a change touches, and recomputes exactly
// those once the entries applied in one turn of the event loop are all in. A restored snapshot
// recomputes everything. It only reads the store.
import type { Logger } from 'pino';
import type { MemoryStore, StoreEventOf } from '../store';
import { EndpointTable } from './endpoint-table';
import {
  endpointTableFromStore,
  nodeMeshAddress,
  type ServiceEndpoints,
  serviceEndpointsFromStore,
} from './mesh-endpoints';

export interface StoreEndpointSourceOptions {
  store: MemoryStore;
  logger: Logger;
  /** The table to keep current (default: a new one). */
  table?: EndpointTable;
}

export class StoreEndpointSource {
  readonly table: EndpointTable;
  private readonly store: MemoryStore;
  private readonly logger: Logger;
  private readonly dirty = new Set<string>();
  private everything = false;
  private flushScheduled = false;
  private subscription: { close(): void } | undefined;

  constructor(options: StoreEndpointSourceOptions) {
    this.store = options.store;
    this.logger = options.logger.child({ module: 'mesh-endpoints' });
    this.table = options.table ?? new EndpointTable();
  }

  /** Loads the table from the store and follows its changes until close(). */
  start(): void {
    if (this.subscription) return;
    // Subscribing and reading happen in one synchronous turn: no entry applies in between.
    this.subscription = this.store.subscribe((event) => this.onEvent(event), {
      tables: ['services', 'tasks', 'nodes'],
      commits: true,
    });
    this.store.view((tx) => this.table.reset(endpointTableFromStore(tx).values(), this.store.appliedIndex));
    this.logger.debug({ services: this.table.size }, 'endpoint table loaded from the store');
  }

  close(): void {
    this.subscription?.close();
    this.subscription = undefined;
    this.dirty.clear();
    this.everything = false;
  }

  private onEvent(event: StoreEventOf<'services' | 'tasks' | 'nodes'>): void {
    switch (event.type) {
      case 'commit':
        this.scheduleFlush();
        return;
      case 'restored':
        this.everything = true;
        this.scheduleFlush();
        return;
    }
    switch (event.table) {
      case 'services':
        this.dirty.add(event.object.meta!.id);
        return;
      case 'tasks':
        this.dirty.add(event.object.serviceId);
        if (event.old && event.old.serviceId !== event.object.serviceId) this.dirty.add(event.old.serviceId);
        return;
      case 'nodes': {
        const before = event.old;
        const after = event.type === 'delete' ? undefined : event.object;
        const moved =
          before === undefined ||
          after === undefined ||
          nodeMeshAddress(before) !== nodeMeshAddress(after) ||
          (before.status?.state === 'NODE_STATE_DOWN') !== (after.status?.state === 'NODE_STATE_DOWN');
        // A node that went down, came back or changed address affects every service with tasks there.
        if (moved) for (const entry of this.table.list()) this.dirty.add(entry.serviceId);
        return;
      }
    }
  }

  private scheduleFlush(): void {
    if (this.flushScheduled || (!this.everything && this.dirty.size === 0)) return;
    this.flushScheduled = true;
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.flushScheduled = false;
    if (!this.subscription) return;
    const index = this.store.appliedIndex;
    if (this.everything) {
      this.everything = false;
      this.dirty.clear();
      this.store.view((tx) => this.table.reset(endpointTableFromStore(tx).values(), index));
      return;
    }
    const ids = [...this.dirty];
    this.dirty.clear();
    this.store.view((tx) => {
      const updated: ServiceEndpoints[] = [];
      const removed: string[] = [];
      for (const id of ids) {
        const entry = serviceEndpointsFromStore(tx, id);
        if (entry) updated.push(entry);
        else removed.push(id);
      }
      this.table.apply(updated, removed, index);
    });
  }
}
