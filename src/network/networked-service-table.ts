// The networked services a worker must know, as one table on the leader and on every worker: per
// service with a VIP, its attachments (network, VIP, aliases), VIP ports and backends
// (network-directory.ts computes each entry), plus the IDs of the networks that exist. The leader's
// StoreEndpointSource keeps one current from its store for the dispatcher's Endpoints streams; a
// worker's DispatcherEndpointFeed keeps one from that stream and feeds its executor's directory.
import type { Logger } from 'pino';
import { type EndpointSubscription, EndpointTable } from '../mesh/endpoint-table';
import type { NetworkedService, StaticNetworkDirectory } from './network-directory';

export class NetworkedServiceTable extends EndpointTable<NetworkedService> {
  private ids: readonly string[] | undefined;

  /** The IDs of the networks that exist, sorted; undefined until a source said. */
  get networkIds(): readonly string[] | undefined {
    return this.ids;
  }

  /**
   * Sets the networks that exist; listeners hear an empty change when the set changed (they read
   * `networkIds`). Returns whether it changed.
   */
  setNetworks(ids: Iterable<string> | undefined, index?: number): boolean {
    const next = ids === undefined ? undefined : [...new Set(ids)].sort();
    this.apply([], [], index);
    if (JSON.stringify(next) === JSON.stringify(this.ids)) return false;
    this.ids = next;
    this.emit({ complete: false, updated: [], removed: [], index: this.index });
    return true;
  }

  /**
   * Keeps `directory` equal to this table (services and networks) until the subscription closes.
   * Sets it once at once, then after every change.
   */
  feed(directory: StaticNetworkDirectory, logger?: Logger): EndpointSubscription {
    return this.subscribe(() => {
      directory.set(this.list(), this.ids);
      logger?.debug({ services: this.size, networks: this.ids?.length }, 'network directory fed');
    });
  }
}
