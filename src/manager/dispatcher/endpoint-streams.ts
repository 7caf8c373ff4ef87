// The open Endpoints streams, one per node with a session: each is a subscription to the leader's
// endpoint table (computed from its store by a StoreEndpointSource) that writes the complete table
// when the stream opens, then every change as it is applied — within one turn of the event loop
// after the commit that caused it, so a worker's mesh converges well within a heartbeat. Large sets
// are split into messages of a bounded number of backends.
import type * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { EndpointsMessage } from '../../api/gen/types/orch/dispatcher/EndpointsMessage';
import type { EndpointsRequest__Output } from '../../api/gen/types/orch/dispatcher/EndpointsRequest';
import type { EndpointChange, EndpointSubscription, EndpointTable } from '../../mesh/endpoint-table';
import { serviceEndpointsToWire } from '../../mesh/endpoint-wire';

export type EndpointsCall = grpc.ServerWritableStream<EndpointsRequest__Output, EndpointsMessage>;

/** Backends (plus one per service) per message: ~100 bytes each keeps a message near 1 MiB at most. */
export const ENDPOINTS_MESSAGE_BUDGET = 10_000;

interface EndpointsStream {
  readonly call: EndpointsCall;
  readonly subscription: EndpointSubscription;
}

/** One change as messages: services in order, split when the budget is reached; `more` on all but the last. */
export function endpointsMessages(
  change: EndpointChange,
  budget = ENDPOINTS_MESSAGE_BUDGET,
): EndpointsMessage[] {
  const messages: EndpointsMessage[] = [];
  let current: EndpointsMessage = {
    complete: change.complete,
    services: [],
    removedServiceIds: [...change.removed],
    appliedIndex: change.index,
  };
  let weight = change.removed.length;
  for (const entry of change.updated) {
    const entryWeight = 1 + entry.backends.length;
    if (weight > 0 && weight + entryWeight > budget) {
      messages.push({ ...current, more: true });
      current = {
        complete: change.complete,
        services: [],
        removedServiceIds: [],
        appliedIndex: change.index,
      };
      weight = 0;
    }
    current.services!.push(serviceEndpointsToWire(entry));
    weight += entryWeight;
  }
  messages.push({ ...current, more: false });
  return messages;
}

export class EndpointStreams {
  private readonly byNode = new Map<string, EndpointsStream>();

  constructor(
    private readonly table: EndpointTable,
    private readonly logger: Logger,
  ) {}

  get size(): number {
    return this.byNode.size;
  }

  /** Opens `nodeId`'s stream on `call` (complete table first); returns the call it replaced. */
  open(nodeId: string, call: EndpointsCall): EndpointsCall | undefined {
    const previous = this.byNode.get(nodeId);
    previous?.subscription.close();
    const subscription = this.table.subscribe((change) => {
      if (call.cancelled || !call.writable) return;
      for (const message of endpointsMessages(change)) call.write(message);
    });
    this.byNode.set(nodeId, { call, subscription });
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
    stream.subscription.close();
    this.byNode.delete(nodeId);
  }

  /** Forgets every stream (the dispatcher stopped; it ends the calls). */
  close(): void {
    for (const stream of this.byNode.values()) stream.subscription.close();
    this.byNode.clear();
  }
}
