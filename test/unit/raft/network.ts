// A small in-test cluster: RawNodes wired by a synchronous, FIFO network that can drop messages, cut
// links and isolate nodes. Each node's Ready is handled exactly as the contract says (persist into its
// MemoryStorage, send, apply, advance). Deterministic: randomness comes from a seeded PRNG.
import {
  decodeConfChange,
  type Entry,
  EntryType,
  MemoryStorage,
  type Message,
  MessageType,
  type NodeId,
  type RaftBug,
  type RaftConfig,
  RawNode,
  type ReadState,
  type Snapshot,
} from '../../../raft/index';

export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const text = (s: string): Uint8Array => new TextEncoder().encode(s);
export const str = (b: Uint8Array): string => new TextDecoder().decode(b);

export interface NodeOptions extends Partial<Omit<RaftConfig, 'id' | 'storage' | 'random'>> {
  bugs?: ReadonlySet<RaftBug>;
}

export interface TestNode {
  id: NodeId;
  raw: RawNode;
  storage: MemoryStorage;
  /** Normal entries applied, in order, as strings (empty entries skipped). */
  applied: string[];
  /** Every committed entry handed out, in order. */
  committed: Entry[];
  readStates: ReadState[];
  /** Messages of the last Ready, before the network filtered them. */
  sent: Message[];
  options: NodeOptions;
  seed: number;
}

export class TestNetwork {
  readonly nodes = new Map<NodeId, TestNode>();
  /** Messages in flight, delivered in order. */
  queue: Message[] = [];
  private readonly cut = new Set<string>();
  private readonly isolated = new Set<NodeId>();
  /** Returns false to drop a message. */
  filter: ((m: Message) => boolean) | undefined;
  /** Rewrites a message on the way (return undefined to drop it). */
  intercept: ((m: Message) => Message | undefined) | undefined;
  /** Every message delivered, for assertions on traffic. */
  delivered: Message[] = [];
  private readonly random: () => number;

  constructor(
    voters: NodeId[],
    private readonly defaults: NodeOptions = {},
    seed = 1,
  ) {
    this.random = mulberry32(seed);
    for (const id of voters) this.addNode(id, MemoryStorage.bootstrap(voters), defaults);
  }

  addNode(id: NodeId, storage: MemoryStorage, options: NodeOptions = this.defaults): TestNode {
    const seed = Math.floor(this.random() * 2 ** 31);
    const node: TestNode = {
      id,
      raw: new RawNode({ ...options, id, storage, random: mulberry32(seed) }),
      storage,
      applied: [],
      committed: [],
      readStates: [],
      sent: [],
      options,
      seed,
    };
    this.nodes.set(id, node);
    return node;
  }

  node(id: NodeId): TestNode {
    const n = this.nodes.get(id);
    if (!n) throw new Error(`no node ${id}`);
    return n;
  }

  raw(id: NodeId): RawNode {
    return this.node(id).raw;
  }

  /** Restarts a node from its storage, forgetting all volatile state (and the messages in flight to it). */
  restart(id: NodeId, options: NodeOptions = this.node(id).options): TestNode {
    const old = this.node(id);
    this.queue = this.queue.filter((m) => m.to !== id);
    const node = this.addNode(id, old.storage, options);
    // The application state is rebuilt from the snapshot and replayed committed entries.
    return node;
  }

  isolate(id: NodeId): void {
    this.isolated.add(id);
  }

  cutLink(a: NodeId, b: NodeId): void {
    this.cut.add(`${a}->${b}`);
    this.cut.add(`${b}->${a}`);
  }

  heal(): void {
    this.isolated.clear();
    this.cut.clear();
  }

  private blocked(m: Message): boolean {
    if (this.isolated.has(m.from) || this.isolated.has(m.to)) return true;
    if (this.cut.has(`${m.from}->${m.to}`)) return true;
    if (!this.nodes.has(m.to)) return true;
    return this.filter !== undefined && !this.filter(m);
  }

