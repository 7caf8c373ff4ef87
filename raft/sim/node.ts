// The node harness: one simulated Raft server. It drives a RawNode exactly as the Ready contract
// says (persist → send → apply → advance) against a simulated disk, runs the key-value state
// machine, answers clients (writes through proposals, reads through ReadIndex), and crashes when
// the fault injector says so, at a chosen point inside Ready handling. A crash loses every
// volatile structure (the RawNode, its in-memory log, the state machine, pending requests) and
// whatever the disk had not synced; a restart rebuilds everything from the disk alone.

import { decodeConfChange, MemoryStorage, ProposalDroppedError, RawNode } from '../index';
import type { ConfChange, ConfState, Entry, Message, RaftBug, Ready, Snapshot } from '../types';
import { ConfChangeType, EntryType, MessageType, NONE, Role } from '../types';
import type { SimDisk } from './disk';
import type { ClientRequest, ClientResponse, Envelope } from './envelope';
import { encodeCommand, KvStore } from './kv-store';
import type { Prng } from './prng';
import type { SafetyMonitor } from './safety-monitor';

/** Where inside the handling of one Ready a crash strikes. */
export type CrashPoint =
  | 'before-persist'
  | 'after-persist'
  | 'mid-send'
  | 'after-send'
  | 'mid-apply'
  | 'before-advance';

export const CRASH_POINTS: readonly CrashPoint[] = [
  'before-persist',
  'after-persist',
  'mid-send',
  'after-send',
  'mid-apply',
  'before-advance',
];

export interface NodeConfig {
  electionTick: number;
  heartbeatTick: number;
  /** Take a snapshot when this many entries were applied since the last one. */
  snapshotEvery: number;
  /** Entries kept in the log behind a snapshot, for followers that are only a little behind. */
  keepEntries: number;
  maxSizePerMsg: number;
  maxInflightMsgs: number;
  preVote: boolean;
  checkQuorum: boolean;
  bugs: ReadonlySet<RaftBug>;
}

export interface NodeHost {
  now(): number;
  send(envelope: Envelope): void;
  monitor: SafetyMonitor;
  /** Asked once per Ready: crash at this point, or carry on. */
  crashPoint(node: string, ready: Ready): CrashPoint | undefined;
  /** The node crashed (the host schedules its restart). */
  crashed(node: string): void;
  /** A configuration change was applied by this node. */
  confChangeApplied(node: string, cc: ConfChange, confState: ConfState): void;
  /** A trace line (digested; printed only when tracing). */
  trace(line: string): void;
}

interface WaitingRead {
  request: ClientRequest;
  from: string;
  index: number | undefined;
}

export class SimNode {
  private raw: RawNode | undefined;
  private storage: MemoryStorage | undefined;
  private kv: KvStore | undefined;
  private confState: ConfState = { voters: [], learners: [] };
  private snapshotIndex = 0;
  private term = 0;
  /** The commit index of the last hard state handed out. */
  private commit = 0;
  /** Leader as last reported by softState (NONE when unknown). */
  leader: string = NONE;
  role: Role = Role.Follower;
  /** Write requests waiting for their command to be applied, by "client/seq". */
  private readonly pendingWrites = new Map<string, { request: ClientRequest; from: string }>();
  /** Reads waiting for their ReadIndex answer (index undefined) or for applied >= index, by context. */
  private readonly pendingReads = new Map<string, WaitingRead>();
  private readCounter = 0;
  incarnation = 0;
  crashes = 0;

  constructor(
    readonly id: string,
    readonly disk: SimDisk,
    private readonly random: Prng,
    private readonly config: NodeConfig,
    private readonly host: NodeHost,
  ) {}

  get up(): boolean {
    return this.raw !== undefined;
  }

  get applied(): number {
    return this.kv?.applied ?? 0;
  }

  get isLeader(): boolean {
    return this.up && this.role === Role.Leader;
  }

  get currentTerm(): number {
    return this.term;
  }

  get members(): ConfState {
    return this.confState;
  }

