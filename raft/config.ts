// RaftConfig: everything a RawNode is built from. The core takes its storage, randomness and logger from
// here and nothing from the environment, so two nodes built from equal configs behave identically.
import { RaftError } from './errors';
import { type RaftLogger, silentLogger } from './logger';
import type { NodeId, RaftBug, Storage } from './types';

export interface RaftConfig {
  /** This node's id; never NONE (''). */
  id: NodeId;
  /** The stable log. Its initialState().confState must be the configuration as of `applied`. */
  storage: Storage;
  /** Ticks without hearing from a leader before a follower campaigns (randomized in [n, 2n)). Default 10. */
  electionTick?: number;
  /** Ticks between a leader's heartbeats. Must be < electionTick. Default 1. */
  heartbeatTick?: number;
  /**
   * The last index the application had applied before a restart. Committed entries after it are handed
   * out again. Default: the storage snapshot's index (the application restores the snapshot and replays).
   */
  applied?: number;
  /** Upper bound on the entry bytes of one Append message (at least one entry is always sent). Default 1 MiB. */
  maxSizePerMsg?: number;
  /** Appends in flight to one follower in replicate state before the leader waits for answers. Default 256. */
  maxInflightMsgs?: number;
  /** Upper bound on the entry bytes of Ready.committedEntries. Default: no limit. */
  maxCommittedSizePerReady?: number;
  /**
   * Upper bound on the payload bytes of uncommitted entries on the leader; proposals beyond it are dropped
   * with 'too-many-pending'. 0 means no limit. Default 0.
   */
  maxUncommittedEntriesSize?: number;
  /** The leader steps down when it has not heard from a quorum for an election timeout. Default true. */
  checkQuorum?: boolean;
  /** Run a pre-election (no term change) before a real one. Default true. */
  preVote?: boolean;
  /** Source of randomness in [0, 1) (election timeouts). Inject a seeded PRNG for determinism. */
  random: () => number;
  logger?: RaftLogger;
  /** Deliberate bugs for the simulator's self-test. Never set outside tests. */
  bugs?: ReadonlySet<RaftBug>;
}

export interface ResolvedRaftConfig
  extends Required<Omit<RaftConfig, 'applied' | 'maxCommittedSizePerReady'>> {
  applied: number | undefined;
  maxCommittedSizePerReady: number | undefined;
}

export function resolveConfig(config: RaftConfig): ResolvedRaftConfig {
  const resolved: ResolvedRaftConfig = {
    id: config.id,
    storage: config.storage,
    electionTick: config.electionTick ?? 10,
    heartbeatTick: config.heartbeatTick ?? 1,
    applied: config.applied,
    maxSizePerMsg: config.maxSizePerMsg ?? 1024 * 1024,
    maxInflightMsgs: config.maxInflightMsgs ?? 256,
    maxCommittedSizePerReady: config.maxCommittedSizePerReady,
    maxUncommittedEntriesSize: config.maxUncommittedEntriesSize ?? 0,
    checkQuorum: config.checkQuorum ?? true,
    preVote: config.preVote ?? true,
    random: config.random,
    logger: config.logger ?? silentLogger,
    bugs: config.bugs ?? new Set(),
  };
  if (resolved.id === '') throw new RaftError('raft config: id must not be empty');
  if (!Number.isInteger(resolved.heartbeatTick) || resolved.heartbeatTick <= 0) {
    throw new RaftError('raft config: heartbeatTick must be a positive integer');
  }
  if (!Number.isInteger(resolved.electionTick) || resolved.electionTick <= resolved.heartbeatTick) {
    throw new RaftError('raft config: electionTick must be an integer greater than heartbeatTick');
  }
  if (!Number.isInteger(resolved.maxInflightMsgs) || resolved.maxInflightMsgs <= 0) {
    throw new RaftError('raft config: maxInflightMsgs must be a positive integer');
  }
  if (typeof resolved.random !== 'function') throw new RaftError('raft config: random is required');
  return resolved;
}
