// Keeps an EndpointTable current from a store replica (every manager has one, followers too): it
// watches services, tasks and nodes, marks the services a change touches, and recomputes exactly
// those once the entries applied in one turn of the event loop are all in. A restored snapshot
// recomputes everything. It only reads the store.
//
// Given a NetworkedServiceTable it keeps that current too, from the same events and the same dirty
// set (the leader's dispatcher streams both to the workers): per service with a VIP its attachments,
// VIP ports and backends (src/network/network-directory.ts), and the IDs of the networks.
import type { Logger } from 'pino';
import {
  type NetworkedService,
  networkDirectoryFromStore,
  networkedServiceFromStore,
} from '../network/network-directory';
import type { NetworkedServiceTable } from '../network/networked-service-table';
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
  /** False: leave `table` alone (another source keeps it); only `networked` is kept. Default true. */
  ingress?: boolean;
  /** Also keep this table of networked services current. */
  networked?: NetworkedServiceTable;
}

export class StoreEndpointSource {
  readonly table: EndpointTable;
  readonly networked: NetworkedServiceTable | undefined;
  private readonly ingress: boolean;
  private readonly store: MemoryStore;
  private readonly logger: Logger;
  private readonly dirty = new Set<string>();
  private everything = false;
  private networksChanged = false;
  private flushScheduled = false;
  private subscription: { close(): void } | undefined;

  constructor(options: StoreEndpointSourceOptions) {
    this.store = options.store;
    this.logger = options.logger.child({ module: 'mesh-endpoints' });
    this.table = options.table ?? new EndpointTable();
    this.ingress = options.ingress ?? true;
    this.networked = options.networked;
  }

  /** Loads the table from the store and follows its changes until close(). */
  start(): void {
    if (this.subscription) return;
    // Subscribing and reading happen in one synchronous turn: no entry applies in between.
    this.subscription = this.store.subscribe((event) => this.onEvent(event), {
      tables: this.networked ? ['services', 'tasks', 'nodes', 'networks'] : ['services', 'tasks', 'nodes'],
      commits: true,
    });
    this.loadAll();
    this.logger.debug(
      { services: this.table.size, networkedServices: this.networked?.size },
      'endpoint table loaded from the store',
    );
  }

  close(): void {
    this.subscription?.close();
    this.subscription = undefined;
    this.dirty.clear();
    this.everything = false;
    this.networksChanged = false;
  }

  private onEvent(event: StoreEventOf<'services' | 'tasks' | 'nodes' | 'networks'>): void {
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
        if (moved) this.markEveryEntry();
        return;
      }
      case 'networks':
        // A network created, changed or removed: the set of networks, and the names in attachments.
        this.networksChanged = true;
        for (const entry of this.networked?.list() ?? []) this.dirty.add(entry.serviceId);
        return;
    }
  }

  private markEveryEntry(): void {
    if (this.ingress) for (const entry of this.table.list()) this.dirty.add(entry.serviceId);
    for (const entry of this.networked?.list() ?? []) this.dirty.add(entry.serviceId);
  }

  /** Both tables from one view of the store. */
  private loadAll(): void {
    const index = this.store.appliedIndex;
    this.store.view((tx) => {
      if (this.ingress) this.table.reset(endpointTableFromStore(tx).values(), index);
      if (this.networked) {
        this.networked.reset(networkDirectoryFromStore(tx).values(), index);
        this.networked.setNetworks(
          tx.networks.list().map((n) => n.meta!.id),
          index,
        );
      }
    });
  }

  private scheduleFlush(): void {
    if (this.flushScheduled || (!this.everything && !this.networksChanged && this.dirty.size === 0)) return;
    this.flushScheduled = true;
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.flushScheduled = false;
    if (!this.subscription) return;
    const index = this.store.appliedIndex;
    if (this.everything) {
      this.everything = false;
      this.networksChanged = false;
      this.dirty.clear();
      this.loadAll();
      return;
    }
    const ids = [...this.dirty];
    const networksChanged = this.networksChanged;
    this.dirty.clear();
    this.networksChanged = false;
    this.store.view((tx) => {
      if (this.ingress) {
        const updated: ServiceEndpoints[] = [];
        const removed: string[] = [];
        for (const id of ids) {
          const entry = serviceEndpointsFromStore(tx, id);
          if (entry) updated.push(entry);
          else removed.push(id);
        }
        this.table.apply(updated, removed, index);
      }
      const networked = this.networked;
      if (networked) {
        const updated: NetworkedService[] = [];
        const removed: string[] = [];
        for (const id of ids) {
          const entry = networkedServiceFromStore(tx, id);
          if (entry) updated.push(entry);
          else removed.push(id);
        }
        networked.apply(updated, removed, index);
        if (networksChanged)
          networked.setNetworks(
            tx.networks.list().map((n) => n.meta!.id),
            index,
          );
      }
    });
  }
}