  /** Starts (or restarts) the node from what its disk holds. */
  start(): void {
    if (this.up) return;
    this.incarnation++;
    const durable = this.disk.load();
    const storage = new MemoryStorage();
    let kv = new KvStore();
    if (durable.snapshot !== undefined) {
      storage.applySnapshot(durable.snapshot);
      kv = KvStore.restore(durable.snapshot.data, durable.snapshot.meta.index);
      this.host.monitor.onSnapshotRestored(this.id, durable.snapshot.meta.index, kv.chain);
    }
    storage.append(durable.entries);
    const hardState = { ...durable.hardState };
    if (hardState.commit > storage.lastIndex()) {
      // The disk says entries are committed that it does not hold: something acknowledged as
      // committed was never made durable. Report it, and restart as if it had committed less.
      this.host.monitor.report(
        'durability',
        `${this.id} restarted with commit ${hardState.commit} beyond its durable log (last index ${storage.lastIndex()})`,
      );
      hardState.commit = storage.lastIndex();
    }
    storage.setHardState(hardState);
    this.storage = storage;
    this.kv = kv;
    this.snapshotIndex = durable.snapshot?.meta.index ?? 0;
    this.confState = storage.initialState().confState;
    this.term = durable.hardState.term;
    this.commit = hardState.commit;
    this.leader = NONE;
    this.role = Role.Follower;
    this.raw = new RawNode({
      id: this.id,
      storage,
      electionTick: this.config.electionTick,
      heartbeatTick: this.config.heartbeatTick,
      applied: kv.applied,
      maxSizePerMsg: this.config.maxSizePerMsg,
      maxInflightMsgs: this.config.maxInflightMsgs,
      checkQuorum: this.config.checkQuorum,
      preVote: this.config.preVote,
      random: () => this.random.float(),
      bugs: this.config.bugs,
    });
    this.host.trace(`${this.id} start #${this.incarnation} applied=${kv.applied} term=${this.term}`);
    this.drive();
  }

  /** Power failure: everything volatile is gone, the disk keeps what it synced (and maybe a bit more). */
  crash(): void {
    if (!this.up) return;
    this.crashes++;
    this.raw = undefined;
    this.storage = undefined;
    this.kv = undefined;
    this.pendingWrites.clear();
    this.pendingReads.clear();
    this.leader = NONE;
    this.role = Role.Follower;
    this.disk.crash(this.random);
    this.host.trace(`${this.id} crash`);
    this.host.crashed(this.id);
  }

  /** Stops the node for good (it was removed from the cluster). */
  shutdown(): void {
    if (!this.up) return;
    this.raw = undefined;
    this.storage = undefined;
    this.kv = undefined;
    this.pendingWrites.clear();
    this.pendingReads.clear();
    this.host.trace(`${this.id} shutdown`);
  }

  tick(): void {
    if (!this.raw) return;
    this.raw.tick();
    this.drive();
  }

  receive(envelope: Envelope): void {
    if (!this.raw) return;
    if (envelope.kind === 'raft') this.raw.step(envelope.message);
    else if (envelope.kind === 'request') this.handleRequest(envelope.request, envelope.from);
    this.drive();
  }

  /** Asks the (leader) node to change the membership. Returns false when it was not accepted. */
  proposeConfChange(cc: ConfChange): boolean {
    if (!this.raw) return false;
    try {
      this.raw.proposeConfChange(cc);
    } catch (err) {
      if (err instanceof ProposalDroppedError) return false;
      throw err;
    }
    this.drive();
    return true;
  }

  transferLeadership(to: string): void {
    if (!this.raw) return;
    try {
      this.raw.transferLeadership(to);
    } catch (err) {
      if (!(err instanceof ProposalDroppedError)) throw err;
    }
    this.drive();
  }

  /** The leader's view of how far a peer's log matches (for promoting caught-up learners). */
  matchOf(peer: string): number {
    return this.raw?.status().progress?.[peer]?.match ?? 0;
  }

  get commitIndex(): number {
    return this.raw?.status().commit ?? 0;
  }

  private handleRequest(request: ClientRequest, from: string): void {
    const raw = this.raw!;
    const op = request.op;
    if (op.kind === 'get') {
      const ctx = `${this.id}/${this.incarnation}/${++this.readCounter}`;
      try {
        raw.readIndex(new TextEncoder().encode(ctx));
      } catch (err) {
        if (!(err instanceof ProposalDroppedError)) throw err;
        this.reject(request, from, err.leader, err.reason);
        return;
      }
      this.pendingReads.set(ctx, { request, from, index: undefined });
      return;
    }
    if (this.role !== Role.Leader) {
      this.reject(request, from, this.leader, 'not-leader');
      return;
    }
    try {
      raw.propose(encodeCommand({ client: request.client, seq: request.seq, op }));
    } catch (err) {
      if (!(err instanceof ProposalDroppedError)) throw err;
      this.reject(request, from, err.leader, err.reason);
      return;
    }
    this.pendingWrites.set(`${request.client}/${request.seq}`, { request, from });
  }

