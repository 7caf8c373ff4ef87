// The gate between winning an election and running the leader-only loops. A new leader's log holds
// everything committed in earlier terms, but its store may not have applied it yet, and it cannot
// even know the final commit index of those terms until an entry of its own term commits (Raft
// §5.4.2, §6.4). Loops started before that would act on a stale view: an orchestrator that does not
// yet see the tasks the previous leader created makes them again. A ReadIndex barrier on the leader
// resolves exactly when an entry of the new term has committed and the store has applied up to it,
// so the loops start only after it. This module owns that wait; the Manager calls it in one place.
import type { Logger } from 'pino';
import { sleep } from './manager-loops';

/** The part of the Raft runtime the barrier uses (RaftNode satisfies it). */
export interface LeaderBarrierRaft {
  readonly isLeader: boolean;
  status(): { term: number };
  readBarrier(options?: { signal?: AbortSignal }): Promise<{ index: number }>;
}

export interface LeaderBarrierOptions {
  /** Aborted when this leadership ends (a newer leader-change) or the manager stops. */
  signal: AbortSignal;
  logger: Logger;
  /** First delay before retrying a failed barrier; doubles up to maxRetryMs. */
  retryMs?: number;
  maxRetryMs?: number;
}

const DEFAULT_RETRY_MS = 100;
const DEFAULT_MAX_RETRY_MS = 2_000;

/**
 * Waits until this member, leading in `term`, has applied everything committed before its term.
 * Resolves true when it has and it still leads in `term`; false when the leadership ended or the
 * signal aborted first (the caller then starts nothing). Failed barriers (a dropped read, a
 * transient error) are retried with back-off while the leadership lasts. Never rejects.
 */
export async function awaitLeaderBarrier(
  raft: LeaderBarrierRaft,
  term: number,
  options: LeaderBarrierOptions,
): Promise<boolean> {
  const { signal, logger } = options;
  const leads = () => !signal.aborted && raft.isLeader && raft.status().term === term;
  let delayMs = options.retryMs ?? DEFAULT_RETRY_MS;
  const maxDelayMs = options.maxRetryMs ?? DEFAULT_MAX_RETRY_MS;
  while (leads()) {
    try {
      const { index } = await raft.readBarrier({ signal });
      if (!leads()) return false;
      logger.debug({ term, index }, 'leader barrier passed: store has applied earlier terms');
      return true;
    } catch (err) {
      if (!leads()) return false;
      logger.warn({ err, term }, 'leader barrier failed; retrying before starting leader loops');
    }
    await sleep(delayMs, signal);
    delayMs = Math.min(delayMs * 2, maxDelayMs);
  }
  return false;
}
