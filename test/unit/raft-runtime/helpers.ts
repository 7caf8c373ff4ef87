// In-process RaftNode clusters on loopback for the runtime's tests: a recording state machine,
// fast ticks, temp data directories, and a stop() that always releases everything.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AppliedEntry, RaftNode, type RaftNodeOptions, type StateMachine } from '../../../raft/runtime';
import { freePorts } from '../../integration/support/ports';
import { waitUntil } from '../../integration/support/wait';

/** Keeps every applied command, in order; its snapshot is the JSON of that list. */
export class RecordingStateMachine implements StateMachine {
  values: string[] = [];
  restores = 0;

  apply(entries: readonly AppliedEntry[]): void {
    for (const e of entries) this.values.push(Buffer.from(e.data).toString());
  }

  snapshot(): Uint8Array {
    return Buffer.from(JSON.stringify(this.values));
  }

  restore(data: Uint8Array): void {
    this.restores++;
    this.values = data.byteLength === 0 ? [] : (JSON.parse(Buffer.from(data).toString()) as string[]);
  }
}

export interface TestMember {
  id: string;
  address: string;
  dataDir: string;
  machine: RecordingStateMachine;
  node: RaftNode | undefined;
}

export class TestCluster {
  readonly members = new Map<string, TestMember>();
  private readonly dirs: string[] = [];

  constructor(private readonly defaults: Partial<RaftNodeOptions> = {}) {}

  /** Starts `ids` as the initial members of a new cluster. */
  async bootstrap(ids: string[]): Promise<void> {
    const ports = await freePorts(ids.length);
    const initial = Object.fromEntries(ids.map((id, i) => [id, `127.0.0.1:${ports[i]}`]));
    for (const id of ids) this.members.set(id, this.newMember(id, initial[id]!));
    await Promise.all(ids.map((id) => this.start(id, { initialMembers: initial })));
  }

  /** Starts a member that joins later (empty, waiting to be added). */
  async startJoiner(id: string): Promise<TestMember> {
    const [port] = await freePorts(1);
    const member = this.newMember(id, `127.0.0.1:${port}`);
    this.members.set(id, member);
    await this.start(id, { join: true });
    return member;
  }

  async start(id: string, extra: Partial<RaftNodeOptions> = {}): Promise<RaftNode> {
    const m = this.members.get(id)!;
    m.node = await RaftNode.start({
      id,
      dataDir: m.dataDir,
      listen: m.address,
      stateMachine: m.machine,
      tickMs: 10,
      electionTicks: 10,
      ...this.defaults,
      ...extra,
    });
    return m.node;
  }

  node(id: string): RaftNode {
    const node = this.members.get(id)?.node;
    if (!node) throw new Error(`member ${id} is not running`);
    return node;
  }

  running(): RaftNode[] {
    return [...this.members.values()].flatMap((m) => (m.node ? [m.node] : []));
  }

  async leader(among: RaftNode[] = this.running()): Promise<RaftNode> {
    return waitUntil(
      () => {
        const leaders = among.filter((n) => n.isLeader);
        if (leaders.length !== 1) return undefined;
        const id = leaders[0]!.id;
        return among.every((n) => n.leaderInfo().id === id) ? leaders[0] : undefined;
      },
      { what: 'one leader known to every running member', timeoutMs: 10_000 },
    );
  }

  /** Waits until every running member applied `count` commands. */
  async converged(count: number): Promise<void> {
    await waitUntil(
      () => this.running().every((n) => this.members.get(n.id)!.machine.values.length >= count),
      {
        what: `every member to apply ${count} commands`,
        timeoutMs: 10_000,
      },
    );
  }

  async stop(id: string): Promise<void> {
    const m = this.members.get(id)!;
    const node = m.node;
    m.node = undefined;
    await node?.stop({ transferLeadership: false });
  }

  /** Stops every member and removes every data directory. */
  async close(): Promise<void> {
    await Promise.all([...this.members.keys()].map((id) => this.stop(id)));
    for (const dir of this.dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  }

  private newMember(id: string, address: string): TestMember {
    const dataDir = mkdtempSync(join(tmpdir(), `orch-raft-runtime-${id}-`));
    this.dirs.push(dataDir);
    return { id, address, dataDir, machine: new RecordingStateMachine(), node: undefined };
  }
}
