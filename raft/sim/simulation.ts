// One deterministic simulation run: a Raft cluster of simulated nodes running the key-value store,
// clients issuing operations, and a nemesis injecting faults (crashes, partitions, lossy links,
// leader transfers) and membership changes, all in virtual time and all drawn from one seed.
// After the fault phase the cluster is healed, every crashed node restarted, outstanding client
// operations drained and every key read once more; then the client history is checked for
// linearizability. The safety monitor checks the Raft invariants throughout.
//
// Determinism: the only randomness is the seed's Prng; events fire in (time, insertion) order;
// every collection iterated is keyed by data the run produced in a deterministic order.

import type { ConfChange, ConfState, Entry, Ready } from '../types';
import { ConfChangeType, EntryType, MessageType } from '../types';
import { SimClient } from './client';
import { Digest } from './digest';
import { SimDisk } from './disk';
import type { Envelope } from './envelope';
import { EventQueue } from './event-queue';
import { History } from './history';
import { kvModel } from './kv-model';
import { checkLinearizability } from './linearizability';
import { MembershipController } from './membership';
import { Nemesis } from './nemesis';
import { SimNetwork } from './network';
import { CRASH_POINTS, type CrashPoint, SimNode } from './node';
import { Prng } from './prng';
import { SafetyMonitor, type Violation } from './safety-monitor';
import { type Scenario, type ScenarioOverrides, scenarioFor } from './scenario';

export interface SimulationOptions extends ScenarioOverrides {
  seed: number;
  /** Collect a human-readable trace of the run (slower). */
  trace?: boolean;
  /** Stop as soon as a safety property fails (the linearizability check still runs on what exists). */
  stopOnViolation?: boolean;
}

export interface SimulationResult {
  seed: number;
  scenario: Pick<Scenario, 'profile' | 'initialVoters' | 'ticks'>;
  violations: Violation[];
  /** Digest of everything that happened: equal for two runs of the same seed and options. */
  digest: string;
  stats: {
    virtualMs: number;
    events: number;
    messages: number;
    leaderTerms: number;
    crashes: number;
    highestApplied: number;
    operations: { ok: number; failed: number; unknown: number; pending: number };
    linearizability: 'ok' | 'violation' | 'unknown';
    membershipChanges: number;
  };
  trace?: string[];
}

type SimEvent =
  | { kind: 'tick'; node: string }
  | { kind: 'restart'; node: string; incarnation: number }
  | { kind: 'shutdown'; node: string }
  | { kind: 'client-timer'; client: string; token: number }
  | { kind: 'nemesis' }
  | { kind: 'heal'; generation: number }
  | { kind: 'membership' };

/** What the nemesis and the membership controller may see and do. */
export interface ClusterControl {
  readonly random: Prng;
  readonly scenario: Scenario;
  readonly network: SimNetwork<Envelope>;
  now(): number;
  /** Nodes that are members (not removed), in creation order. */
  memberNodes(): SimNode[];
  /** The up node that believes it leads the highest term, if any. */
  leader(): SimNode | undefined;
  crash(node: SimNode): void;
  /** Schedules a heal of every partition after `afterMs`; a later partition postpones it. */
  healAfter(afterMs: number): void;
  addNode(): SimNode;
  trace(line: string): void;
}

export class Simulation implements ClusterControl {
  readonly scenario: Scenario;
  readonly random: Prng;
  readonly network: SimNetwork<Envelope>;
  private readonly events = new EventQueue<SimEvent>();
  private readonly nodes = new Map<string, SimNode>();
  private readonly removed = new Set<string>();
  private readonly clients = new Map<string, SimClient>();
  private readonly history = new History();
  readonly monitor: SafetyMonitor;
  private readonly nemesis: Nemesis;
  private readonly membership: MembershipController;
  private readonly digest = new Digest();
  private readonly traceLines: string[] | undefined;
  private time = 0;
  private eventCount = 0;
  private faultsActive = true;
  private healGeneration = 0;
  private nextNodeNumber = 1;
  private readonly nodeRandom: Prng;
  private readonly crashRandom: Prng;