  private reject(request: ClientRequest, to: string, leaderHint: string, reason: string): void {
    const response: ClientResponse = {
      client: request.client,
      seq: request.seq,
      attempt: request.attempt,
      kind: 'rejected',
      leaderHint: leaderHint === this.id ? NONE : leaderHint,
      reason,
    };
    this.host.send({ kind: 'response', from: this.id, to, response });
  }

  /** Handles every Ready the node has, in contract order, unless a crash strikes. */
  private drive(): void {
    while (this.raw?.hasReady()) {
      if (!this.handleReady(this.raw.ready())) return;
    }
  }

  /** Returns false when the node crashed part-way. */
  private handleReady(rd: Ready): boolean {
    const raw = this.raw!;
    const storage = this.storage!;
    const monitor = this.host.monitor;
    if (rd.hardState !== undefined) this.term = rd.hardState.term;
    if (rd.softState !== undefined) {
      const wasLeader = this.role === Role.Leader;
      this.leader = rd.softState.leader;
      this.role = rd.softState.role;
      if (this.role === Role.Leader && !wasLeader) {
        this.host.trace(`${this.id} leader term=${this.term}`);
        monitor.onLeader(this.id, this.term, storage);
      }
    }
    if (rd.hardState !== undefined) {
      const persistedEnd = Math.max(
        rd.snapshot?.meta.index ?? 0,
        rd.entries.length > 0 ? rd.entries[rd.entries.length - 1]!.index : storage.lastIndex(),
      );
      if (rd.hardState.commit > persistedEnd) {
        monitor.report(
          'durability',
          `${this.id} (${this.role}, term ${this.term}) hands out commit ${rd.hardState.commit} while its durable log ends at ${persistedEnd}`,
        );
      } else if (this.role === Role.Leader && rd.hardState.commit > this.commit) {
        monitor.onLeaderCommit(
          this.id,
          this.term,
          rd.hardState.commit,
          termAt(storage, rd, rd.hardState.commit),
        );
      }
      this.commit = rd.hardState.commit;
    }
    const crashAt = this.host.crashPoint(this.id, rd);
    if (crashAt === 'before-persist') return this.crashNow(crashAt);

    // 1. Persist: one atomic batch, synced when the core says so.
    if (rd.hardState !== undefined || rd.entries.length > 0 || rd.snapshot !== undefined) {
      this.disk.write({ hardState: rd.hardState, entries: rd.entries, snapshot: rd.snapshot });
      if (rd.mustSync || rd.snapshot !== undefined) this.disk.sync();
    }
    if (rd.snapshot !== undefined) storage.applySnapshot(rd.snapshot);
    if (rd.hardState !== undefined) storage.setHardState(rd.hardState);
    if (rd.entries.length > 0) {
      monitor.onPersisted(this.id, rd.entries, termBefore(storage, rd.entries[0]!.index, rd.snapshot));
      storage.append(rd.entries);
    }
    if (crashAt === 'after-persist') return this.crashNow(crashAt);

    // 2. Send.
    const cut = crashAt === 'mid-send' ? this.random.int(rd.messages.length + 1) : rd.messages.length;
    for (let i = 0; i < cut; i++) {
      const m = rd.messages[i]!;
      if (m.type === MessageType.VoteResponse && !m.reject) {
        this.host.trace(`${this.id} votes for ${m.to} in term ${m.term}`);
        monitor.onVoteGranted(this.id, m.term, m.to);
      }
      this.sendRaft(m);
    }
    if (crashAt === 'mid-send' || crashAt === 'after-send') return this.crashNow(crashAt);

    // 3. Apply.
    if (rd.snapshot !== undefined) this.restoreSnapshot(rd.snapshot);
    const applyCut = crashAt === 'mid-apply' ? this.random.int(rd.committedEntries.length + 1) : -1;
    for (let i = 0; i < rd.committedEntries.length; i++) {
      if (i === applyCut) return this.crashNow(crashAt!);
      this.applyEntry(rd.committedEntries[i]!);
    }
    if (applyCut === rd.committedEntries.length) return this.crashNow(crashAt!);
    for (const rs of rd.readStates) {
      const ctx = new TextDecoder().decode(rs.context);
      const read = this.pendingReads.get(ctx);
      if (read !== undefined) read.index = rs.index;
    }
    this.answerReads();
    this.maybeCompact();
    if (crashAt === 'before-advance') return this.crashNow(crashAt);

    // 4. Advance.
    raw.advance();
    return true;
  }

  private crashNow(point: CrashPoint): false {
    this.host.trace(`${this.id} crash point ${point}`);
    this.crash();
    return false;
  }

