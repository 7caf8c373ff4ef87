// RaftNode: a Raft member in a real process. It drives the pure core (RawNode) with a ticker, feeds
// it what the transport receives, and runs the ready loop: persist (write-ahead log), send, apply to the
// application's state machine, advance. On top it offers what applications need: proposals as
// futures (group-committed: every proposal made while a batch is being fsynced joins the next one),
// linearizable reads (ReadIndex), membership changes that carry member addresses, leadership
// events, and snapshots/compaction of the log. It never interprets the application's data.
import { EventEmitter } from 'node:events';
import pino, { type Logger } from 'pino';
import {
  decodeConfChange,
  InvalidConfChangeError,
  type MemoryStorage,
  ProgressState,
  ProposalDroppedError,
  RawNode,
} from '../index';
import { RaftStorage, type WalSyncMode } from '../storage';
import { GrpcTransport } from '../transport';
import {
  type ConfChange,
  ConfChangeType,
  type ConfState,
  type Entry,
  EntryType,
  type HardState,
  type Message,
  MessageType,
  NONE,
  type NodeId,
  type Ready,
  Role,
  type Snapshot,
} from '../types';
import { CommitNotices } from './commit-notices';
import { AbortError, MembershipError, NotCaughtUpError, NotLeaderError, RaftStoppedError } from './errors';
import { MemberRegistry } from './member-registry';
import {
  decodeMemberContext,
  decodeSnapshotEnvelope,
  encodeMemberContext,
  encodeSnapshotEnvelope,
  type MemberInfo,
} from './members';
import { openLocalState } from './open-state';
import type { AppliedEntry, LeaderChange, RaftNodeOptions, RaftStatus, StateMachine } from './options';
import { ProposalWaiters } from './proposal-waiters';
import { ReadBarrier } from './read-barrier';
import { Wakeup } from './wakeup';

interface RaftNodeEvents {
  'leader-change': [LeaderChange];
  applied: [number];
  /**
   * This member applied a conf change removing it. Best effort: a leader stops replicating to a
   * member once its removal applies, so a removed member may never see the entry.
   */
  removed: [];
  /** The ready loop hit an error it cannot recover from (e.g. the disk failed); the node stopped. */
  fatal: [Error];
}

export class RaftNode extends EventEmitter<RaftNodeEvents> {
  private readonly waiters = new ProposalWaiters();
  private readonly reads: ReadBarrier;
  private ticker: NodeJS.Timeout | undefined;
  private loopDone: Promise<void> = Promise.resolve();
  private readonly wakeup = new Wakeup();
  private readonly notices: CommitNotices;
  private stopping = false;
  private stopped = false;
  /** The one stop() in progress or done. */
  private stopCall: Promise<void> | undefined;
  private role: Role = Role.Follower;
  private leader: NodeId = NONE;
  private persisted: HardState;
  private appliedIndex: number;
  private snapshotIndex: number;
  private confState: ConfState;
  /**
   * Set while a Ready is being written and committed entries are applied meanwhile (see
   * applyWhileWriting): `limit` is the last index that may be applied before the write completes;
   * `rewritten` turns true once a received message may have replaced the core's entries up to it.
   */
  private writeGuard: { limit: number; rewritten: boolean } | undefined;
  /** A hard state that changed only in its commit index, not written yet (see handleReady). */
  private deferredHardState: HardState | undefined;

  private constructor(
    private readonly options: RaftNodeOptions,
    private readonly logger: Logger,
    private readonly core: RawNode,
    private readonly memory: MemoryStorage,
    private readonly disk: RaftStorage,
    private readonly transport: GrpcTransport,
    private readonly members: MemberRegistry,
    private readonly stateMachine: StateMachine,
  ) {
    super();
    const initial = memory.initialState();
    this.persisted = initial.hardState;
    this.confState = initial.confState;
    this.snapshotIndex = memory.snapshot().meta.index;
    this.appliedIndex = this.snapshotIndex;
    this.notices = new CommitNotices(options.commitNoticeDelayMs ?? 2, (messages) => {
      if (this.role === Role.Leader && !this.stopping) this.transport.send(messages);
    });
    this.reads = new ReadBarrier((context) => {
      try {
        this.core.readIndex(context);
      } catch (err) {
        throw this.translateDrop(err);
      }
      this.notify();
    }, options.electionTicks ?? 10);
  }

