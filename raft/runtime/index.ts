// Entry of the Raft runtime: a Raft member in a real process (write-ahead log + LevelDB storage, gRPC transport).

export { ProposalDroppedError } from '../errors';
export {
  AbortError,
  LeadershipLostError,
  MembershipError,
  NotCaughtUpError,
  NotLeaderError,
  RaftStoppedError,
} from './errors';
export type { MemberInfo } from './members';
export type { AppliedEntry, LeaderChange, RaftNodeOptions, RaftStatus, StateMachine } from './options';
export { RaftNode } from './raft-node';