  constructor(private readonly options: SimulationOptions) {
    this.scenario = scenarioFor(options.seed, options);
    this.random = new Prng(options.seed);
    this.network = new SimNetwork<Envelope>(this.random.fork(), this.scenario.calmLink);
    this.nodeRandom = this.random.fork();
    this.crashRandom = this.random.fork();
    this.monitor = new SafetyMonitor(() => this.time);
    this.traceLines = options.trace ? [] : undefined;
    this.nemesis = new Nemesis(this, this.random.fork());
    this.membership = new MembershipController(this, this.random.fork());
  }

  now(): number {
    return this.time;
  }

  trace(line: string): void {
    this.digest.addNumber(this.time).addString(line);
    this.traceLines?.push(`${String(this.time).padStart(6)} ${line}`);
  }

  memberNodes(): SimNode[] {
    return [...this.nodes.values()].filter((n) => !this.removed.has(n.id));
  }

  leader(): SimNode | undefined {
    let best: SimNode | undefined;
    for (const n of this.memberNodes()) {
      if (n.isLeader && (best === undefined || n.currentTerm > best.currentTerm)) best = n;
    }
    return best;
  }

  crash(node: SimNode): void {
    node.crash();
  }

  healAfter(afterMs: number): void {
    const generation = ++this.healGeneration;
    this.events.push(this.time + afterMs, { kind: 'heal', generation });
  }

  addNode(): SimNode {
    const node = this.createNode(new SimDisk());
    node.start();
    this.scheduleTicks(node);
    return node;
  }

  run(): SimulationResult {
    const s = this.scenario;
    const voters: string[] = [];
    for (let i = 0; i < s.initialVoters; i++) voters.push(`n${this.nextNodeNumber + i}`);
    for (let i = 0; i < s.initialVoters; i++) {
      // Every initial member starts from the bootstrap state: a snapshot at index 1 naming the voters.
      const disk = new SimDisk({
        hardState: { term: 1, vote: '', commit: 1 },
        snapshot: {
          meta: { index: 1, term: 1, confState: { voters: voters.slice(), learners: [] } },
          data: new Uint8Array(),
        },
        entries: [],
      });
      const node = this.createNode(disk);
      node.start();
      this.scheduleTicks(node);
    }
    for (let i = 0; i < s.clients; i++) this.addClient(`c${i + 1}`);
    this.events.push(this.random.between(...s.faultEveryMs), { kind: 'nemesis' });
    if (s.membershipEveryMs)
      this.events.push(this.random.between(...s.membershipEveryMs), { kind: 'membership' });

    try {
      this.runUntil(s.ticks * s.tickMs, () => false);
      this.calm();
      // Drain: every client finishes what it has in flight (or times out).
      this.runUntil(this.time + 6000, () => [...this.clients.values()].every((c) => !c.busy));
      // Final reads of every key, through the cluster, as part of the history.
      const reader = this.addClient('final', true);
      this.runUntil(this.time + 6000, () => reader.finished);
    } catch (err) {
      // The core (or the harness) threw on input it must accept: that fails the seed, with the cause.
      const e = err instanceof Error ? err : new Error(String(err));
      this.monitor.report('harness', `${e.name}: ${e.message}`);
      this.trace(`exception ${e.stack ?? e.message}`);
    }
    return this.finish();
  }

  private createNode(disk: SimDisk): SimNode {
    const id = `n${this.nextNodeNumber++}`;
    const s = this.scenario;
    const node = new SimNode(
      id,
      disk,
      this.nodeRandom.fork(),
      {
        electionTick: s.electionTick,
        heartbeatTick: s.heartbeatTick,
        snapshotEvery: s.snapshotEvery,
        keepEntries: s.keepEntries,
        maxSizePerMsg: s.maxSizePerMsg,
        maxInflightMsgs: 16,
        preVote: s.preVote,
        checkQuorum: s.checkQuorum,
        bugs: s.bugs,
      },
      {
        now: () => this.time,
        send: (envelope) => this.send(envelope),
        monitor: this.monitor,
        crashPoint: (_nodeId, ready) => this.crashPoint(ready),
        crashed: (nodeId) => this.onCrashed(nodeId),
        confChangeApplied: (nodeId, cc, cs) => this.onConfChangeApplied(nodeId, cc, cs),
        trace: (line) => this.trace(line),
      },
    );
    this.nodes.set(id, node);
    return node;
  }

