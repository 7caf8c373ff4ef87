// RaftStatus: a read-only snapshot of a node's state for operators, tests and the simulator's checkers.
import type { ProgressState } from './tracker/progress';
import type { ConfState, NodeId, Role } from './types';

export interface ProgressStatus {
  match: number;
  next: number;
  state: ProgressState;
  isLearner: boolean;
  recentActive: boolean;
  /** Appends in flight (replicate state). */
  inflight: number;
  /** Index of the snapshot being sent (snapshot state), else 0. */
  pendingSnapshot: number;
}

export interface RaftStatus {
  id: NodeId;
  term: number;
  vote: NodeId;
  commit: number;
  applied: number;
  leader: NodeId;
  role: Role;
  confState: ConfState;
  lastIndex: number;
  /** Leader only: the node leadership is being transferred to, if any. */
  leadTransferee: NodeId;
  /** Leader only: every member's replication progress (the leader's own included). */
  progress?: Record<NodeId, ProgressStatus>;
}