  /**
   * Opens the data directory, recovers (or bootstraps / prepares to join), starts the transport,
   * the ticker and the ready loop.
   */
  static async start(options: RaftNodeOptions): Promise<RaftNode> {
    const logger = (options.logger ?? pino({ level: 'silent' })).child({ module: 'raft', node: options.id });
    const disk = await RaftStorage.open(options.dataDir, { logger });
    let transport: GrpcTransport | undefined;
    try {
      const { memory, members } = await openLocalState(options, disk, logger);

      let node: RaftNode | undefined;
      transport = new GrpcTransport({
        id: options.id,
        listen: options.listen,
        server: options.server,
        advertiseAddress: options.advertiseAddress ?? members.get(options.id)?.address,
        logger: options.logger,
        serverCredentials: options.serverCredentials,
        channelCredentials: options.channelCredentials,
        channelOptions: options.channelOptions,
        onMessage: (m) => node?.receive(m),
        onUnreachable: (id) => node?.unreachable(id),
        onSnapshotStatus: (id, status) => node?.snapshotStatus(id, status),
      });
      const bound = await transport.start();
      const self = members.get(options.id);
      members.set(options.id, {
        ...self,
        address: options.advertiseAddress ?? self?.address ?? bound,
        ...(options.meta ? { meta: options.meta } : {}),
      });

      const core = new RawNode({
        id: options.id,
        storage: memory,
        electionTick: options.electionTicks ?? 10,
        heartbeatTick: options.heartbeatTicks ?? 1,
        applied: memory.snapshot().meta.index,
        maxSizePerMsg: options.maxSizePerMsg ?? 1024 * 1024,
        maxInflightMsgs: options.maxInflightMsgs ?? 256,
        checkQuorum: true,
        preVote: true,
        random: options.random ?? Math.random,
        logger,
      });
      const registry = new MemberRegistry(options.id, members, transport);
      node = new RaftNode(options, logger, core, memory, disk, transport, registry, options.stateMachine);
      const { voters } = memory.initialState().confState;
      // The only voter has nobody to wait for: lead at once instead of after an election timeout.
      if (voters.length === 1 && voters[0] === options.id) core.campaign();
      node.run();
      return node;
    } catch (err) {
      await transport?.close();
      await disk.close();
      throw err;
    }
  }

  /** This member's id. */
  get id(): NodeId {
    return this.options.id;
  }

  /** The address peers reach this member's transport at. */
  get address(): string {
    return this.members.get(this.options.id)!.address;
  }

  get isLeader(): boolean {
    return this.role === Role.Leader;
  }

  /** The current leader's id and member info (NONE when unknown). */
  leaderInfo(): { id: NodeId; info: MemberInfo | undefined } {
    return { id: this.leader, info: this.leader === NONE ? undefined : this.members.get(this.leader) };
  }

  /** A copy of the known members and their addresses. */
  memberList(): Map<NodeId, MemberInfo> {
    return this.members.list();
  }

  status(): RaftStatus {
    const core = this.core.status();
    return {
      id: this.options.id,
      term: core.term,
      leader: this.leader,
      role: this.role,
      commitIndex: core.commit,
      appliedIndex: this.appliedIndex,
      snapshotIndex: this.snapshotIndex,
      voters: [...this.confState.voters],
      learners: [...this.confState.learners],
    };
  }

  /**
   * Proposes `data` for the replicated log. Resolves once it is committed and applied here.
   * Rejects with NotLeaderError (forward it to the leader), LeadershipLostError (the outcome is
   * not known here), ProposalDroppedError (e.g. too many pending), RaftStoppedError or AbortError.
   */
  async propose(data: Uint8Array, options: { signal?: AbortSignal } = {}): Promise<{ index: number }> {
    this.assertRunning();
    if (options.signal?.aborted) throw new AbortError({ cause: options.signal.reason });
    let appended: { index: number; term: number };
    try {
      appended = this.core.propose(data);
    } catch (err) {
      throw this.translateDrop(err);
    }
    this.notify();
    await this.waitApplied(appended, options.signal);
    return { index: appended.index };
  }

  /**
   * Linearizable read barrier: resolves once this member has applied everything committed before
   * the call (confirmed with the leader by ReadIndex). Reads of local state after it are linearizable.
   */
  async readBarrier(options: { signal?: AbortSignal } = {}): Promise<{ index: number }> {
    this.assertRunning();
    if (this.role !== Role.Leader && this.leader === NONE) throw this.notLeader();
    const index = await this.reads.read(options);
    return { index };
  }