  private scheduleTicks(node: SimNode): void {
    // Nodes tick out of phase with each other, as real clocks do.
    this.events.push(this.time + this.random.between(1, this.scenario.tickMs), {
      kind: 'tick',
      node: node.id,
    });
  }

  private addClient(id: string, finalReader = false): SimClient {
    const s = this.scenario;
    const client = new SimClient(
      id,
      this.random.fork(),
      {
        now: () => this.time,
        send: (envelope) => this.send(envelope),
        setTimer: (delayMs, token) =>
          this.events.push(this.time + delayMs, { kind: 'client-timer', client: id, token }),
        members: () => this.memberNodes().map((n) => n.id),
      },
      this.history,
      {
        keys: s.keys,
        attemptTimeoutMs: 150,
        operationTimeoutMs: 1500,
        thinkTimeMs: 20,
        script: finalReader ? s.keys.map((key) => ({ kind: 'get' as const, key })) : undefined,
      },
    );
    this.clients.set(id, client);
    client.start();
    return client;
  }

  private send(envelope: Envelope): void {
    if (envelope.kind === 'raft') {
      // As the real transport does: a message over a cut link, or to a node that is down (whose
      // connections a real kernel would have reset), is reported to the sender's core at once. A
      // follower that cannot reach its leader then campaigns early (reportUnreachable in the core).
      const to = this.nodes.get(envelope.to);
      if (!this.network.connected(envelope.from, envelope.to) || to === undefined || !to.up) {
        this.nodes.get(envelope.from)?.reportUnreachable(envelope.to);
      }
    }
    this.network.send(envelope, this.time);
  }

  /**
   * Whether handling this Ready crashes, and where. Readies that carry a durability promise (a vote
   * granted, client commands persisted or applied) are where a crash tells the most: they crash more often.
   */
  private crashPoint(ready: Ready): CrashPoint | undefined {
    if (!this.faultsActive) return undefined;
    const s = this.scenario;
    const isCommand = (e: Entry) => e.type === EntryType.Normal && e.data.length > 0;
    let p = s.crashPerReady;
    if (ready.entries.some(isCommand) || ready.committedEntries.some(isCommand)) p = s.crashOnCommandReady;
    if (ready.messages.some((m) => m.type === MessageType.VoteResponse && !m.reject)) p = s.crashOnVoteGrant;
    if (!this.crashRandom.chance(p)) return undefined;
    return this.crashRandom.pick(CRASH_POINTS);
  }

  private onCrashed(nodeId: string): void {
    const node = this.nodes.get(nodeId)!;
    const downtime = this.faultsActive ? this.random.between(...this.scenario.downtimeMs) : 1;
    this.events.push(this.time + downtime, { kind: 'restart', node: nodeId, incarnation: node.incarnation });
  }

  private onConfChangeApplied(nodeId: string, cc: ConfChange, _cs: ConfState): void {
    if (cc.type !== ConfChangeType.RemoveNode || this.removed.has(cc.nodeId)) return;
    // Committed (it was applied), so the removed node is no longer needed: stop it for good.
    this.removed.add(cc.nodeId);
    this.trace(`${cc.nodeId} removed (seen applied by ${nodeId})`);
    this.events.push(this.time + this.random.between(0, 30), { kind: 'shutdown', node: cc.nodeId });
  }

  /** End of the fault phase: heal everything, restart crashed nodes, reliable links. */
  private calm(): void {
    this.faultsActive = false;
    this.healGeneration++;
    this.network.heal();
    this.network.setFaults({ ...this.scenario.calmLink, dropRate: 0, duplicateRate: 0, slowRate: 0 });
    for (const client of this.clients.values()) client.stop();
    for (const node of this.memberNodes()) if (!node.up) node.start();
    this.trace('calm');
  }

