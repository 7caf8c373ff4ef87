// A worker's endpoint table, from the leader's dispatcher: once the node's agent has a session, this
// opens the dispatcher's Endpoints stream on the same manager with the same session ID, applies the
// complete table and then every change to an EndpointTable, and when the stream ends (the session
// ended, the leader changed) waits for the agent's next session and opens it again. Meanwhile the
// table keeps what it last knew, as a node without a manager keeps routing to the tasks it knew.
// The same stream carries the networked services (VIPs, aliases, VIP ports, backends) and the
// network IDs, kept in `networked` the same way: the node feeds its executor's network directory
// from it (NetworkedServiceTable.feed), so names resolve inside a worker's containers.
import type * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { Agent } from '../agent';
import { Backoff, sleep } from '../agent/backoff';
import type { EndpointsMessage__Output } from '../api/gen/types/orch/dispatcher/EndpointsMessage';
import { newDispatcherClient } from '../manager/dispatcher/dispatcher-grpc';
import { type EndpointSubscription, EndpointTable } from '../mesh/endpoint-table';
import { serviceEndpointsFromWire } from '../mesh/endpoint-wire';
import type { ServiceEndpoints } from '../mesh/mesh-endpoints';
import type { NetworkedService, StaticNetworkDirectory } from '../network/network-directory';
import { NetworkedServiceTable } from '../network/networked-service-table';
import { networkedServiceFromWire } from '../network/networked-service-wire';

export interface DispatcherEndpointFeedOptions {
  agent: Pick<Agent, 'status' | 'waitForSession'>;
  credentials: () => grpc.ChannelCredentials;
  channelOptions?: grpc.ChannelOptions;
  logger: Logger;
  table?: EndpointTable;
  networked?: NetworkedServiceTable;
  /** Kept equal to `networked` until close(): the node's NetworkedExecutor's `fed` directory. */
  directory?: StaticNetworkDirectory;
}

/** One set of messages (a complete set or a change), gathered until its last message. */
interface PendingSet {
  complete: boolean;
  updated: ServiceEndpoints[];
  removed: string[];
  networkedUpdated: NetworkedService[];
  networkedRemoved: string[];
  networkIds: string[] | undefined;
}

export class DispatcherEndpointFeed {
  readonly table: EndpointTable;
  readonly networked: NetworkedServiceTable;
  private readonly abort = new AbortController();
  private readonly logger: Logger;
  private loop: Promise<void> | undefined;
  private call: grpc.ClientReadableStream<EndpointsMessage__Output> | undefined;
  private readonly directoryFeed: EndpointSubscription | undefined;

  constructor(private readonly options: DispatcherEndpointFeedOptions) {
    this.table = options.table ?? new EndpointTable();
    this.networked = options.networked ?? new NetworkedServiceTable();
    this.logger = options.logger.child({ module: 'mesh-endpoints' });
    this.directoryFeed = options.directory && this.networked.feed(options.directory, this.logger);
  }

  start(): void {
    this.loop ??= this.run().catch((err: unknown) => {
      if (!this.abort.signal.aborted)
        this.logger.error({ err }, 'endpoint feed stopped on an unexpected error');
    });
  }

  async close(): Promise<void> {
    this.abort.abort();
    this.call?.cancel();
    this.directoryFeed?.close();
    await this.loop;
  }

  private async run(): Promise<void> {
    const signal = this.abort.signal;
    const backoff = new Backoff({ initialMs: 100, maxMs: 2_000 });
    let lastSession = '';
    while (!signal.aborted) {
      await this.options.agent.waitForSession({ signal });
      if (signal.aborted) return;
      const { manager, sessionId } = this.options.agent.status();
      if (manager === undefined || sessionId === undefined || sessionId === lastSession) {
        // No session yet, or the one whose stream just ended: give the agent time to open another.
        await sleep(backoff.next(), signal);
        lastSession = '';
        continue;
      }
      lastSession = sessionId;
      const received = await this.follow(manager, sessionId);
      if (received) backoff.reset();
      if (!signal.aborted) await sleep(backoff.next(), signal);
    }
  }

  private applySet(set: PendingSet, index: number): void {
    if (set.complete) {
      this.table.reset(set.updated, index);
      this.networked.reset(set.networkedUpdated, index);
    } else {
      this.table.apply(set.updated, set.removed, index);
      this.networked.apply(set.networkedUpdated, set.networkedRemoved, index);
    }
    if (set.networkIds !== undefined) this.networked.setNetworks(set.networkIds, index);
  }

  /** Follows one Endpoints stream until it ends; true if it delivered anything. */
  private follow(manager: string, sessionId: string): Promise<boolean> {
    const client = newDispatcherClient(manager, this.options.credentials(), this.options.channelOptions);
    const call = client.endpoints({ sessionId });
    this.call = call;
    let received = false;
    let pending: PendingSet | undefined;
    return new Promise<boolean>((resolve) => {
      const finish = (why: string, err?: Error) => {
        call.removeAllListeners('data');
        call.on('error', () => {});
        call.cancel();
        client.close();
        if (this.call === call) this.call = undefined;
        if (!this.abort.signal.aborted) {
          this.logger.debug({ manager, reason: why, err: err?.message }, 'endpoints stream ended');
        }
        resolve(received);
      };
      call.on('data', (message: EndpointsMessage__Output) => {
        received = true;
        pending ??= {
          complete: message.complete,
          updated: [],
          removed: [],
          networkedUpdated: [],
          networkedRemoved: [],
          networkIds: undefined,
        };
        for (const wire of message.services) pending.updated.push(serviceEndpointsFromWire(wire));
        pending.removed.push(...message.removedServiceIds);
        for (const wire of message.networkedServices)
          pending.networkedUpdated.push(networkedServiceFromWire(wire));
        pending.networkedRemoved.push(...message.removedNetworkedServiceIds);
        if (message.networks) pending.networkIds = message.networks.ids;
        if (message.more) return;
        const set = pending;
        pending = undefined;
        this.applySet(set, message.appliedIndex);
        if (set.complete) {
          this.logger.debug(
            { manager, services: this.table.size, networkedServices: this.networked.size },
            'endpoint table received',
          );
        }
      });
      call.on('error', (err) => finish('error', err));
      call.on('end', () => finish('end'));
    });
  }
}
