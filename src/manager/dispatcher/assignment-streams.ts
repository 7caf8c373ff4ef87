// The open assignments streams, one per node with a session, and how store changes reach them: the
// dispatcher's single store subscription hands task, secret and config events here; they are routed
// by node ID to each stream's NodeAssignments, and the changes of every entry applied in one turn of
// the event loop go out as one message (split if large) per node that has any.
import type * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { AssignmentsRequest__Output } from '../../api/gen/types/orch/dispatcher/AssignmentsRequest';
import type { MemoryStore, ObjectEventOf } from '../../store';
import type { AssignmentsMessage } from './dispatcher-grpc';
import { NodeAssignments, splitAssignments } from './node-assignments';

export type AssignmentsCall = grpc.ServerWritableStream<AssignmentsRequest__Output, AssignmentsMessage>;

interface AssignmentsStream {
  readonly nodeId: string;
  readonly call: AssignmentsCall;
  readonly state: NodeAssignments;
}

export class AssignmentStreams {
  private readonly byNode = new Map<string, AssignmentsStream>();
  private readonly dirty = new Set<AssignmentsStream>();
  private flushScheduled = false;
  private closed = false;

  constructor(
    private readonly store: MemoryStore,
    private readonly logger: Logger,
  ) {}

  get size(): number {
    return this.byNode.size;
  }

  /**
   * Opens `nodeId`'s stream on `call` and sends the COMPLETE set; returns the call it replaced (the
   * caller ends it). From the view to the registration nothing applies (it is synchronous), so every
   * later change reaches the stream through the events.
   */
  open(nodeId: string, call: AssignmentsCall): AssignmentsCall | undefined {
    const previous = this.byNode.get(nodeId);
    if (previous !== undefined) this.dirty.delete(previous);
    const stream: AssignmentsStream = { nodeId, call, state: new NodeAssignments(nodeId) };
    this.byNode.set(nodeId, stream);
    const detach = () => this.detach(nodeId, call);
    call.on('cancelled', detach);
    call.on('error', detach);
    const complete = this.store.view((tx) => stream.state.complete(tx));
    for (const part of splitAssignments(complete)) call.write(part);
    this.logger.debug({ node: nodeId, tasks: stream.state.taskCount }, 'assignments stream opened');
    return previous?.call;
  }

  /** The node's open stream call, if any. */
  callOf(nodeId: string): AssignmentsCall | undefined {
    return this.byNode.get(nodeId)?.call;
  }

  /** Forgets the node's stream (only if it is still `call`, when given). */
  detach(nodeId: string, call?: AssignmentsCall): void {
    const stream = this.byNode.get(nodeId);
    if (stream === undefined || (call !== undefined && stream.call !== call)) return;
    this.byNode.delete(nodeId);
    this.dirty.delete(stream);
  }

  taskChanged(event: ObjectEventOf<'tasks'>): void {
    const id = event.object.meta!.id;
    const nodeId = event.object.nodeId;
    const oldNodeId = event.old?.nodeId ?? '';
    if (nodeId !== '')
      this.route(nodeId, (state) =>
        state.taskChanged(id, event.type === 'delete' ? undefined : event.object),
      );
    // Moved away from a node: that node must drop it.
    if (oldNodeId !== '' && oldNodeId !== nodeId)
      this.route(oldNodeId, (state) => state.taskChanged(id, undefined));
  }

  /** A secret or config changed: resent to the nodes holding it. */
  fileChanged(event: ObjectEventOf<'secrets' | 'configs'>): void {
    if (event.type !== 'update') return;
    for (const stream of this.byNode.values()) {
      if (event.table === 'secrets') stream.state.secretChanged(event.object);
      else stream.state.configChanged(event.object);
      if (stream.state.hasPending) this.dirty.add(stream);
    }
  }

  /** The store was replaced from a snapshot: every stream gets a fresh COMPLETE set. */
  resync(): void {
    this.dirty.clear();
    for (const stream of this.byNode.values()) {
      const complete = this.store.view((tx) => stream.state.complete(tx));
      for (const part of splitAssignments(complete)) stream.call.write(part);
    }
  }

  /** An entry finished applying: send what changed, once the entries of this turn are all in. */
  committed(): void {
    if (this.dirty.size === 0 || this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => this.flush());
  }

  /** Forgets every stream (the dispatcher stopped; it ends the calls). */
  close(): void {
    this.closed = true;
    this.byNode.clear();
    this.dirty.clear();
  }

  private route(nodeId: string, change: (state: NodeAssignments) => void): void {
    const stream = this.byNode.get(nodeId);
    if (stream === undefined) return;
    change(stream.state);
    if (stream.state.hasPending) this.dirty.add(stream);
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.closed || this.dirty.size === 0) return;
    const streams = [...this.dirty];
    this.dirty.clear();
    this.store.view((tx) => {
      for (const stream of streams) {
        if (stream.call.cancelled || this.byNode.get(stream.nodeId) !== stream) continue;
        const message = stream.state.takeChanges(tx);
        if (message) for (const part of splitAssignments(message)) stream.call.write(part);
      }
    });
  }
}
