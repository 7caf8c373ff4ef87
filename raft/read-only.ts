// ReadIndex bookkeeping on the leader. A read request is recorded with the commit index at the time it
// arrived; the leader then sends a heartbeat carrying the request's context, and once a majority of voters
// echo that context back, the leader knows it was still leader when the request arrived, so the recorded
// index is safe to read at. Requests are answered in arrival order: an acknowledged context also confirms
// every request queued before it.
import type { NodeId } from './types';

export interface ReadRequest {
  /** The node that asked (the leader itself for local requests). */
  from: NodeId;
  context: Uint8Array;
}

export interface ReadIndexStatus {
  request: ReadRequest;
  /** The leader's commit index when the request arrived. */
  index: number;
  /** Voters (including the leader) that acknowledged a heartbeat carrying this context. */
  acks: Set<NodeId>;
}

function keyOf(context: Uint8Array): string {
  return Buffer.from(context.buffer, context.byteOffset, context.byteLength).toString('hex');
}

export class ReadOnly {
  private readonly pending = new Map<string, ReadIndexStatus>();
  /** Keys of pending requests in arrival order. */
  private queue: string[] = [];

  /** Records a request; a context already pending is not recorded twice. */
  addRequest(index: number, request: ReadRequest): void {
    const key = keyOf(request.context);
    if (this.pending.has(key)) return;
    this.pending.set(key, { request, index, acks: new Set() });
    this.queue.push(key);
  }

  /** Records an acknowledgement of a heartbeat with this context; returns who acknowledged so far. */
  recvAck(id: NodeId, context: Uint8Array): ReadonlySet<NodeId> | undefined {
    const status = this.pending.get(keyOf(context));
    if (!status) return undefined;
    status.acks.add(id);
    return status.acks;
  }

  /** Removes and returns every request up to and including the one with this context. */
  advance(context: Uint8Array): ReadIndexStatus[] {
    const key = keyOf(context);
    const at = this.queue.indexOf(key);
    if (at < 0) return [];
    const done = this.queue.slice(0, at + 1).map((k) => this.pending.get(k)!);
    for (const k of this.queue.slice(0, at + 1)) this.pending.delete(k);
    this.queue = this.queue.slice(at + 1);
    return done;
  }

  /** The context of the newest pending request, carried by every heartbeat so acks confirm all of them. */
  lastPendingContext(): Uint8Array | undefined {
    const key = this.queue[this.queue.length - 1];
    return key === undefined ? undefined : this.pending.get(key)!.request.context;
  }

  size(): number {
    return this.queue.length;
  }
}