  /** Adds a non-voting member that catches up from the leader. Leader only. */
  async addLearner(
    id: NodeId,
    address: string,
    options: { meta?: Record<string, string>; signal?: AbortSignal } = {},
  ): Promise<void> {
    this.assertLeader();
    if (this.confState.voters.includes(id) || this.confState.learners.includes(id)) {
      throw new MembershipError(`member ${id} is already in the cluster`);
    }
    const info: MemberInfo = options.meta ? { address, meta: options.meta } : { address };
    await this.proposeConfChange(
      { type: ConfChangeType.AddLearner, nodeId: id, context: encodeMemberContext(info) },
      options.signal,
    );
  }

  /** Makes a caught-up learner a voter. Leader only; NotCaughtUpError while it lags. */
  async promote(id: NodeId, options: { signal?: AbortSignal } = {}): Promise<void> {
    this.assertLeader();
    if (this.confState.voters.includes(id)) return;
    if (!this.confState.learners.includes(id)) throw new MembershipError(`member ${id} is not a learner`);
    const progress = this.core.status().progress?.[id];
    const match = progress?.match ?? 0;
    const last = this.memory.lastIndex();
    // Replicate state means the learner accepts appends (it has the snapshot); the lag bound keeps
    // a voter from joining so far behind that it would slow down commits.
    if (
      progress?.state !== ProgressState.Replicate ||
      last - match > (this.options.promoteLagEntries ?? 100)
    ) {
      throw new NotCaughtUpError(id, match, last);
    }
    const info = this.members.get(id);
    await this.proposeConfChange(
      { type: ConfChangeType.AddVoter, nodeId: id, context: info ? encodeMemberContext(info) : undefined },
      options.signal,
    );
  }

  /** Removes a member (voter or learner). Leader only. */
  async removeMember(id: NodeId, options: { signal?: AbortSignal } = {}): Promise<void> {
    this.assertLeader();
    if (!this.confState.voters.includes(id) && !this.confState.learners.includes(id)) {
      throw new MembershipError(`member ${id} is not in the cluster`);
    }
    await this.proposeConfChange({ type: ConfChangeType.RemoveNode, nodeId: id }, options.signal);
  }

  /** Asks the leader to hand leadership to `to` (a caught-up voter). Returns at once. */
  transferLeadership(to: NodeId): void {
    this.assertRunning();
    this.core.transferLeadership(to);
    this.notify();
  }

