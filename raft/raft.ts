// Raft: one node's protocol state and the transitions between roles. Inputs are tick() and step(message)
// plus the requests RawNode forwards (proposals, conf changes, reads, transfers); outputs are appended to
// `msgs` and `readStates` and to the log's unstable tail, which RawNode turns into Ready batches.
//
// Never does I/O, never reads a clock, never awaits: time is the number of tick() calls, randomness comes
// from config.random. Per-role message handling lives in step-leader.ts and step-follower.ts, what the
// leader sends in replication.ts.

import { nextConfState } from './confchange';
import { type RaftConfig, type ResolvedRaftConfig, resolveConfig } from './config';
import { ProposalDroppedError, RaftError } from './errors';
import { RaftLog } from './log';
import type { RaftLogger } from './logger';
import { releasePendingReads } from './read-index';
import { ReadOnly, type ReadRequest } from './read-only';
import { bcastAppend, bcastHeartbeat } from './replication';
import { handleVoteRequest, stepCandidate, stepFollower } from './step-follower';
import { stepLeader } from './step-leader';
import { ProgressTracker } from './tracker/progress-tracker';
import {
  type ConfChange,
  type Entry,
  EntryType,
  type HardState,
  type Message,
  MessageType,
  NONE,
  type NodeId,
  type RaftBug,
  type ReadState,
  Role,
  type SoftState,
} from './types';
import { bytesEqual, newMessage, payloadSize } from './util';

/** Context of Vote requests sent after TimeoutNow: they bypass the leader lease (the leader asked for them). */
export const CAMPAIGN_TRANSFER_CONTEXT: Uint8Array = new TextEncoder().encode('raft:campaign-transfer');

type CampaignType = 'pre-election' | 'election' | 'transfer';

export class Raft {
  readonly id: NodeId;
  readonly cfg: ResolvedRaftConfig;
  readonly logger: RaftLogger;
  readonly log: RaftLog;
  readonly tracker: ProgressTracker;

  /** Persistent (HardState): current term. Never decreases. */
  term = 0;
  /** Persistent (HardState): who we voted for in `term` (NONE if nobody). At most one vote per term. */
  vote: NodeId = NONE;
  /** Who we believe leads `term` (NONE if unknown). */
  leader: NodeId = NONE;
  role = Role.Follower;
  /** Our own entry in the configuration is a learner's: we never campaign. */
  isLearner = false;

  /** Outgoing messages, taken by the next Ready. */
  msgs: Message[] = [];
  /** Answered ReadIndex requests, taken by the next Ready. */
  readStates: ReadState[] = [];

  /** Ticks since we last heard from the leader (follower) or since the last quorum check (leader). */
  electionElapsed = 0;
  /** Leader only: ticks since the last heartbeat broadcast. */
  heartbeatElapsed = 0;
  /** In [electionTick, 2*electionTick); drawn anew on every role change. */
  randomizedElectionTimeout = 0;

  /** Leader only: the node leadership is being handed to (NONE when no transfer is in progress). */
  leadTransferee: NodeId = NONE;
  /** Leader only: index of the latest conf-change entry; a new one is refused while it is not applied. */
  pendingConfIndex = 0;
  /** Leader only: payload bytes of entries appended in this term and not yet handed out committed. */
  uncommittedSize = 0;
  readOnly = new ReadOnly();
  /** Leader only: reads that arrived before an entry of this term was committed. */
  pendingReadIndexRequests: ReadRequest[] = [];

  constructor(config: RaftConfig) {
    this.cfg = resolveConfig(config);
    this.id = this.cfg.id;
    this.logger = this.cfg.logger;
    this.log = new RaftLog(this.cfg.storage, this.logger, this.cfg.maxCommittedSizePerReady);
    this.tracker = new ProgressTracker(this.cfg.maxInflightMsgs);
    const { hardState, confState } = this.cfg.storage.initialState();
    this.tracker.setConfState(confState, this.log.lastIndex() + 1);
    this.isLearner = this.tracker.learners.includes(this.id);
    this.loadHardState(hardState);
    if (this.cfg.applied !== undefined && this.cfg.applied > this.log.applied)
      this.log.appliedTo(this.cfg.applied);
    this.becomeFollower(this.term, NONE);
    this.logger.info(
      {
        node: this.id,
        term: this.term,
        commit: this.log.committed,
        applied: this.log.applied,
        lastIndex: this.log.lastIndex(),
        voters: this.tracker.voters,
        learners: this.tracker.learners,
      },
      'raft node started',
    );
  }

