// The Raft library's public surface. raft/ knows nothing about orch: it is a pure, deterministic Raft core
// (RawNode), an in-memory Storage, and the contract types the simulator, storage and transport build on.

export { decodeConfChange, encodeConfChange, nextConfState } from './confchange';
export type { RaftConfig } from './config';
export {
  CompactedError,
  InvalidConfChangeError,
  LeadershipTransferError,
  ProposalDroppedError,
  RaftError,
  SnapshotOutOfDateError,
  UnavailableError,
} from './errors';
export type { RaftLogger } from './logger';
export { silentLogger } from './logger';
export { MemoryStorage } from './memory-storage';
export { committedIndex, quorumSize, type VoteResult, voteResult } from './quorum';
export { CAMPAIGN_TRANSFER_CONTEXT } from './raft';
export { RawNode } from './raw-node';
export type { ProgressStatus, RaftStatus } from './status';
export { ProgressState } from './tracker/progress';
export type {
  ConfChange,
  ConfState,
  Entry,
  HardState,
  Message,
  NodeId,
  ProposalDropReason,
  RaftBug,
  ReadState,
  Ready,
  Snapshot,
  SnapshotMeta,
  SoftState,
  Storage,
} from './types';
export { ConfChangeType, EntryType, MessageType, NONE, Role } from './types';
