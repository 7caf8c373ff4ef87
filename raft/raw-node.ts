// RawNode: the application's handle on the core. Feeds it ticks, messages and requests, and hands out the
// resulting work as Ready batches (persist, send, apply, in that order; see Ready in types.ts), taking
// advance() as the caller's word that a batch was handled. Still pure: no I/O, timers or promises.

import { encodeConfChange } from './confchange';
import type { RaftConfig } from './config';
import { transferLeadership } from './leader-transfer';
import { applyConfChange } from './membership';
import { Raft } from './raft';
import { readIndex } from './read-index';
import { reportSnapshot, reportUnreachable } from './replication';
import type { RaftStatus } from './status';
import {
  type ConfChange,
  type ConfState,
  type Entry,
  type HardState,
  type Message,
  NONE,
  type NodeId,
  type Ready,
  Role,
  type SoftState,
} from './types';
import { copyConfState } from './util';

/** What the last Ready handed out, acknowledged by advance(). */
interface Handed {
  lastEntry?: { index: number; term: number };
  snapshotIndex?: number;
  /** Index of the last committed entry handed out for applying. */
  appliedTo?: number;
}

export class RawNode {
  private readonly raft: Raft;
  private prevSoftState: SoftState;
  /** The hard state of the last Ready (what the caller has persisted once it advanced). */
  private prevHardState: HardState;
  private handed: Handed | undefined;
  /** Bug 'vote-not-persisted' only: the vote already left out of one Ready. */
  private hiddenVote: { term: number; vote: NodeId } | undefined;

  constructor(config: RaftConfig) {
    this.raft = new Raft(config);
    this.prevSoftState = this.raft.softState();
    this.prevHardState = this.raft.hardState();
  }

  /** One unit of logical time: elections and heartbeats are counted in ticks. */
  tick(): void {
    this.raft.tick();
  }

  /**
   * A message from a peer. Messages not addressed to this node, from earlier terms, unexpected in our role
   * or (responses) from non-members are ignored.
   */
  step(m: Message): void {
    if (m.from === this.raft.id || m.to !== this.raft.id) return;
    this.raft.step(m);
  }

  /** Starts an election now, as if the election timeout had elapsed (with pre-vote when enabled). */
  campaign(): void {
    this.raft.hup('election');
  }

  /**
   * Appends a normal entry to the leader's log. Throws ProposalDroppedError (with a leader hint) when this
   * node cannot accept it; the entry is committed only if it later shows up in committedEntries.
   */
  propose(data: Uint8Array): { index: number; term: number } {
    return this.raft.propose(data);
  }

  /**
   * Proposes a membership change. One at a time: dropped with 'conf-change-pending' while an earlier one
   * is not applied. Throws InvalidConfChangeError when it cannot apply to the current configuration.
   */
  proposeConfChange(cc: ConfChange): { index: number; term: number } {
    return this.raft.proposeConfChange(cc, encodeConfChange(cc));
  }

  /**
   * The application is applying a committed ConfChange entry (decode it with decodeConfChange): the new
   * configuration takes effect now. Returns it, for the application to store with its next snapshot.
   */
  applyConfChange(cc: ConfChange): ConfState {
    return applyConfChange(this.raft, cc);
  }

  /**
   * Requests a linearizable read point. The answer is a ReadState with the same context in a later
   * Ready; the read is safe once applied >= its index. Throws ProposalDroppedError('not-leader') when no
   * leader is known. A request lost on the way (leader change, dropped message) is never answered: callers
   * use a timeout and retry, typically with a fresh context.
   */
  readIndex(context: Uint8Array): void {
    readIndex(this.raft, context);
  }

  /**
   * Hands leadership to `to` (a voter): it is caught up, then told to campaign at once. Proposals are
   * dropped with 'leader-transferring' until it takes over or the transfer is abandoned after an election
   * timeout. Must be called on the leader (ProposalDroppedError('not-leader') otherwise).
   */
  transferLeadership(to: NodeId): void {
    transferLeadership(this.raft, to);
  }

  /**
   * The transport failed to deliver to `id` (or lost its connection to it): a leader stops pipelining
   * to it and probes instead; a follower that cannot reach its leader ends the leader's lease and
   * campaigns after the random part of its election timeout (see reportUnreachable in replication.ts).
   */
  reportUnreachable(id: NodeId): void {
    reportUnreachable(this.raft, id);
  }

  /** The transport finished (or failed) sending a Snapshot message to `id`. */
  reportSnapshot(id: NodeId, status: 'finish' | 'failure'): void {
    reportSnapshot(this.raft, id, status);
  }

  hasReady(): boolean {
    const r = this.raft;
    if (r.msgs.length > 0 || r.readStates.length > 0) return true;
    if (r.log.hasPendingSnapshot() || r.log.hasNextCommittedEntries()) return true;
    if (this.entriesToPersist().length > 0) return true;
    const soft = r.softState();
    if (soft.leader !== this.prevSoftState.leader || soft.role !== this.prevSoftState.role) return true;
    return !hardStateEqual(this.hardStateToPersist(), this.prevHardState);
  }