  private loadHardState(hs: HardState): void {
    if (hs.commit < this.log.committed || hs.commit > this.log.lastIndex()) {
      throw new RaftError(
        `hard state commit ${hs.commit} is out of range [${this.log.committed}, ${this.log.lastIndex()}]`,
      );
    }
    this.log.committed = hs.commit;
    this.term = hs.term;
    this.vote = hs.vote;
  }

  hasBug(bug: RaftBug): boolean {
    return this.cfg.bugs.has(bug);
  }

  hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.log.committed };
  }

  softState(): SoftState {
    return { leader: this.leader, role: this.role };
  }

  send(m: Message): void {
    this.msgs.push(m);
  }

  // --- time -------------------------------------------------------------------------------------------

  tick(): void {
    if (this.role === Role.Leader) this.tickHeartbeat();
    else this.tickElection();
  }

  private tickElection(): void {
    this.electionElapsed++;
    if (this.promotable() && this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0;
      this.hup('election');
    }
  }

  private tickHeartbeat(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.cfg.electionTick) {
      this.electionElapsed = 0;
      if (this.cfg.checkQuorum) this.checkQuorum();
      if (this.role !== Role.Leader) return;
      // A transfer that did not finish within an election timeout has failed (the target is down or slow).
      if (this.leadTransferee !== NONE) {
        this.logger.info(
          { node: this.id, term: this.term, to: this.leadTransferee },
          'leadership transfer timed out',
        );
        this.abortLeaderTransfer();
      }
    }
    if (this.heartbeatElapsed >= this.cfg.heartbeatTick) {
      this.heartbeatElapsed = 0;
      bcastHeartbeat(this);
    }
  }

  /** Leader: step down unless a majority of voters was heard from during the last election timeout. */
  private checkQuorum(): void {
    const self = this.tracker.progress.get(this.id);
    if (self) self.recentActive = true;
    if (!this.tracker.quorumActive()) {
      this.logger.warn(
        { node: this.id, term: this.term },
        'stepping down: no quorum heard from within an election timeout',
      );
      this.becomeFollower(this.term, NONE);
      return;
    }
    for (const [id, pr] of this.tracker.progress) if (id !== this.id) pr.recentActive = false;
  }

  private resetRandomizedElectionTimeout(): void {
    const r = Math.min(Math.max(this.cfg.random(), 0), 0.999999);
    this.randomizedElectionTimeout = this.cfg.electionTick + Math.floor(r * this.cfg.electionTick);
  }

  // --- roles ------------------------------------------------------------------------------------------

  private reset(term: number): void {
    if (term !== this.term) {
      this.term = term;
      this.vote = NONE;
    }
    this.leader = NONE;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.resetRandomizedElectionTimeout();
    this.abortLeaderTransfer();
    this.tracker.resetVotes();
    this.tracker.resetProgress(this.log.lastIndex() + 1);
    const self = this.tracker.progress.get(this.id);
    if (self) {
      // Only what the caller has persisted counts as our replica (see onPersisted).
      self.match = this.log.persistedLastIndex();
      self.recentActive = true;
    }
    this.pendingConfIndex = 0;
    this.uncommittedSize = 0;
    this.readOnly = new ReadOnly();
    this.pendingReadIndexRequests = [];
  }

  becomeFollower(term: number, leader: NodeId): void {
    this.reset(term);
    this.leader = leader;
    this.role = Role.Follower;
    this.logger.debug({ node: this.id, term, leader }, 'became follower');
  }

  private becomePreCandidate(): void {
    if (this.role === Role.Leader) throw new RaftError('invalid transition: leader -> pre-candidate');
    // A pre-candidate keeps its term and vote: it only asks whether it could win.
    this.tracker.resetVotes();
    this.leader = NONE;
    this.role = Role.PreCandidate;
    this.resetRandomizedElectionTimeout();
    this.logger.info({ node: this.id, term: this.term }, 'became pre-candidate');
  }

  private becomeCandidate(): void {
    if (this.role === Role.Leader) throw new RaftError('invalid transition: leader -> candidate');
    this.reset(this.term + 1);
    this.vote = this.id;
    this.role = Role.Candidate;
    this.logger.info({ node: this.id, term: this.term }, 'became candidate');
  }

  becomeLeader(): void {
    if (this.role === Role.Follower) throw new RaftError('invalid transition: follower -> leader');
    this.reset(this.term);
    this.leader = this.id;
    this.role = Role.Leader;
    this.tracker.progress.get(this.id)?.becomeReplicate();
    // Conservatively treat every entry of earlier leaders as a possible unapplied conf change.
    this.pendingConfIndex = this.log.lastIndex();
    // §5.4.2 / §8: an entry of our own term, so that earlier entries commit once it does.
    this.appendEntries([{ term: 0, index: 0, type: EntryType.Normal, data: new Uint8Array() }]);
    this.logger.info({ node: this.id, term: this.term }, 'became leader');
  }

  /** Whether this node may campaign: a voter of the current configuration, not installing a snapshot. */
  promotable(): boolean {
    const pr = this.tracker.progress.get(this.id);
    return pr !== undefined && !pr.isLearner && !this.log.hasPendingSnapshot();
  }

  hup(type: 'election' | 'transfer'): void {
    if (this.role === Role.Leader) return;
    if (!this.promotable()) {
      this.logger.warn(
        { node: this.id, term: this.term },
        'not campaigning: not a voter of the configuration',
      );
      return;
    }
    if (this.hasUnappliedConfChange()) {
      // Campaigning with a configuration about to change could let two leaders be elected by the
      // majorities of two different configurations.
      this.logger.warn(
        { node: this.id, term: this.term },
        'not campaigning: committed conf changes not applied yet',
      );
      return;
    }
    this.campaign(type === 'election' && this.cfg.preVote ? 'pre-election' : type);
  }

  private hasUnappliedConfChange(): boolean {
    if (this.log.committed <= this.log.applied) return false;
    const entries = this.log.slice(
      Math.max(this.log.applied + 1, this.log.firstIndex()),
      this.log.committed + 1,
    );
    return entries.some((e) => e.type === EntryType.ConfChange);
  }

  private campaign(type: CampaignType): void {
    let voteType: MessageType;
    let term: number;
    if (type === 'pre-election') {
      this.becomePreCandidate();
      voteType = MessageType.PreVote;
      term = this.term + 1; // the term we would campaign in; ours does not change yet
    } else {
      this.becomeCandidate();
      voteType = MessageType.Vote;
      term = this.term;
    }
    if (this.poll(this.id, true) === 'won') {
      // A single-voter configuration: our own vote is a majority.
      if (type === 'pre-election') this.campaign('election');
      else this.becomeLeader();
      return;
    }
    const lastIndex = this.log.lastIndex();
    const lastTerm = this.log.lastTerm();
    for (const id of this.tracker.voters) {
      if (id === this.id) continue;
      const m = newMessage(voteType, this.id, id, term, { index: lastIndex, logTerm: lastTerm });
      if (type === 'transfer') m.context = CAMPAIGN_TRANSFER_CONTEXT;
      this.send(m);
    }
  }

  /** A pre-candidate won its pre-election: run the real one. */
  campaignAfterPreVote(): void {
    this.campaign('election');
  }

  poll(id: NodeId, granted: boolean): 'won' | 'lost' | 'pending' {
    this.tracker.recordVote(id, granted);
    return this.tracker.tallyVotes().result;
  }

  // --- messages ---------------------------------------------------------------------------------------

  step(m: Message): void {
    if (m.term > this.term) {
      if (m.type === MessageType.Vote || m.type === MessageType.PreVote) {
        const forced = bytesEqual(m.context, CAMPAIGN_TRANSFER_CONTEXT);
        // Leader lease: while we hear from a leader, a (pre-)candidate is a node that was cut off, and
        // must not depose a healthy leader when it comes back.
        const inLease =
          this.cfg.checkQuorum && this.leader !== NONE && this.electionElapsed < this.cfg.electionTick;
        if (!forced && inLease) {
          this.logger.debug(
            { node: this.id, term: this.term, from: m.from, msgTerm: m.term },
            'ignoring vote in lease',
          );
          return;
        }
      }
      if (m.type === MessageType.PreVote) {
        // A pre-vote never changes our term.
      } else if (m.type === MessageType.PreVoteResponse && !m.reject) {
        // A granted pre-vote carries the term of the election we are about to start.
      } else {
        const fromLeader =
          m.type === MessageType.Append ||
          m.type === MessageType.Heartbeat ||
          m.type === MessageType.Snapshot;
        this.becomeFollower(m.term, fromLeader ? m.from : NONE);
      }
    } else if (m.term < this.term) {
      this.stepStale(m);
      return;
    }

    if (m.type === MessageType.Vote || m.type === MessageType.PreVote) {
      handleVoteRequest(this, m);
      return;
    }
    switch (this.role) {
      case Role.Leader:
        stepLeader(this, m);
        break;
      case Role.Candidate:
      case Role.PreCandidate:
        stepCandidate(this, m);
        break;
      case Role.Follower:
        stepFollower(this, m);
        break;
    }
  }

  /** A message from an earlier term. Only answered when the answer tells a stale node to catch up. */
  private stepStale(m: Message): void {
    if (
      (this.cfg.checkQuorum || this.cfg.preVote) &&
      (m.type === MessageType.Append || m.type === MessageType.Heartbeat)
    ) {
      // A leader cut off from the cluster: our higher term makes it step down. Without this, with
      // check-quorum or pre-vote, a node that bumped its term alone could never rejoin.
      this.send(newMessage(MessageType.AppendResponse, this.id, m.from, this.term));
    } else if (m.type === MessageType.PreVote) {
      // Tell a pre-candidate with a stale term about ours, or it would keep trying.
      this.send(newMessage(MessageType.PreVoteResponse, this.id, m.from, this.term, { reject: true }));
    } else {
      this.logger.debug(
        { node: this.id, term: this.term, from: m.from, type: m.type, msgTerm: m.term },
        'ignoring stale message',
      );
    }
  }

  // --- log --------------------------------------------------------------------------------------------

  /**
   * Leader: appends entries of the current term (index and term are assigned here). Returns false, and
   * appends nothing, when the uncommitted-size limit refuses them.
   */
  appendEntries(entries: Entry[]): boolean {
    let index = this.log.lastIndex();
    for (const e of entries) {
      e.term = this.term;
      e.index = ++index;
    }
    const size = payloadSize(entries);
    const limit = this.cfg.maxUncommittedEntriesSize;
    if (limit > 0 && this.uncommittedSize > 0 && size > 0 && this.uncommittedSize + size > limit)
      return false;
    this.uncommittedSize += size;
    this.log.append(entries);
    // BUG SWITCH 'apply-before-persist' (1 of 2): count our own replica of entries the caller has not even
    // been handed for persisting yet. The normal path counts them in onPersisted(), after advance().
    if (this.hasBug('apply-before-persist')) {
      this.tracker.progress.get(this.id)?.maybeUpdate(this.log.lastIndex());
      this.maybeCommit();
    }
    return true;
  }

  /** Commit entries of the current term stored on a quorum of voters. Returns whether commit advanced. */
  maybeCommit(): boolean {
    const index = this.tracker.committed();
    if (index <= this.log.committed) return false;
    // §5.4.2 (Figure 8): counting replicas only commits an entry of the current term; earlier entries are
    // committed indirectly, by the Log Matching Property, when one of ours is.
    // BUG SWITCH 'commit-old-term-entries': skip that check and commit earlier terms' entries by count.
    if (!this.hasBug('commit-old-term-entries') && this.log.termOrZero(index) !== this.term) return false;
    this.log.commitTo(index);
    return true;
  }

  /** The caller persisted everything handed out so far (RawNode.advance): our replica now counts. */
  onPersisted(): void {
    if (this.role !== Role.Leader) return;
    const self = this.tracker.progress.get(this.id);
    if (self?.maybeUpdate(this.log.persistedLastIndex()) && this.maybeCommit()) this.onCommitAdvanced();
  }

  /** Leader: commit advanced. Answer reads waiting for the term's first commit, tell followers. */
  onCommitAdvanced(): void {
    releasePendingReads(this);
    bcastAppend(this);
  }

  /** Committed entries were handed out: they no longer count against the uncommitted-size limit. */
  reduceUncommittedSize(entries: readonly Entry[]): void {
    this.uncommittedSize = Math.max(0, this.uncommittedSize - payloadSize(entries));
  }

  propose(data: Uint8Array): { index: number; term: number } {
    this.checkCanPropose();
    return this.appendProposal({ term: 0, index: 0, type: EntryType.Normal, data });
  }

  proposeConfChange(cc: ConfChange, data: Uint8Array): { index: number; term: number } {
    this.checkCanPropose();
    if (this.pendingConfIndex > this.log.applied) {
      throw new ProposalDroppedError('conf-change-pending', this.leader);
    }
    // With one change at a time the configuration this change will apply to is the current one.
    nextConfState(this.tracker.confState(), cc);
    const result = this.appendProposal({ term: 0, index: 0, type: EntryType.ConfChange, data });
    this.pendingConfIndex = result.index;
    return result;
  }

  private checkCanPropose(): void {
    if (this.role !== Role.Leader) throw new ProposalDroppedError('not-leader', this.leader);
    if (!this.tracker.progress.has(this.id)) {
      throw new ProposalDroppedError('not-leader', NONE, 'proposal dropped: this leader was removed');
    }
    if (this.leadTransferee !== NONE) throw new ProposalDroppedError('leader-transferring', this.leader);
  }

  private appendProposal(entry: Entry): { index: number; term: number } {
    if (!this.appendEntries([entry])) throw new ProposalDroppedError('too-many-pending', this.leader);
    bcastAppend(this);
    return { index: entry.index, term: entry.term };
  }

  abortLeaderTransfer(): void {
    this.leadTransferee = NONE;
  }
}
