// Errors raised by the Raft core and MemoryStorage. Every class carries a `name` and typed fields so a
// caller can branch on them without parsing messages. Bad or stale messages from peers are ignored and
// logged; the one exception is a message that would overwrite a committed entry, which can only happen
// when safety is already lost (a bug or lost storage): step() then throws RaftError, as etcd panics.
import type { NodeId, ProposalDropReason } from './types';

export class RaftError extends Error {
  override name = 'RaftError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The requested index is below the first index still in the log: it was compacted into a snapshot. */
export class CompactedError extends RaftError {
  override name = 'CompactedError';
  constructor(
    readonly index: number,
    readonly firstIndex: number,
  ) {
    super(`index ${index} is compacted (first index is ${firstIndex})`);
  }
}

/** The requested index is beyond the last index in the log. */
export class UnavailableError extends RaftError {
  override name = 'UnavailableError';
  constructor(
    readonly index: number,
    readonly lastIndex: number,
  ) {
    super(`index ${index} is unavailable (last index is ${lastIndex})`);
  }
}

/** A snapshot (applied or created) is not newer than the one already held. */
export class SnapshotOutOfDateError extends RaftError {
  override name = 'SnapshotOutOfDateError';
  constructor(
    readonly index: number,
    readonly currentIndex: number,
  ) {
    super(`snapshot at index ${index} is out of date (current snapshot is at index ${currentIndex})`);
  }
}

/**
 * A proposal (or a ReadIndex / leadership-transfer request) was not accepted. Nothing was appended.
 * `leader` is this node's best knowledge of the current leader (NONE when unknown): the application may
 * forward the request there (the core never forwards proposals itself).
 */
export class ProposalDroppedError extends RaftError {
  override name = 'ProposalDroppedError';
  constructor(
    readonly reason: ProposalDropReason,
    readonly leader: NodeId,
    message?: string,
  ) {
    super(message ?? `proposal dropped: ${reason}${leader ? ` (leader is ${leader})` : ''}`);
  }
}

/** A configuration change that cannot be applied to the current configuration (e.g. removing the last voter). */
export class InvalidConfChangeError extends RaftError {
  override name = 'InvalidConfChangeError';
}

/** transferLeadership() with a target that cannot become leader (unknown node or learner). */
export class LeadershipTransferError extends RaftError {
  override name = 'LeadershipTransferError';
  constructor(
    readonly target: NodeId,
    message: string,
  ) {
    super(message);
  }
}
