// The Raft transport over gRPC: a server receiving message batches and chunked snapshots from
// peers, and one Peer (long-lived client stream, bounded queue, reconnection) per remote member.
// It knows nothing of the core's state: the runtime tells it who the peers are and hands it the
// messages of each Ready; received messages go to onMessage. TLS is the caller's choice
// (insecure by default, for loopback tests and the example).
// Standalone, the transport owns its gRPC server and binds `listen`. Given an existing server (a
// node's one listener, with its own credentials and authorization), it only adds the Raft service
// to it on start() and removes it on close(): the owner binds and shuts that server down.
import * as grpc from '@grpc/grpc-js';
import pino, { type Logger } from 'pino';
import type { RaftClient } from '../../src/api/gen/types/orch/raft/Raft';
import type { SnapshotAck } from '../../src/api/gen/types/orch/raft/SnapshotAck';
import type { SnapshotChunk__Output } from '../../src/api/gen/types/orch/raft/SnapshotChunk';
import type { StreamAck } from '../../src/api/gen/types/orch/raft/StreamAck';
import { protos } from '../../src/api/grpc';
import type { Message, NodeId } from '../types';
import { type BackoffOptions, DEFAULT_BACKOFF } from './backoff';
import { type DecodedBatch, decodeBatch, encodeBatch } from './batch-codec';
import { TransportListenError } from './errors';
import { Peer } from './peer';
import { SnapshotAssembler } from './snapshot-receiver';

export interface GrpcTransportOptions {
  /** This member's Raft id: messages addressed to anyone else are dropped. */
  id: NodeId;
  /**
   * host:port to listen on; port 0 lets the system pick (see `address` after start()). Unused when
   * `server` is given.
   */
  listen?: string;
  /**
   * An existing gRPC server to add the Raft service to instead of binding one: the transport never
   * binds it nor shuts it down, and its credentials (and interceptors) apply to Raft's calls.
   * `advertiseAddress` is then required.
   */
  server?: grpc.Server;
  /**
   * The address peers reach this member at (default: the bound address). Sent when a stream opens so
   * that a member that does not know this one yet (e.g. one that is joining) can answer it.
   */
  advertiseAddress?: string;
  /** Every message received from a peer, in arrival order per peer. */
  onMessage: (m: Message) => void;
  /** A peer's messages were dropped (queue full or link down), or its stream ended: report it to the core. */
  onUnreachable?: (id: NodeId) => void;
  /** The outcome of a snapshot sent to a peer: report it to the core. */
  onSnapshotStatus?: (id: NodeId, status: 'finish' | 'failure') => void;
  serverCredentials?: grpc.ServerCredentials;
  channelCredentials?: grpc.ChannelCredentials;
  /**
   * Extra options for the channels to peers, e.g. `grpc.ssl_target_name_override` when peers are
   * dialled by IP but their certificates name a role (see NODE_CHANNEL_OPTIONS).
   */
  channelOptions?: grpc.ChannelOptions;
  logger?: Logger;
  maxQueuedMessagesPerPeer?: number;
  maxBatchBytes?: number;
  snapshotChunkBytes?: number;
  maxSnapshotBytes?: number;
  backoff?: BackoffOptions;
}

const FROM_ID_HEADER = 'raft-from-id';
const FROM_ADDRESS_HEADER = 'raft-from-address';
const MAX_WIRE_MESSAGE_BYTES = 64 * 1024 * 1024;

const CHANNEL_OPTIONS: grpc.ChannelOptions = {
  'grpc.max_send_message_length': MAX_WIRE_MESSAGE_BYTES,
  'grpc.max_receive_message_length': MAX_WIRE_MESSAGE_BYTES,
  // A stopped or vanished peer is noticed by keepalive, not only by a full queue.
  'grpc.keepalive_time_ms': 5000,
  'grpc.keepalive_timeout_ms': 3000,
  'grpc.keepalive_permit_without_calls': 1,
  // Reconnection is paced by the peer's own back-off; keep grpc's short.
  'grpc.initial_reconnect_backoff_ms': 50,
  'grpc.max_reconnect_backoff_ms': 1000,
};

let raftService: grpc.ServiceDefinition | undefined;

/**
 * The generated orch.raft.Raft service with the Stream's batches encoded and decoded by batch-codec
 * (the same bytes, straight from and into the core's messages): a client writes Message[], a server
 * reads DecodedBatch. Snapshots keep the generated codec.
 */
function raftServiceDefinition(): grpc.ServiceDefinition {
  if (raftService === undefined) {
    const generated = protos().orch.raft.Raft.service;
    raftService = {
      ...generated,
      Stream: {
        ...generated.Stream!,
        requestSerialize: (messages: readonly Message[]) => encodeBatch(messages),
        requestDeserialize: (bytes: Buffer) => decodeBatch(bytes),
      },
    };
  }
  return raftService;
}