  /** Resolves when a leader is known (or this member leads). */
  waitForLeader(options: { signal?: AbortSignal } = {}): Promise<NodeId> {
    if (this.leader !== NONE) return Promise.resolve(this.leader);
    return new Promise((resolve, reject) => {
      const onChange = (change: LeaderChange) => {
        if (change.leader === NONE) return;
        cleanup();
        resolve(change.leader);
      };
      const onAbort = () => {
        cleanup();
        reject(new AbortError({ cause: options.signal?.reason }));
      };
      const cleanup = () => {
        this.off('leader-change', onChange);
        options.signal?.removeEventListener('abort', onAbort);
      };
      if (options.signal?.aborted) return onAbort();
      this.on('leader-change', onChange);
      options.signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /**
   * Stops ticking, finishes the ready batch in progress, fails pending requests with
   * RaftStoppedError, closes the transport and the database. A leader first tries to hand
   * leadership to another voter (for at most one election timeout) so the cluster does not wait.
   */
  stop(options: { transferLeadership?: boolean } = {}): Promise<void> {
    this.stopCall ??= this.stopOnce(options);
    return this.stopCall;
  }

  private async stopOnce(options: { transferLeadership?: boolean }): Promise<void> {
    if (options.transferLeadership !== false && !this.stopping) await this.handOffLeadership();
    this.stopping = true;
    clearInterval(this.ticker);
    this.notices.clear();
    this.notify();
    await this.loopDone;
    await this.shutdown();
  }

  private async shutdown(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.ticker);
    this.notices.clear();
    const err = new RaftStoppedError();
    this.waiters.rejectAll(err);
    this.reads.rejectAll(err);
    await this.transport.close();
    await this.writeDeferredHardState();
    await this.disk.close();
    this.logger.info('raft node stopped');
  }

  /** Writes the commit index handleReady deferred, so a restart replays everything applied here. */
  private async writeDeferredHardState(): Promise<void> {
    const hardState = this.deferredHardState;
    if (hardState === undefined) return;
    this.deferredHardState = undefined;
    try {
      await this.disk.save({ hardState, entries: [] }, { sync: true });
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, 'could not record the commit index on stop');
    }
  }

  private async handOffLeadership(): Promise<void> {
    if (this.role !== Role.Leader) return;
    const target = this.confState.voters
      .filter((id) => id !== this.options.id)
      .sort((a, b) => this.matchOf(b) - this.matchOf(a))[0];
    if (target === undefined) return;
    try {
      this.transferLeadership(target);
    } catch {
      return;
    }
    const timeoutMs = (this.options.tickMs ?? 50) * (this.options.electionTicks ?? 10);
    await new Promise<void>((resolve) => {
      const finish = () => {
        clearTimeout(timer);
        this.off('leader-change', onChange);
        resolve();
      };
      const onChange = (change: LeaderChange) => {
        if (change.leader !== this.options.id) finish();
      };
      const timer = setTimeout(finish, timeoutMs);
      timer.unref();
      this.on('leader-change', onChange);
    });
  }

  // ---- driving the core -------------------------------------------------------------------

  private run(): void {
    const tickMs = this.options.tickMs ?? 50;
    this.ticker = setInterval(() => {
      this.core.tick();
      this.reads.tick();
      this.notify();
    }, tickMs);
    this.ticker.unref();
    this.loopDone = this.readyLoop().catch(async (err: unknown) => {
      const error = err instanceof Error ? err : new Error(String(err));
      this.logger.error({ err: error.message }, 'raft ready loop failed; stopping');
      this.stopping = true;
      await this.shutdown().catch(() => undefined);
      this.emit('fatal', error);
    });
  }

  private async readyLoop(): Promise<void> {
    while (!this.stopping) {
      if (!this.core.hasReady()) {
        await this.wakeup.wait();
        // Let every proposal and message of this turn of the event loop join the same Ready.
        await new Promise<void>((resolve) => setImmediate(resolve));
        continue;
      }
      const rd = this.core.ready();
      await this.handleReady(rd);
      this.core.advance();
    }
  }

  private async handleReady(rd: Ready): Promise<void> {
    if (rd.softState) this.updateSoftState(rd.softState.leader, rd.softState.role, rd.hardState?.term);
    for (const rs of rd.readStates) this.reads.answered(rs.context, rs.index, this.appliedIndex);

    // A leader may send its appends while it writes the same entries to its own disk (Raft thesis
    // §10.2.1): an entry counts as committed only once a quorum acknowledged it, and the leader's
    // own acknowledgement is only acted on in a later Ready, after this one's write completed. Any
    // term or vote change must be durable before a message reveals it, hence the condition.
    const termOrVoteChanged =
      rd.hardState !== undefined &&
      (rd.hardState.term !== this.persisted.term || rd.hardState.vote !== this.persisted.vote);
    const sendFirst = this.role === Role.Leader && !termOrVoteChanged && rd.snapshot === undefined;
    if (sendFirst) this.send(rd.messages);

    // Committed entries already durable here (at or below the last index persisted before this
    // Ready) are applied while this Ready's writes are being synced: they are committed, so on a
    // quorum's disks, and in our own stable log, whatever becomes of this write. Overlapping the
    // state machine's CPU work with the fsync is what keeps the apply path off the disk's latency.
    // Entries that arrive in this very Ready (a follower catching up) are applied after the write.
    const durableIndex = this.memory.lastIndex();
    const firstNotDurable = rd.committedEntries.findIndex((e) => e.index > durableIndex);
    const split = rd.snapshot ? 0 : firstNotDurable === -1 ? rd.committedEntries.length : firstNotDurable;
    const applyNow = rd.committedEntries.slice(0, split);
    const applyAfterWrite = rd.committedEntries.slice(split);

    // A Ready whose only durable change is the commit index (the common case after every commit)
    // is not written on its own: the commit index need not be durable (on restart it is only a
    // lower bound of what to replay; the leader tells the rest), so it waits for the next write that
    // happens anyway, or for stop(). This keeps a disk round trip out of the way of the next proposal.
    const commitOnly =
      rd.entries.length === 0 &&
      rd.snapshot === undefined &&
      rd.hardState !== undefined &&
      !termOrVoteChanged;
    if (commitOnly) {
      this.deferredHardState = rd.hardState;
      this.memory.setHardState(rd.hardState!);
      this.persisted = rd.hardState!;
    }
    let sent = sendFirst;
    if (!commitOnly && (rd.hardState || rd.entries.length > 0 || rd.snapshot)) {
      let writeError: unknown;
      const hardState = rd.hardState ?? this.deferredHardState;
      this.deferredHardState = undefined;
      // Where the fdatasync runs. A follower or candidate has nothing to do until its write is durable
      // and its acknowledgement sent, so it syncs in place (the event-loop thread blocks in the kernel),
      // without handing the fsync to a pool thread and waiting for that thread's answer (each a wait
      // for a CPU on a busy machine). A leader does the same for a lone write: at most one new entry
      // and nothing before it still waiting for acknowledgements (one client writing at a time), so
      // nothing else can commit while it syncs. Measured with sequential puts, a pooled leader sync
      // took over 1 ms two to five times as often as the followers' inline ones on the same disk, and
      // such puts were the largest group among the slowest 1 %. Otherwise a leader syncs on the
      // thread pool: acknowledgements keep arriving meanwhile and commit entries (applyWhileWriting),
      // and requests keep being read; blocking there cost a fifth of the 64-client throughput.
      const loneWrite = rd.entries.length <= 1 && this.core.commitIndex >= durableIndex;
      const syncMode: WalSyncMode = this.role !== Role.Leader || loneWrite ? 'inline' : 'threadpool';
      let applied = false;
      if (syncMode === 'inline' && sendFirst) {
        if (applyNow.length > 0) await this.applyEntries(applyNow);
        applied = true;
        // The appends reach the sockets in the next turn of the event loop (HTTP/2 flushes its writes
        // from an immediate); blocking in fdatasync first would hold them back for the whole sync.
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
      const writing = this.disk
        .save({ hardState, entries: rd.entries, snapshot: rd.snapshot }, { sync: rd.mustSync, syncMode })
        .catch((err: unknown) => {
          writeError = err ?? new Error('raft storage write failed');
        });
      if (syncMode === 'inline') {
        await writing;
        if (writeError !== undefined) throw writeError;
        this.persistedInMemory(rd);
        // The acknowledgement leaves before the state machine's work on what was already durable.
        if (!sent) this.send(rd.messages);
        sent = true;
        if (!applied && applyNow.length > 0) await this.applyEntries(applyNow);
      } else {
        if (applyNow.length > 0) await this.applyEntries(applyNow);
        if (!rd.snapshot) await this.applyWhileWriting(writing, durableIndex, rd.entries, sendFirst);
        await writing;
        if (writeError !== undefined) throw writeError;
        this.persistedInMemory(rd);
      }
    } else if (applyNow.length > 0) {
      await this.applyEntries(applyNow);
    }
    if (!sent) this.send(rd.messages);

    if (rd.snapshot) await this.installSnapshot(rd.snapshot);
    if (applyAfterWrite.length > 0) await this.applyEntries(applyAfterWrite);
    await this.maybeSnapshot();
  }

  /** After a Ready's write completed: the core's stable log now holds what it carried. */
  private persistedInMemory(rd: Ready): void {
    if (rd.snapshot) this.memory.applySnapshot(rd.snapshot);
    this.memory.append(rd.entries);
    if (rd.hardState) {
      this.memory.setHardState(rd.hardState);
      this.persisted = rd.hardState;
    }
  }

  /**
   * While a Ready's write is in flight, acknowledgements keep arriving and the core's commit index
   * moves on. Entries that become committed meanwhile are applied right away instead of after the
   * write and the next Ready, so a slow fsync here delays only what must wait for it:
   *
   * - entries already durable here before this write began, read from the stable log;
   * - on a leader, also the entries this very write carries (`ownAppends`, sent to the followers
   *   before the write): the core counts the leader's own copy only after advance(), so the commit
   *   index covers them only once enough *followers* made them durable, a quorum without us. An
   *   entry committed by a quorum is safe to apply and acknowledge whatever becomes of our own write
   *   (if this member crashes before it completes, the entry survives on that quorum and comes back
   *   to us from the next leader). This takes the leader's fsync off a proposal's critical path: the
   *   commit waits for the fastest quorum of disks, not for the leader's disk in particular.
   *
   * The entries applied are the ones the core had when this write began: never stable entries this
   * write replaces (a follower's conflicting tail), and a message that could replace any of them in
   * the core's log (an append starting at or below the last of them, from a new leader; a snapshot)
   * ends applying for this write: the next Ready hands out what the core then holds. Stops at a conf
   * change, which the core must see through a Ready. The next Ready hands the applied entries out
   * again; applyEntries skips them.
   */
  private async applyWhileWriting(
    writing: Promise<void>,
    durableIndex: number,
    entries: readonly Entry[],
    ownAppends: boolean,
  ): Promise<void> {
    let written = false;
    void writing.then(() => {
      written = true;
      this.notify();
    });
    const first = entries[0]?.index;
    const stableLimit = first !== undefined && first <= durableIndex ? first - 1 : durableIndex;
    const inFlight = ownAppends && first === durableIndex + 1 ? entries : [];
    const limit = inFlight.length > 0 ? inFlight[inFlight.length - 1]!.index : stableLimit;
    this.writeGuard = { limit, rewritten: false };
    try {
      while (!written && !this.stopping) {
        await this.wakeup.wait();
        if (written || this.writeGuard.rewritten) break;
        const upTo = Math.min(this.core.commitIndex, limit);
        if (upTo <= this.appliedIndex) continue;
        const ready: Entry[] = [];
        const fromLog = Math.min(upTo, stableLimit);
        if (this.appliedIndex < fromLog)
          ready.push(...this.memory.entries(this.appliedIndex + 1, fromLog + 1));
        for (let i = Math.max(this.appliedIndex + 1, durableIndex + 1); i <= upTo; i++) {
          ready.push(inFlight[i - durableIndex - 1]!);
        }
        const normal = ready.findIndex((e) => e.type !== EntryType.Normal);
        if (normal !== -1) ready.length = normal;
        if (ready.length > 0) await this.applyEntries(ready);
      }
      // Wait for the write without applying any more; the ready loop re-checks every wake-up
      // (hasReady), none is lost.
      await writing;
    } finally {
      this.writeGuard = undefined;
    }
    this.notify();
  }

  private send(messages: Message[]): void {
    if (messages.length === 0) return;
    const now = this.role === Role.Leader ? this.notices.route(messages) : messages;
    if (now.length > 0) this.transport.send(now);
  }

  private updateSoftState(leader: NodeId, role: Role, term: number | undefined): void {
    if (leader === this.leader && role === this.role) return;
    this.notices.clear();
    this.leader = leader;
    this.role = role;
    const change: LeaderChange = {
      leader,
      role,
      term: term ?? this.persisted.term,
      leaderInfo: leader === NONE ? undefined : this.members.get(leader),
    };
    this.logger.info({ leader, role, term: change.term }, 'raft leadership changed');
    this.emit('leader-change', change);
  }

  private async installSnapshot(snapshot: Snapshot): Promise<void> {
    const { members, app } = decodeSnapshotEnvelope(snapshot.data);
    if (members) this.members.replace(members);
    await this.stateMachine.restore(app);
    this.confState = {
      voters: [...snapshot.meta.confState.voters],
      learners: [...snapshot.meta.confState.learners],
    };
    this.appliedIndex = snapshot.meta.index;
    this.snapshotIndex = snapshot.meta.index;
    this.waiters.snapshotApplied(snapshot.meta.index);
    this.reads.applied(this.appliedIndex);
    this.logger.info({ index: snapshot.meta.index }, 'installed snapshot from leader');
    this.emit('applied', this.appliedIndex);
  }

  private async applyEntries(entries: Entry[]): Promise<void> {
    let batch: AppliedEntry[] = [];
    for (const e of entries) {
      if (e.index <= this.appliedIndex) continue;
      if (e.type === EntryType.ConfChange) {
        if (batch.length > 0) await this.stateMachine.apply(batch);
        batch = [];
        this.applyConfChange(e);
      } else if (e.data.byteLength > 0) {
        batch.push({ index: e.index, term: e.term, data: e.data });
      }
    }
    if (batch.length > 0) await this.stateMachine.apply(batch);
    for (const e of entries) this.waiters.applied(e.index, e.term);
    this.appliedIndex = Math.max(this.appliedIndex, entries[entries.length - 1]!.index);
    this.reads.applied(this.appliedIndex);
    this.emit('applied', this.appliedIndex);
  }

  private applyConfChange(e: Entry): void {
    const cc = decodeConfChange(e.data);
    try {
      this.confState = this.core.applyConfChange(cc);
    } catch (err) {
      if (!(err instanceof InvalidConfChangeError)) throw err;
      this.logger.warn({ index: e.index, err: err.message }, 'ignoring invalid conf change');
      return;
    }
    const info = decodeMemberContext(cc.context);
    if (cc.type === ConfChangeType.RemoveNode) {
      this.members.remove(cc.nodeId);
      if (cc.nodeId === this.options.id) this.emit('removed');
    } else if (info) {
      this.members.set(cc.nodeId, info);
    }
    this.logger.info(
      { index: e.index, change: ConfChangeType[cc.type], member: cc.nodeId, voters: this.confState.voters },
      'membership changed',
    );
  }

  /** Snapshots the state machine and compacts the log every `snapshotEvery` applied entries. */
  private async maybeSnapshot(): Promise<void> {
    const every = this.options.snapshotEvery ?? 10_000;
    if (this.appliedIndex - this.snapshotIndex < every) return;
    const index = this.appliedIndex;
    const data = encodeSnapshotEnvelope(this.members.list(), await this.stateMachine.snapshot());
    const snapshot = this.memory.createSnapshot(index, this.confState, data);
    const compactIndex = index - (this.options.compactionTailEntries ?? 5_000);
    const compacts = compactIndex >= this.memory.firstIndex();
    const compactTerm = compacts ? this.memory.term(compactIndex) : 0;
    await this.disk.saveSnapshot(snapshot, compacts ? compactIndex : 0, compactTerm);
    if (compacts) this.memory.compact(compactIndex);
    this.snapshotIndex = index;
    this.logger.info({ index, compactedTo: compacts ? compactIndex : undefined }, 'snapshot taken');
  }

  // ---- inputs from the transport ----------------------------------------------------------

  private receive(m: Message): void {
    if (this.stopping) return;
    const guard = this.writeGuard;
    if (
      guard !== undefined &&
      (m.snapshot !== undefined ||
        (m.type === MessageType.Append && m.entries.length > 0 && m.entries[0]!.index <= guard.limit))
    ) {
      guard.rewritten = true;
    }
    try {
      this.core.step(m);
    } catch (err) {
      this.logger.warn({ err: (err as Error).message, from: m.from, type: m.type }, 'raft message rejected');
    }
    this.notify();
  }

  private unreachable(id: NodeId): void {
    if (this.stopping) return;
    this.core.reportUnreachable(id);
  }

  private snapshotStatus(id: NodeId, status: 'finish' | 'failure'): void {
    if (this.stopping) return;
    this.core.reportSnapshot(id, status);
    this.notify();
  }

  // ---- helpers ----------------------------------------------------------------------------

  private notify(): void {
    this.wakeup.notify();
  }

  private async proposeConfChange(cc: ConfChange, signal: AbortSignal | undefined): Promise<void> {
    let appended: { index: number; term: number };
    try {
      appended = this.core.proposeConfChange(cc);
    } catch (err) {
      throw this.translateDrop(err);
    }
    this.notify();
    await this.waitApplied(appended, signal);
  }

  private waitApplied(
    appended: { index: number; term: number },
    signal: AbortSignal | undefined,
  ): Promise<void> {
    const done = this.waiters.wait(appended.index, appended.term);
    if (signal === undefined) return done;
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        this.waiters.forget(appended.index);
        reject(new AbortError({ cause: signal.reason }));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      done.then(
        () => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        },
        (err: unknown) => {
          signal.removeEventListener('abort', onAbort);
          reject(err);
        },
      );
    });
  }

  private matchOf(id: NodeId): number {
    return this.core.status().progress?.[id]?.match ?? 0;
  }

  private translateDrop(err: unknown): unknown {
    if (err instanceof ProposalDroppedError && err.reason === 'not-leader') {
      return new NotLeaderError(err.leader, this.members.get(err.leader)?.address, { cause: err });
    }
    return err;
  }

  private notLeader(): NotLeaderError {
    return new NotLeaderError(this.leader, this.members.get(this.leader)?.address);
  }

  private assertRunning(): void {
    if (this.stopping || this.stopped) throw new RaftStoppedError();
  }

  private assertLeader(): void {
    this.assertRunning();
    if (this.role !== Role.Leader) throw this.notLeader();
  }
}
