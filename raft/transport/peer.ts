// One remote Raft peer as seen by the transport: a long-lived client stream carrying batches of
// messages, a bounded queue in front of it, reconnection with back-off, and at most one snapshot
// stream at a time. A peer never blocks its caller: when the queue is full or the link is down,
// messages are dropped and the peer is reported unreachable (Raft tolerates loss; the leader
// falls back to probing).
import type * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { RaftClient } from '../../src/api/gen/types/orch/raft/Raft';
import type { Message, NodeId } from '../types';
import { Backoff, type BackoffOptions } from './backoff';
import { approximateSize } from './codec';
import { sendSnapshot } from './snapshot-sender';

export interface PeerOptions {
  id: NodeId;
  address: string;
  createClient: (address: string) => RaftClient;
  /** Sent when a stream opens, so a peer that does not know this member yet learns how to answer. */
  streamMetadata: () => grpc.Metadata;
  logger: Logger;
  /** Messages waiting for the stream; more are dropped. */
  maxQueuedMessages: number;
  /** A batch is cut once it holds this many (approximate) bytes. */
  maxBatchBytes: number;
  snapshotChunkBytes: number;
  backoff: BackoffOptions;
  onUnreachable: (id: NodeId) => void;
  onSnapshotStatus: (id: NodeId, status: 'finish' | 'failure') => void;
}

type LinkState = 'connecting' | 'ready' | 'backoff' | 'closed';

export class Peer {
  private client: RaftClient;
  private call: grpc.ClientWritableStream<unknown> | undefined;
  private state: LinkState = 'connecting';
  private readonly queue: Message[] = [];
  private flushScheduled = false;
  private waitingForDrain = false;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private readonly backoff: Backoff;
  private snapshotInFlight: AbortController | undefined;
  /** Counters for observability and tests. */
  readonly stats = { sentMessages: 0, sentBatches: 0, droppedMessages: 0, reconnects: 0 };

  constructor(private readonly options: PeerOptions) {
    this.backoff = new Backoff(options.backoff);
    this.client = options.createClient(options.address);
    this.openStream();
  }

  get id(): NodeId {
    return this.options.id;
  }

  get address(): string {
    return this.options.address;
  }

  get connected(): boolean {
    return this.state === 'ready';
  }

  /** Queues a message for the stream (a snapshot goes to its own stream). Never blocks. */
  send(m: Message): void {
    if (this.state === 'closed') return;
    if (m.snapshot !== undefined) {
      this.startSnapshot(m);
      return;
    }
    if (this.state === 'backoff' || this.queue.length >= this.options.maxQueuedMessages) {
      this.drop(1);
      return;
    }
    this.queue.push(m);
    this.scheduleFlush();
  }

  /** Closes the stream, any snapshot stream and the channel; queued messages are discarded. */
  close(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    clearTimeout(this.reconnectTimer);
    this.queue.length = 0;
    this.snapshotInFlight?.abort();
    this.call?.cancel();
    this.call = undefined;
    this.client.close();
  }

  private openStream(): void {
    const log = this.options.logger;
    const call = this.client.stream(this.options.streamMetadata(), (err) => {
      if (this.call !== call || this.state === 'closed') return;
      this.call = undefined;
      log.debug({ peer: this.id, err: err?.message }, 'raft stream to peer ended');
      this.enterBackoff();
      // The link is down (e.g. the peer's process died and its connection was reset): say so now,
      // not only when a message is dropped. A follower learns this way that its leader is gone
      // without waiting a whole election timeout for the heartbeats to stop.
      this.options.onUnreachable(this.id);
    });
    this.call = call as grpc.ClientWritableStream<unknown>;
    this.state = 'connecting';
    this.waitingForDrain = false;
    // The server sends headers as soon as it accepts the stream: the link is up.
    call.on('metadata', () => {
      if (this.call !== call || this.state === 'closed') return;
      this.state = 'ready';
      this.backoff.reset();
      log.debug({ peer: this.id }, 'raft stream to peer ready');
    });
    call.on('drain', () => {
      if (this.call !== call) return;
      this.waitingForDrain = false;
      this.scheduleFlush();
    });
    call.on('error', () => {
      // Reported through the callback above.
    });
    this.scheduleFlush();
  }

  private enterBackoff(): void {
    this.state = 'backoff';
    if (this.queue.length > 0) this.drop(this.queue.splice(0).length);
    const delayMs = this.options.backoff.initialMs === 0 ? 0 : this.backoff.nextDelayMs();
    this.reconnectTimer = setTimeout(() => {
      if (this.state !== 'backoff') return;
      this.stats.reconnects++;
      this.openStream();
    }, delayMs);
    this.reconnectTimer.unref();
  }

  private drop(count: number): void {
    this.stats.droppedMessages += count;
    this.options.onUnreachable(this.id);
  }

  private scheduleFlush(): void {
    if (this.flushScheduled || this.waitingForDrain || this.queue.length === 0) return;
    this.flushScheduled = true;
    // Flushed once the code that is running now is done: every message it produces (a Ready's, which
    // the runtime hands over in one send()) joins one batch. Not setImmediate: a Ready is handled in
    // the check phase, so an immediate would wait for a whole event-loop turn (timers, every pending
    // I/O callback) before the appends leave, on the critical path of every proposal.
    queueMicrotask(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    const call = this.call;
    if (call === undefined || this.state === 'closed' || this.state === 'backoff') return;
    while (this.queue.length > 0 && !this.waitingForDrain) {
      // The stream's serializer (batch-codec) encodes core messages directly.
      let batch: Message[];
      if (approximateBatchBytes(this.queue) <= this.options.maxBatchBytes) {
        batch = this.queue.splice(0);
      } else {
        batch = [];
        let bytes = 0;
        while (this.queue.length > 0 && (batch.length === 0 || bytes < this.options.maxBatchBytes)) {
          const m = this.queue.shift()!;
          bytes += approximateSize(m);
          batch.push(m);
        }
      }
      this.stats.sentBatches++;
      this.stats.sentMessages += batch.length;
      if (!call.write(batch)) this.waitingForDrain = true;
    }
  }

  private startSnapshot(m: Message): void {
    if (this.snapshotInFlight !== undefined) {
      // The core sends one snapshot at a time per follower; a second one means the first is stale.
      this.options.onSnapshotStatus(this.id, 'failure');
      return;
    }
    const controller = new AbortController();
    this.snapshotInFlight = controller;
    sendSnapshot(this.client, m, { chunkBytes: this.options.snapshotChunkBytes, signal: controller.signal })
      .then(
        () => {
          this.options.logger.info({ peer: this.id, index: m.snapshot?.meta.index }, 'snapshot sent to peer');
          if (!controller.signal.aborted) this.options.onSnapshotStatus(this.id, 'finish');
        },
        (err: unknown) => {
          this.options.logger.warn({ peer: this.id, err: (err as Error).message }, 'snapshot to peer failed');
          if (!controller.signal.aborted) this.options.onSnapshotStatus(this.id, 'failure');
        },
      )
      .finally(() => {
        if (this.snapshotInFlight === controller) this.snapshotInFlight = undefined;
      });
  }
}

function approximateBatchBytes(messages: readonly Message[]): number {
  let bytes = 0;
  for (const m of messages) bytes += approximateSize(m);
  return bytes;
}