const SERVER_OPTIONS: grpc.ChannelOptions = {
  'grpc.max_receive_message_length': MAX_WIRE_MESSAGE_BYTES,
  'grpc.max_send_message_length': MAX_WIRE_MESSAGE_BYTES,
  'grpc.keepalive_permit_without_calls': 1,
  'grpc.http2.min_ping_interval_without_data_ms': 1000,
};

export class GrpcTransport {
  private readonly server: grpc.Server;
  /** Whether this transport created (binds, shuts down) its server. */
  private readonly ownsServer: boolean;
  private readonly handlers: grpc.UntypedServiceImplementation;
  /** Inbound streams in progress: ended on close() when the server is shared and stays up. */
  private readonly inbound = new Set<() => void>();
  private readonly channelOptions: grpc.ChannelOptions;
  private readonly peers = new Map<NodeId, Peer>();
  /** Removed peers: never re-learned from stream metadata until added again explicitly. */
  private readonly removed = new Set<NodeId>();
  private readonly logger: Logger;
  private boundAddress: string | undefined;
  private closed = false;

  constructor(private readonly options: GrpcTransportOptions) {
    this.logger = (options.logger ?? pino({ level: 'silent' })).child({
      module: 'raft-transport',
      node: options.id,
    });
    this.channelOptions = { ...CHANNEL_OPTIONS, ...options.channelOptions };
    this.handlers = {
      Stream: (
        call: grpc.ServerReadableStream<DecodedBatch, StreamAck>,
        callback: grpc.sendUnaryData<StreamAck>,
      ) => this.handleStream(call, callback),
      SendSnapshot: (
        call: grpc.ServerReadableStream<SnapshotChunk__Output, SnapshotAck>,
        callback: grpc.sendUnaryData<SnapshotAck>,
      ) => this.handleSnapshot(call, callback),
    };
    if (options.server) {
      if (!options.advertiseAddress) {
        throw new TypeError('GrpcTransport: advertiseAddress is required with a shared server');
      }
      this.server = options.server;
      this.ownsServer = false;
    } else {
      if (options.listen === undefined) {
        throw new TypeError('GrpcTransport: either listen or server is required');
      }
      this.server = new grpc.Server(SERVER_OPTIONS);
      this.ownsServer = true;
      this.server.addService(raftServiceDefinition(), this.handlers);
    }
  }

  /**
   * Binds the listening address, or adds the Raft service to the shared server. Resolves with the
   * bound host:port (the advertised address with a shared server).
   */
  async start(): Promise<string> {
    if (!this.ownsServer) {
      this.server.addService(raftServiceDefinition(), this.handlers);
      this.boundAddress = this.options.advertiseAddress!;
      this.logger.info({ address: this.boundAddress }, 'raft service added to the shared server');
      return this.boundAddress;
    }
    const listen = this.options.listen!;
    const credentials = this.options.serverCredentials ?? grpc.ServerCredentials.createInsecure();
    const port = await new Promise<number>((resolve, reject) => {
      this.server.bindAsync(listen, credentials, (err, boundPort) => {
        if (err) reject(new TransportListenError(listen, { cause: err }));
        else resolve(boundPort);
      });
    });
    const host = listen.slice(0, listen.lastIndexOf(':'));
    this.boundAddress = `${host}:${port}`;
    this.logger.info({ address: this.boundAddress }, 'raft transport listening');
    return this.boundAddress;
  }

  /** The bound host:port (after start()). */
  get address(): string | undefined {
    return this.boundAddress;
  }

  /** Adds a peer, or moves it to a new address. Idempotent. */
  addPeer(id: NodeId, address: string): void {
    if (this.closed || id === this.options.id) return;
    this.removed.delete(id);
    const existing = this.peers.get(id);
    if (existing?.address === address) return;
    existing?.close();
    const credentials = this.options.channelCredentials ?? grpc.credentials.createInsecure();
    const RaftService = grpc.makeGenericClientConstructor(raftServiceDefinition(), 'Raft');
    this.peers.set(
      id,
      new Peer({
        id,
        address,
        createClient: (addr) =>
          new RaftService(addr, credentials, this.channelOptions) as unknown as RaftClient,
        streamMetadata: () => this.streamMetadata(),
        logger: this.logger,
        maxQueuedMessages: this.options.maxQueuedMessagesPerPeer ?? 4096,
        maxBatchBytes: this.options.maxBatchBytes ?? 4 * 1024 * 1024,
        snapshotChunkBytes: this.options.snapshotChunkBytes ?? 1024 * 1024,
        backoff: this.options.backoff ?? DEFAULT_BACKOFF,
        onUnreachable: (peer) => this.options.onUnreachable?.(peer),
        onSnapshotStatus: (peer, status) => this.options.onSnapshotStatus?.(peer, status),
      }),
    );
    this.logger.info({ peer: id, address }, 'raft peer added');
  }

  removePeer(id: NodeId): void {
    this.removed.add(id);
    const peer = this.peers.get(id);
    if (peer === undefined) return;
    peer.close();
    this.peers.delete(id);
    this.logger.info({ peer: id }, 'raft peer removed');
  }

  hasPeer(id: NodeId): boolean {
    return this.peers.has(id);
  }