  /** The network could not deliver to `peer` (cut link, or the peer is down): tell the core. */
  reportUnreachable(peer: string): void {
    this.raw?.reportUnreachable(peer);
  }

  private sendRaft(message: Message): void {
    this.host.send({ kind: 'raft', from: this.id, to: message.to, message });
  }

  private restoreSnapshot(snapshot: Snapshot): void {
    this.kv = KvStore.restore(snapshot.data, snapshot.meta.index);
    this.snapshotIndex = snapshot.meta.index;
    this.confState = snapshot.meta.confState;
    this.host.monitor.onSnapshotRestored(this.id, snapshot.meta.index, this.kv.chain);
    this.host.trace(`${this.id} restore snapshot ${snapshot.meta.index}`);
  }

  private applyEntry(entry: Entry): void {
    const kv = this.kv!;
    if (entry.index <= kv.applied) {
      this.host.monitor.report(
        'harness',
        `${this.id} was handed entry ${entry.index} again after applying ${kv.applied}`,
      );
      return;
    }
    const result = kv.applyEntry(entry.index, entry.term, entry.type, entry.data);
    this.host.monitor.onApplied(this.id, entry.index, entry.term, kv.chain);
    if (entry.type === EntryType.ConfChange) {
      const cc = decodeConfChange(entry.data);
      this.confState = this.raw!.applyConfChange(cc);
      this.host.trace(`${this.id} apply conf ${ConfChangeType[cc.type]} ${cc.nodeId} @${entry.index}`);
      this.host.confChangeApplied(this.id, cc, this.confState);
      return;
    }
    if (result === undefined) return;
    const key = `${result.command.client}/${result.command.seq}`;
    const waiting = this.pendingWrites.get(key);
    if (waiting === undefined) return;
    this.pendingWrites.delete(key);
    if (waiting.request.seq !== result.command.seq) return;
    this.host.monitor.onAcknowledged(entry.index, entry.term);
    const response: ClientResponse = {
      client: waiting.request.client,
      seq: waiting.request.seq,
      attempt: waiting.request.attempt,
      kind: 'ok',
      output: result.output,
      index: entry.index,
      term: entry.term,
    };
    this.host.send({ kind: 'response', from: this.id, to: waiting.from, response });
  }

  private answerReads(): void {
    const kv = this.kv!;
    for (const [ctx, read] of this.pendingReads) {
      if (read.index === undefined || read.index > kv.applied) continue;
      this.pendingReads.delete(ctx);
      const op = read.request.op;
      if (op.kind !== 'get') continue;
      const response: ClientResponse = {
        client: read.request.client,
        seq: read.request.seq,
        attempt: read.request.attempt,
        kind: 'ok',
        output: { value: kv.get(op.key) },
        index: read.index,
        term: this.term,
      };
      this.host.send({ kind: 'response', from: this.id, to: read.from, response });
    }
  }

  /** Periodic snapshot + compaction, so that slow and new followers get snapshots installed. */
  private maybeCompact(): void {
    const kv = this.kv!;
    const storage = this.storage!;
    if (kv.applied - this.snapshotIndex < this.config.snapshotEvery) return;
    // The state machine may run ahead of the persisted log only under the 'apply-before-persist' bug;
    // a snapshot must name an index the log holds, so wait.
    if (kv.applied > storage.lastIndex()) return;
    const snapshot = storage.createSnapshot(kv.applied, this.confState, kv.serialize());
    const compactTo = Math.max(this.snapshotIndex, kv.applied - this.config.keepEntries);
    this.disk.saveSnapshot(snapshot, compactTo);
    if (compactTo > storage.firstIndex() - 1) storage.compact(compactTo);
    this.snapshotIndex = kv.applied;
    this.host.trace(`${this.id} snapshot ${kv.applied} compact ${compactTo}`);
  }
}

/** The term of the entry at `index`, from this Ready's entries or the persisted log, if known. */
function termAt(storage: MemoryStorage, rd: Ready, index: number): number | undefined {
  const fresh = rd.entries.find((e) => e.index === index);
  if (fresh !== undefined) return fresh.term;
  try {
    return storage.term(index);
  } catch {
    return undefined;
  }
}

/** The term of the entry just before `index` in the persisted log, if still known. */
function termBefore(
  storage: MemoryStorage,
  index: number,
  snapshot: Snapshot | undefined,
): number | undefined {
  if (snapshot !== undefined && snapshot.meta.index === index - 1) return snapshot.meta.term;
  try {
    return storage.term(index - 1);
  } catch {
    return undefined;
  }
}
