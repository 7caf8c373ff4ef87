// What an application gives a RaftNode, and what it gets back.
import type * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { NodeId, Role } from '../types';
import type { MemberInfo } from './members';

/** The application's replicated state machine. Called from the ready loop, one call at a time. */
export interface StateMachine {
  /** Applies committed normal entries, in log order. Entries with empty data (leader no-ops) are skipped. */
  apply(entries: readonly AppliedEntry[]): void | Promise<void>;
  /** The state after the last applied entry, for a snapshot. */
  snapshot(): Uint8Array | Promise<Uint8Array>;
  /** Replaces the whole state with a snapshot's (on restart or when the leader sends one). */
  restore(data: Uint8Array): void | Promise<void>;
}

export interface AppliedEntry {
  index: number;
  term: number;
  data: Uint8Array;
}

export interface RaftNodeOptions {
  id: NodeId;
  /** This member's data directory (write-ahead log, snapshots); created when missing. */
  dataDir: string;
  /** host:port the Raft transport listens on (port 0: any). Unused when `server` is given. */
  listen?: string;
  /**
   * An existing gRPC server (e.g. the node's one listener) to serve Raft on instead of binding
   * `listen`: the transport only adds the Raft service to it, and removes it on stop; the owner
   * binds and shuts the server down. `advertiseAddress` is then required.
   */
  server?: grpc.Server;
  /** The address peers reach this member at (default: the bound listen address). */
  advertiseAddress?: string;
  /** Application metadata published with this member's address when it joins (e.g. its HTTP URL). */
  meta?: Record<string, string>;
  /**
   * Members of a brand-new cluster, this one included, when the data directory is empty and `join`
   * is false: every initial member must be started with the same list.
   * Ignored once the data directory holds state.
   */
  initialMembers?: Record<NodeId, string>;
  /** Start empty and wait to be added to an existing cluster (as a learner) by its leader. */
  join?: boolean;
  stateMachine: StateMachine;
  logger?: Logger;
  /** Milliseconds per Raft tick. Default 50. */
  tickMs?: number;
  /** Ticks without a leader's word before an election. Default 10. */
  electionTicks?: number;
  /** Ticks between a leader's heartbeats. Default 1. */
  heartbeatTicks?: number;
  /** Take a snapshot (and compact) after this many applied entries. Default 10,000. */
  snapshotEvery?: number;
  /** Entries kept behind a snapshot so slightly slow followers catch up from the log. Default 5,000. */
  compactionTailEntries?: number;
  /** Largest append message (bytes). Default 1 MiB. */
  maxSizePerMsg?: number;
  /** Append messages in flight per follower. Default 256. */
  maxInflightMsgs?: number;
  /**
   * A leader holds an Append that only carries a new commit index for up to this long, so that the
   * next Append with entries carries it instead (see commit-notices.ts); 0 sends it at once. Default 2.
   */
  commitNoticeDelayMs?: number;
  /** A learner is promoted only when its match index is within this many entries of the leader's last. */
  promoteLagEntries?: number;
  serverCredentials?: grpc.ServerCredentials;
  channelCredentials?: grpc.ChannelCredentials;
  /** Extra options for channels to peers (e.g. `grpc.ssl_target_name_override`). */
  channelOptions?: grpc.ChannelOptions;
  /** Seeded randomness for election timeouts (tests). Default Math.random. */
  random?: () => number;
}

/** What status() reports. */
export interface RaftStatus {
  id: NodeId;
  term: number;
  leader: NodeId;
  role: Role;
  commitIndex: number;
  appliedIndex: number;
  snapshotIndex: number;
  voters: NodeId[];
  learners: NodeId[];
}

/** Emitted as 'leader-change' whenever the known leader or this member's role changes. */
export interface LeaderChange {
  leader: NodeId;
  term: number;
  role: Role;
  leaderInfo: MemberInfo | undefined;
}
