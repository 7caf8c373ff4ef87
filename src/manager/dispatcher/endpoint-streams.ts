// The open Endpoints streams, one per node with a session: each is a subscription to the leader's
// endpoint table (computed from its store by a StoreEndpointSource) that writes the complete table
// when the stream opens, then every change as it is applied — within one turn of the event loop
// after the commit that caused it, so a worker's mesh converges well within a heartbeat. Large sets
// are split into messages of a bounded number of backends.
//
// With a table of networked services (VIPs, aliases, VIP ports, backends: docs/networking.md) the
// same stream carries it: the complete set holds both tables (and the network IDs) in one set of
// messages, then each table's changes go out as they are applied.
import type * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { EndpointsMessage } from '../../api/gen/types/orch/dispatcher/EndpointsMessage';
import type { EndpointsRequest__Output } from '../../api/gen/types/orch/dispatcher/EndpointsRequest';
import type { EndpointChange, EndpointSubscription, EndpointTable } from '../../mesh/endpoint-table';
import { serviceEndpointsToWire } from '../../mesh/endpoint-wire';
import type { NetworkedService } from '../../network/network-directory';
import type { NetworkedServiceTable } from '../../network/networked-service-table';
import { networkedServiceToWire } from '../../network/networked-service-wire';

export type EndpointsCall = grpc.ServerWritableStream<EndpointsRequest__Output, EndpointsMessage>;

/** Backends (plus one per service) per message: ~100 bytes each keeps a message near 1 MiB at most. */
export const ENDPOINTS_MESSAGE_BUDGET = 10_000;

interface EndpointsStream {
  readonly call: EndpointsCall;
  readonly subscriptions: EndpointSubscription[];
}

/** What changed in the networked services (the second table the stream carries). */
export interface NetworkedChange {
  updated: readonly NetworkedService[];
  removed: readonly string[];
  /** The networks that exist now; undefined: unchanged (or unknown). */
  networkIds?: readonly string[];
}

/**
 * One change as messages: ingress services, then networked services, in order, split when the
 * budget is reached; removals and the network IDs ride in the first message, `more` is on all but
 * the last. With `change.complete`, `networked` is the whole set of networked services too.
 */
export function endpointsMessages(
  change: EndpointChange,
  budget = ENDPOINTS_MESSAGE_BUDGET,
  networked?: NetworkedChange,
): EndpointsMessage[] {
  const messages: EndpointsMessage[] = [];
  const empty = (): EndpointsMessage => ({
    complete: change.complete,
    services: [],
    removedServiceIds: [],
    networkedServices: [],
    removedNetworkedServiceIds: [],
    appliedIndex: change.index,
  });
  let current: EndpointsMessage = {
    ...empty(),
    removedServiceIds: [...change.removed],
    removedNetworkedServiceIds: [...(networked?.removed ?? [])],
  };
  if (networked?.networkIds !== undefined) current.networks = { ids: [...networked.networkIds] };
  let weight = change.removed.length + (networked?.removed.length ?? 0);
  const add = (entryWeight: number, push: (message: EndpointsMessage) => void) => {
    if (weight > 0 && weight + entryWeight > budget) {
      messages.push({ ...current, more: true });
      current = empty();
      weight = 0;
    }
    push(current);
    weight += entryWeight;
  };
  for (const entry of change.updated)
    add(1 + entry.backends.length, (m) => m.services!.push(serviceEndpointsToWire(entry)));
  for (const entry of networked?.updated ?? [])
    add(1 + entry.backends.length, (m) => m.networkedServices!.push(networkedServiceToWire(entry)));
  messages.push({ ...current, more: false });
  return messages;
}

export class EndpointStreams {
  private readonly byNode = new Map<string, EndpointsStream>();

  constructor(
    private readonly table: EndpointTable,
    private readonly logger: Logger,
    private readonly networked?: NetworkedServiceTable,
  ) {}

  get size(): number {
    return this.byNode.size;
  }

  /** Opens `nodeId`'s stream on `call` (complete table first); returns the call it replaced. */
  open(nodeId: string, call: EndpointsCall): EndpointsCall | undefined {
    const previous = this.byNode.get(nodeId);
    for (const subscription of previous?.subscriptions ?? []) subscription.close();
    const write = (messages: EndpointsMessage[]) => {
      if (call.cancelled || !call.writable) return;
      for (const message of messages) call.write(message);
    };
    // Both subscriptions answer with their complete table at once (synchronously, so no change
    // comes in between): those become the stream's one complete set, written after both.
    let complete: EndpointChange | undefined;
    const networked = this.networked;
    let networkedComplete: NetworkedChange | undefined;
    const subscriptions = [
      this.table.subscribe((change) => {
        if (change.complete) complete = change;
        else write(endpointsMessages(change));
      }),
    ];
    if (networked) {
      subscriptions.push(
        networked.subscribe((change) => {
          const networkIds = networked.networkIds;
          if (change.complete) networkedComplete = { ...change, networkIds };
          else
            write(
              endpointsMessages(
                { complete: false, updated: [], removed: [], index: change.index },
                ENDPOINTS_MESSAGE_BUDGET,
                { ...change, networkIds },
              ),
            );
        }),
      );
    }
    if (complete) {
      const index = Math.max(complete.index, networked?.index ?? 0);
      write(
        endpointsMessages(
          { ...complete, index },
          ENDPOINTS_MESSAGE_BUDGET,
          networkedComplete ?? (networked ? { updated: [], removed: [] } : undefined),
        ),
      );
    }
    this.byNode.set(nodeId, { call, subscriptions });
    const detach = () => this.detach(nodeId, call);
    call.on('cancelled', detach);
    call.on('error', detach);
    this.logger.debug({ node: nodeId, services: this.table.size }, 'endpoints stream opened');
    return previous?.call;
  }

  callOf(nodeId: string): EndpointsCall | undefined {
    return this.byNode.get(nodeId)?.call;
  }

  /** Forgets the node's stream (only if it is still `call`, when given). */
  detach(nodeId: string, call?: EndpointsCall): void {
    const stream = this.byNode.get(nodeId);
    if (stream === undefined || (call !== undefined && stream.call !== call)) return;
    for (const subscription of stream.subscriptions) subscription.close();
    this.byNode.delete(nodeId);
  }

  /** Forgets every stream (the dispatcher stopped; it ends the calls). */
  close(): void {
    for (const stream of this.byNode.values())
      for (const subscription of stream.subscriptions) subscription.close();
    this.byNode.clear();
  }
}