  private runUntil(end: number, done: () => boolean): void {
    while (!done()) {
      if (this.options.stopOnViolation && this.monitor.failed) return;
      const nextEvent = this.events.peekTime();
      const nextMessage = this.network.nextArrival();
      const next = Math.min(nextEvent ?? Number.POSITIVE_INFINITY, nextMessage ?? Number.POSITIVE_INFINITY);
      if (next > end) {
        this.time = end;
        return;
      }
      this.time = next;
      this.eventCount++;
      // Messages first at equal times: they were in flight before the timer fired.
      if (nextMessage !== undefined && nextMessage <= (nextEvent ?? Number.POSITIVE_INFINITY)) {
        const envelope = this.network.deliverNext(next);
        if (envelope !== undefined) this.deliver(envelope); // undefined: it was lost on a cut link
      } else {
        this.handle(this.events.pop()!.item);
      }
    }
  }

  private deliver(envelope: Envelope): void {
    if (envelope.kind === 'response') {
      this.digest.addString(`r${envelope.to}${envelope.response.seq}${envelope.response.kind}`);
      this.clients.get(envelope.to)?.onResponse(envelope.response);
      return;
    }
    const node = this.nodes.get(envelope.to);
    if (node === undefined || !node.up || this.removed.has(node.id)) return;
    if (envelope.kind === 'raft') {
      const m = envelope.message;
      this.digest.addString(
        `${m.from}>${m.to}:${MessageType[m.type]}:${m.term}:${m.index}:${m.entries.length}`,
      );
    }
    node.receive(envelope);
  }

  private handle(event: SimEvent): void {
    switch (event.kind) {
      case 'tick': {
        const node = this.nodes.get(event.node)!;
        if (this.removed.has(node.id) && !node.up) return; // gone for good: stop ticking
        node.tick();
        this.events.push(this.time + this.scenario.tickMs, event);
        return;
      }
      case 'restart': {
        const node = this.nodes.get(event.node)!;
        if (!node.up && !this.removed.has(node.id) && node.incarnation === event.incarnation) node.start();
        return;
      }
      case 'shutdown': {
        this.nodes.get(event.node)!.shutdown();
        this.network.discardInFlight(event.node);
        return;
      }
      case 'client-timer':
        this.clients.get(event.client)!.onTimer(event.token);
        return;
      case 'nemesis':
        if (!this.faultsActive) return;
        this.nemesis.act();
        this.events.push(this.time + this.random.between(...this.scenario.faultEveryMs), event);
        return;
      case 'heal':
        if (event.generation === this.healGeneration) {
          this.network.heal();
          this.network.setFaults(this.scenario.calmLink);
          this.trace('heal');
        }
        return;
      case 'membership':
        if (!this.faultsActive || !this.scenario.membershipEveryMs) return;
        this.membership.act();
        this.events.push(this.time + this.random.between(...this.scenario.membershipEveryMs), event);
        return;
    }
  }

  private finish(): SimulationResult {
    const lin = checkLinearizability(kvModel, this.history.operations(), { maxStepsPerPartition: 1_000_000 });
    if (lin.verdict === 'violation') {
      const bad = lin.partitions.find((p) => p.verdict === 'violation')!;
      this.monitor.report(
        'linearizability',
        `key ${bad.name}: no linearization of its ${bad.operations} operations; stuck at ${bad.stuck?.join('; ')}`,
      );
    }
    for (const e of this.history.all()) {
      this.digest.addString(`${e.client}#${e.seq}:${e.outcome}:${JSON.stringify(e.output ?? null)}`);
    }
    const crashes = [...this.nodes.values()].reduce((sum, n) => sum + n.crashes, 0);
    return {
      seed: this.options.seed,
      scenario: {
        profile: this.scenario.profile,
        initialVoters: this.scenario.initialVoters,
        ticks: this.scenario.ticks,
      },
      violations: this.monitor.violations.slice(),
      digest: this.digest.hex(),
      stats: {
        virtualMs: this.time,
        events: this.eventCount,
        messages: this.network.stats.sent,
        leaderTerms: this.monitor.leaderTerms,
        crashes,
        highestApplied: this.monitor.highestApplied,
        operations: this.history.counts(),
        linearizability: lin.verdict,
        membershipChanges: this.membership.changes,
      },
      trace: this.traceLines,
    };
  }
}

/** Runs one seed. */
export function runSimulation(options: SimulationOptions): SimulationResult {
  return new Simulation(options).run();
}