  /** Handles one Ready of a node per the contract. Returns false when it had none. */
  handleReady(id: NodeId): boolean {
    const node = this.node(id);
    if (!node.raw.hasReady()) return false;
    const rd = node.raw.ready();
    // 1. persist
    if (rd.hardState) node.storage.setHardState(rd.hardState);
    if (rd.snapshot) node.storage.applySnapshot(rd.snapshot);
    node.storage.append(rd.entries);
    // 2. send
    node.sent = rd.messages;
    for (const m of rd.messages) if (!this.blocked(m)) this.queue.push(m);
    // 3. apply
    if (rd.snapshot) this.applySnapshot(node, rd.snapshot);
    for (const e of rd.committedEntries) this.applyEntry(node, e);
    node.readStates.push(...rd.readStates);
    node.raw.advance();
    return true;
  }

  private applySnapshot(node: TestNode, snap: Snapshot): void {
    node.applied = snap.data.byteLength > 0 ? (JSON.parse(str(snap.data)) as string[]) : [];
  }

  private applyEntry(node: TestNode, e: Entry): void {
    node.committed.push(e);
    if (e.type === EntryType.ConfChange) {
      node.raw.applyConfChange(decodeConfChange(e.data));
    } else if (e.data.byteLength > 0) {
      node.applied.push(str(e.data));
    }
  }

  /** Takes a snapshot of a node's applied state at its applied index and compacts its log up to there. */
  compact(id: NodeId, keep = 0): void {
    const node = this.node(id);
    const status = node.raw.status();
    node.storage.createSnapshot(status.applied, status.confState, text(JSON.stringify(node.applied)));
    if (status.applied - keep > node.storage.firstIndex() - 1) node.storage.compact(status.applied - keep);
  }

  /** Handles every Ready and delivers every message until nothing is left to do. */
  stabilize(maxRounds = 10_000): void {
    for (let round = 0; round < maxRounds; round++) {
      let progressed = false;
      for (const id of this.nodes.keys()) while (this.handleReady(id)) progressed = true;
      const batch = this.queue;
      this.queue = [];
      for (const sent of batch) {
        if (this.blocked(sent)) continue;
        const m = this.intercept ? this.intercept(sent) : sent;
        if (!m) continue;
        this.delivered.push(m);
        this.node(m.to).raw.step(m);
        progressed = true;
      }
      if (!progressed) return;
    }
    const recent = this.delivered
      .slice(-6)
      .map((m) => `${MessageType[m.type]} ${m.from}->${m.to} t${m.term} i${m.index}`);
    throw new Error(`network did not stabilize; last messages: ${recent.join(', ')}`);
  }

  /** Ticks every node (or the given ones) n times, stabilizing after each tick. */
  tick(n = 1, ids: NodeId[] = [...this.nodes.keys()]): void {
    for (let i = 0; i < n; i++) {
      for (const id of ids) this.node(id).raw.tick();
      this.stabilize();
    }
  }

  campaign(id: NodeId): void {
    this.raw(id).campaign();
    this.stabilize();
  }

  propose(id: NodeId, data: string): { index: number; term: number } {
    const result = this.raw(id).propose(text(data));
    this.stabilize();
    return result;
  }

  leaders(): NodeId[] {
    return [...this.nodes.values()].filter((n) => n.raw.status().role === 'leader').map((n) => n.id);
  }

  /** Ticks until exactly one leader exists among `among` (default: all), at most maxTicks. */
  tickUntilLeader(maxTicks = 200, among: NodeId[] = [...this.nodes.keys()]): NodeId {
    for (let i = 0; i < maxTicks; i++) {
      const leaders = this.leaders().filter((id) => among.includes(id));
      if (leaders.length === 1 && among.every((id) => this.raw(id).status().leader === leaders[0])) {
        return leaders[0]!;
      }
      this.tick(1);
    }
    throw new Error('no leader elected');
  }
}
