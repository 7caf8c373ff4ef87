// The data the Raft core consumes and produces. Plain objects and numbers: no I/O, no classes with
// behaviour, nothing orch-specific. proto/orch/raft.proto mirrors these for the wire; the transport maps.
//
// Indexes and terms are JavaScript numbers (safe up to 2^53, far beyond any real log).

export type NodeId = string;

/** NodeId '' means "none" (no vote cast, no known leader). */
export const NONE: NodeId = '';

export enum EntryType {
  Normal = 0,
  /** data is an encoded ConfChange (see encodeConfChange in the core). */
  ConfChange = 1,
}

export interface Entry {
  term: number;
  index: number;
  type: EntryType;
  data: Uint8Array;
}

/** What must be on stable storage before any message of the same Ready is sent. */
export interface HardState {
  term: number;
  vote: NodeId;
  commit: number;
}

export interface ConfState {
  voters: NodeId[];
  learners: NodeId[];
}

export interface SnapshotMeta {
  index: number;
  term: number;
  confState: ConfState;
}

export interface Snapshot {
  meta: SnapshotMeta;
  /** The application's state machine at meta.index, opaque to Raft. */
  data: Uint8Array;
}

export enum MessageType {
  Append = 1,
  AppendResponse = 2,
  Vote = 3,
  VoteResponse = 4,
  PreVote = 5,
  PreVoteResponse = 6,
  Heartbeat = 7,
  HeartbeatResponse = 8,
  Snapshot = 9,
  TimeoutNow = 10,
  ReadIndex = 11,
  ReadIndexResponse = 12,
}

export interface Message {
  type: MessageType;
  from: NodeId;
  to: NodeId;
  term: number;
  /** Append: term of the entry at `index` (the one before `entries`). Votes: last log term. */
  logTerm: number;
  /** Append: index before `entries`. AppendResponse: last matching/accepted index. Votes: last log index. */
  index: number;
  entries: Entry[];
  commit: number;
  reject: boolean;
  /** AppendResponse with reject: a hint of where the follower's log may match (fast back-off). */
  rejectHint: number;
  /** For AppendResponse with reject: the term at rejectHint, so the leader can skip a whole term. */
  rejectTerm?: number;
  snapshot?: Snapshot;
  /** Heartbeat / ReadIndex: the read request's context, echoed back. */
  context?: Uint8Array;
}

export enum ConfChangeType {
  AddVoter = 0,
  AddLearner = 1,
  RemoveNode = 2,
}

/** One-server-at-a-time membership change. Promoting a learner is AddVoter on an existing learner. */
export interface ConfChange {
  type: ConfChangeType;
  nodeId: NodeId;
  /** Opaque to Raft: e.g. the new member's address, for the transport. */
  context?: Uint8Array;
}

export enum Role {
  Follower = 'follower',
  PreCandidate = 'pre-candidate',
  Candidate = 'candidate',
  Leader = 'leader',
}

/** Volatile state the application may want to observe (not persisted). */
export interface SoftState {
  leader: NodeId;
  role: Role;
}

/** A ReadIndex request answered: once applied >= index, a read with this context is linearizable. */
export interface ReadState {
  index: number;
  context: Uint8Array;
}

/**
 * One batch of work for the caller. Handle the fields in this order, then call advance():
 *  1. persist `hardState` (if set), `entries` (appending, replacing any conflicting tail) and
 *     `snapshot` (if set), durably when `mustSync`;
 *  2. send `messages`;
 *  3. apply `snapshot` (if set), then `committedEntries`, in order;
 *  4. advance().
 */
export interface Ready {
  softState?: SoftState;
  hardState?: HardState;
  readStates: ReadState[];
  entries: Entry[];
  snapshot?: Snapshot;
  committedEntries: Entry[];
  messages: Message[];
  /**
   * True when hardState's term or vote changed, entries are not empty or a snapshot is present: an fsync
   * is required.
   */
  mustSync: boolean;
}

/**
 * What the core reads its stable log from. Synchronous: the runtime keeps an in-memory copy
 * (MemoryStorage) of what it has persisted and appends to it after each persist.
 */
export interface Storage {
  initialState(): { hardState: HardState; confState: ConfState };
  /** Entries in [lo, hi), at most maxBytes in total (at least one entry when any exists). */
  entries(lo: number, hi: number, maxBytes?: number): Entry[];
  /** Term of the entry at index i; i may be firstIndex()-1 (the snapshot's index). Throws CompactedError / UnavailableError. */
  term(i: number): number;
  lastIndex(): number;
  /** The first index still in the log (snapshot index + 1). */
  firstIndex(): number;
  snapshot(): Snapshot;
}

/** Why a proposal did not make it into the log. */
export type ProposalDropReason =
  | 'not-leader'
  | 'leader-transferring'
  | 'too-many-pending'
  | 'conf-change-pending';

/** Deliberate bugs the simulator can switch on to prove its checkers can fail. Never set outside tests. */
export type RaftBug =
  | 'commit-old-term-entries'
  | 'vote-without-log-check'
  | 'vote-not-persisted'
  | 'apply-before-persist';