  peerAddress(id: NodeId): string | undefined {
    return this.peers.get(id)?.address;
  }

  /** Per-peer counters (sent, batches, dropped, reconnects). */
  peerStats(id: NodeId): Peer['stats'] | undefined {
    return this.peers.get(id)?.stats;
  }

  /** Hands messages to their peers' queues. Never blocks; unknown recipients are reported unreachable. */
  send(messages: readonly Message[]): void {
    if (this.closed) return;
    for (const m of messages) {
      const peer = this.peers.get(m.to);
      if (peer === undefined) {
        this.logger.debug({ peer: m.to, type: m.type }, 'no address for raft peer; message dropped');
        if (m.snapshot !== undefined) this.options.onSnapshotStatus?.(m.to, 'failure');
        else this.options.onUnreachable?.(m.to);
        continue;
      }
      peer.send(m);
    }
  }

  /**
   * Stops every peer stream and the server; in-flight calls are cancelled. A shared server only
   * loses the Raft service (and this transport's inbound streams end); it keeps serving the rest.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const peer of this.peers.values()) peer.close();
    this.peers.clear();
    if (!this.ownsServer) {
      this.server.removeService(raftServiceDefinition());
      for (const end of [...this.inbound]) end();
      this.inbound.clear();
      return;
    }
    await new Promise<void>((resolve) => {
      this.server.tryShutdown(() => resolve());
      // Peers' streams never end on their own: do not wait for them.
      setImmediate(() => this.server.forceShutdown());
    });
  }

  private handleStream(
    call: grpc.ServerReadableStream<DecodedBatch, StreamAck>,
    callback: grpc.sendUnaryData<StreamAck>,
  ): void {
    if (this.closed) {
      callback({ code: grpc.status.UNAVAILABLE, details: 'raft transport closed' });
      return;
    }
    call.sendMetadata(new grpc.Metadata());
    this.learnPeer(call.metadata);
    let ended = false;
    const end = (err: Partial<grpc.StatusObject> | null): void => {
      if (ended) return;
      ended = true;
      this.inbound.delete(endClosed);
      if (err) callback(err);
      else callback(null, {});
    };
    const endClosed = (): void => end({ code: grpc.status.UNAVAILABLE, details: 'raft transport closed' });
    this.inbound.add(endClosed);
    call.on('data', (batch: DecodedBatch) => {
      if (this.closed) return;
      for (const { from, type } of batch.undecodable) {
        this.logger.warn({ from, type }, 'raft message of an unknown type dropped');
      }
      for (const m of batch.messages) {
        if (m.to !== this.options.id) {
          this.logger.warn({ from: m.from, to: m.to }, 'raft message for another member dropped');
          continue;
        }
        this.options.onMessage(m);
      }
    });
    call.on('end', () => end(null));
    call.on('error', () => {
      // The peer went away; it reconnects with a new stream.
      ended = true;
      this.inbound.delete(endClosed);
    });
  }

  private streamMetadata(): grpc.Metadata {
    const metadata = new grpc.Metadata();
    metadata.set(FROM_ID_HEADER, this.options.id);
    const address = this.options.advertiseAddress ?? this.boundAddress;
    if (address) metadata.set(FROM_ADDRESS_HEADER, address);
    return metadata;
  }

  /** A stream from a member we have no address for (we are joining, or it just joined): answer it there. */
  private learnPeer(metadata: grpc.Metadata): void {
    const id = metadata.get(FROM_ID_HEADER)[0];
    const address = metadata.get(FROM_ADDRESS_HEADER)[0];
    if (typeof id !== 'string' || typeof address !== 'string' || id === '' || address === '') return;
    if (this.peers.has(id) || this.removed.has(id) || id === this.options.id) return;
    this.logger.info({ peer: id, address }, 'learned raft peer address from its stream');
    this.addPeer(id, address);
  }

  private handleSnapshot(
    call: grpc.ServerReadableStream<SnapshotChunk__Output, SnapshotAck>,
    callback: grpc.sendUnaryData<SnapshotAck>,
  ): void {
    const assembler = new SnapshotAssembler(this.options.maxSnapshotBytes ?? 1024 * 1024 * 1024);
    let done = false;
    call.on('data', (chunk: SnapshotChunk__Output) => {
      if (done) return;
      try {
        const m = assembler.add(chunk);
        if (m === undefined) return;
        done = true;
        if (m.to !== this.options.id || this.closed) {
          callback(null, { accepted: false });
          return;
        }
        this.logger.info({ from: m.from, index: m.snapshot?.meta.index }, 'snapshot received');
        this.options.onMessage(m);
        callback(null, { accepted: true });
      } catch (err) {
        done = true;
        callback({ code: grpc.status.INVALID_ARGUMENT, details: (err as Error).message });
      }
    });
    call.on('end', () => {
      if (!done) callback({ code: grpc.status.INVALID_ARGUMENT, details: 'snapshot stream ended early' });
      done = true;
    });
    call.on('error', () => {
      done = true;
    });
  }
}