  /** The next batch of work. Handle it in the order documented on Ready, then call advance() exactly once. */
  ready(): Ready {
    const r = this.raft;
    // A copy: the unstable tail keeps growing in place while the caller persists this batch.
    const entries = this.entriesToPersist().slice();
    const committedEntries = r.log.nextCommittedEntries();
    const rd: Ready = {
      readStates: r.readStates,
      entries,
      committedEntries,
      messages: r.msgs,
      mustSync: entries.length > 0,
    };
    r.msgs = [];
    r.readStates = [];

    const soft = r.softState();
    if (soft.leader !== this.prevSoftState.leader || soft.role !== this.prevSoftState.role) {
      rd.softState = soft;
      this.prevSoftState = soft;
    }
    const hs = this.hardStateToPersist();
    // Bug 'vote-not-persisted': remember the vote left out, so the next Ready carries it.
    if (hs.vote !== r.vote) this.hiddenVote = { term: r.term, vote: r.vote };
    if (!hardStateEqual(hs, this.prevHardState)) {
      rd.hardState = hs;
      if (hs.term !== this.prevHardState.term || hs.vote !== this.prevHardState.vote) rd.mustSync = true;
      this.prevHardState = hs;
    }
    const snapshot = r.log.unstable.snapshot;
    if (snapshot) {
      rd.snapshot = snapshot;
      rd.mustSync = true;
    }

    const handed: Handed = {};
    const last = entries[entries.length - 1];
    if (last) handed.lastEntry = { index: last.index, term: last.term };
    if (snapshot) handed.snapshotIndex = snapshot.meta.index;
    const lastCommitted = committedEntries[committedEntries.length - 1];
    if (lastCommitted) {
      handed.appliedTo = lastCommitted.index;
      r.log.applying = lastCommitted.index;
      r.reduceUncommittedSize(committedEntries);
    }
    this.handed = handed;
    return rd;
  }

  /** The caller persisted, sent and applied the last Ready. */
  advance(): void {
    const handed = this.handed;
    if (!handed) return;
    this.handed = undefined;
    const log = this.raft.log;
    if (handed.snapshotIndex !== undefined) {
      log.stableSnapTo(handed.snapshotIndex);
      log.appliedTo(Math.max(handed.snapshotIndex, log.applied));
    }
    if (handed.lastEntry) log.stableTo(handed.lastEntry.index, handed.lastEntry.term);
    if (handed.appliedTo !== undefined && handed.appliedTo > log.applied) log.appliedTo(handed.appliedTo);
    this.raft.onPersisted();
  }

  /** The commit index, without building a whole status (the runtime reads it on every wake-up). */
  get commitIndex(): number {
    return this.raft.log.committed;
  }

  status(): RaftStatus {
    const r = this.raft;
    const status: RaftStatus = {
      id: r.id,
      term: r.term,
      vote: r.vote,
      commit: r.log.committed,
      applied: r.log.applied,
      leader: r.leader,
      role: r.role,
      confState: copyConfState(r.tracker.confState()),
      lastIndex: r.log.lastIndex(),
      leadTransferee: r.leadTransferee,
    };
    if (r.role === Role.Leader) {
      status.progress = {};
      for (const [id, pr] of r.tracker.progress) {
        status.progress[id] = {
          match: pr.match,
          next: pr.next,
          state: pr.state,
          isLearner: pr.isLearner,
          recentActive: pr.recentActive,
          inflight: pr.inflights.size(),
          pendingSnapshot: pr.pendingSnapshot,
        };
      }
    }
    return status;
  }

  /** Unstable entries the next Ready asks the caller to persist (a view: copy before handing out). */
  private entriesToPersist(): Entry[] {
    const r = this.raft;
    const entries = r.log.unstableEntries();
    // BUG SWITCH 'apply-before-persist' (2 of 2): the leader writes its own entries behind the state
    // machine, handing each out for persisting only in a Ready after the one that handed it out for
    // applying. A crash in between loses an entry that was committed (counting us) and applied.
    if (r.hasBug('apply-before-persist') && r.role === Role.Leader) {
      return entries.filter((e) => e.index <= r.log.applying);
    }
    return entries;
  }

  /** The hard state this Ready asks the caller to persist. */
  private hardStateToPersist(): HardState {
    const hs = this.raft.hardState();
    if (this.raft.hasBug('apply-before-persist')) {
      // (Part of bug 2 of 2: keep the persisted commit index within the persisted log, so that a node
      // that lost an applied entry in a crash restarts cleanly instead of failing its storage checks.)
      const entries = this.entriesToPersist();
      const persisted =
        entries.length > 0 ? entries[entries.length - 1]!.index : this.raft.log.persistedLastIndex();
      hs.commit = Math.min(hs.commit, Math.max(persisted, this.prevHardState.commit));
    }
    // BUG SWITCH 'vote-not-persisted': leave a new vote out of the hard state handed out with the vote
    // response; it is persisted one Ready later, so a crash in between forgets it.
    const hidden = this.hiddenVote;
    const alreadyHidden = hidden !== undefined && hidden.term === hs.term && hidden.vote === hs.vote;
    if (this.raft.hasBug('vote-not-persisted') && hs.vote !== this.prevHardState.vote && !alreadyHidden) {
      return { ...hs, vote: hs.term === this.prevHardState.term ? this.prevHardState.vote : NONE };
    }
    return hs;
  }
}

function hardStateEqual(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}
