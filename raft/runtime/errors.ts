// Errors a RaftNode's callers see. Each says what happened to the request, so the caller knows
// whether to retry elsewhere (NotLeaderError), retry with care because the outcome is unknown
// (LeadershipLostError) or give up (RaftStoppedError).
import type { NodeId } from '../types';

/** This member is not the leader. `leader` / `leaderAddress` name the current one when known. */
export class NotLeaderError extends Error {
  override readonly name = 'NotLeaderError';
  constructor(
    readonly leader: NodeId,
    readonly leaderAddress: string | undefined,
    options?: { cause?: unknown },
  ) {
    super(leader ? `not the leader; the leader is ${leader}` : 'not the leader; no leader is known', options);
  }
}

/**
 * The proposal was appended while this member led, but it lost leadership before the entry was
 * applied and the entry at that index turned out to be another one (or a snapshot replaced it):
 * the proposal did not take effect here, or its outcome is unknown. Retrying may apply it twice.
 */
export class LeadershipLostError extends Error {
  override readonly name = 'LeadershipLostError';
  constructor(
    readonly index: number,
    message = `leadership lost before entry ${index} was applied`,
  ) {
    super(message);
  }
}

/** The node was stopped (or is stopping) before the request finished. */
export class RaftStoppedError extends Error {
  override readonly name = 'RaftStoppedError';
  constructor() {
    super('raft node is stopped');
  }
}

/** The caller's AbortSignal fired. The request may still take effect (a proposal already in the log). */
export class AbortError extends Error {
  override readonly name = 'AbortError';
  constructor(options?: { cause?: unknown }) {
    super('the operation was aborted', options);
  }
}

/** promote() of a learner whose log is not yet close enough to the leader's. */
export class NotCaughtUpError extends Error {
  override readonly name = 'NotCaughtUpError';
  constructor(
    readonly member: NodeId,
    readonly match: number,
    readonly lastIndex: number,
  ) {
    super(`member ${member} is not caught up (has ${match} of ${lastIndex} entries)`);
  }
}

/** A membership request naming an unknown member, or adding one that already exists. */
export class MembershipError extends Error {
  override readonly name = 'MembershipError';
}
