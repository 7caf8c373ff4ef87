import {
  AbortError,
  NotCaughtUpError,
  NotLeaderError,
  RaftNode,
  RaftStoppedError,
} from '../../../raft/runtime';
import { type RaftStorage, StorageLockedError } from '../../../raft/storage';
import { waitUntil } from '../../integration/support/wait';
import { TestCluster } from './helpers';

const text = (s: string) => Buffer.from(s);

describe('RaftNode', () => {
  let cluster: TestCluster;

  afterEach(async () => {
    await cluster.close();
  });

  it('elects a leader and applies proposals on every member in log order', async () => {
    cluster = new TestCluster();
    await cluster.bootstrap(['a', 'b', 'c']);
    const leader = await cluster.leader();
    const indexes = await Promise.all(Array.from({ length: 50 }, (_, i) => leader.propose(text(`v${i}`))));
    expect(new Set(indexes.map((r) => r.index)).size).toBe(50);
    await cluster.converged(50);
    const logs = [...cluster.members.values()].map((m) => m.machine.values);
    expect(logs[0]).toHaveLength(50);
    expect(logs[1]).toEqual(logs[0]);
    expect(logs[2]).toEqual(logs[0]);
    expect([...logs[0]!].sort()).toEqual(Array.from({ length: 50 }, (_, i) => `v${i}`).sort());
  });

  it('refuses a proposal on a follower with NotLeaderError naming the leader and its address', async () => {
    cluster = new TestCluster();
    await cluster.bootstrap(['a', 'b', 'c']);
    const leader = await cluster.leader();
    const follower = cluster.running().find((n) => n !== leader)!;
    const err = await follower.propose(text('x')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotLeaderError);
    expect(err).toMatchObject({ leader: leader.id, leaderAddress: leader.address });
  });

  it('serves a linearizable read on a follower: a write acknowledged by the leader is visible after readBarrier', async () => {
    cluster = new TestCluster();
    await cluster.bootstrap(['a', 'b', 'c']);
    const leader = await cluster.leader();
    const follower = cluster.running().find((n) => n !== leader)!;
    for (let i = 0; i < 20; i++) {
      await leader.propose(text(`w${i}`));
      const { index } = await follower.readBarrier();
      expect(index).toBeGreaterThan(0);
      expect(cluster.members.get(follower.id)!.machine.values).toContain(`w${i}`);
    }
  });

  it('rejects a proposal whose signal fires with AbortError, and pending requests with RaftStoppedError on stop()', async () => {
    cluster = new TestCluster();
    await cluster.bootstrap(['a']);
    const leader = await cluster.leader();
    const controller = new AbortController();
    controller.abort();
    await expect(leader.propose(text('x'), { signal: controller.signal })).rejects.toBeInstanceOf(AbortError);
    await cluster.stop('a');
    await expect(leader.propose(text('y'))).rejects.toBeInstanceOf(RaftStoppedError);
  });

  it('restarts from its data directory: snapshot plus log replay rebuild the state, and the log was compacted', async () => {
    cluster = new TestCluster({ snapshotEvery: 30, compactionTailEntries: 5 });
    await cluster.bootstrap(['a', 'b', 'c']);
    let leader = await cluster.leader();
    for (let i = 0; i < 100; i++) await leader.propose(text(`v${i}`));
    await cluster.converged(100);
    const before = cluster.members.get('a')!.machine.values.slice();
    expect(cluster.node('a').status().snapshotIndex).toBeGreaterThan(60);
    await Promise.all(['a', 'b', 'c'].map((id) => cluster.stop(id)));
    for (const m of cluster.members.values()) m.machine.values = [];
    await Promise.all(['a', 'b', 'c'].map((id) => cluster.start(id)));
    expect(cluster.members.get('a')!.machine.restores).toBe(1);
    leader = await cluster.leader();
    await leader.propose(text('after-restart'));
    await cluster.converged(101);
    expect(cluster.members.get('a')!.machine.values).toEqual([...before, 'after-restart']);
  });

  it('refuses to open a data directory another member holds', async () => {
    cluster = new TestCluster();
    await cluster.bootstrap(['a']);
    const m = cluster.members.get('a')!;
    await expect(
      RaftNode.start({ id: 'a', dataDir: m.dataDir, listen: '127.0.0.1:0', stateMachine: m.machine }),
    ).rejects.toBeInstanceOf(StorageLockedError);
  });

  it('adds a learner that catches up by snapshot, promotes it once caught up, and removes a member', async () => {
    cluster = new TestCluster({ snapshotEvery: 20, compactionTailEntries: 5 });
    await cluster.bootstrap(['a', 'b', 'c']);
    const leader = await cluster.leader();
    for (let i = 0; i < 60; i++) await leader.propose(text(`v${i}`));

    const joiner = await cluster.startJoiner('d');
    // Not a member yet: promotion is refused.
    await expect(leader.promote('d')).rejects.toThrow(/not a learner/);
    await leader.addLearner('d', joiner.address);
    expect(leader.status().learners).toEqual(['d']);
    await cluster.converged(60);
    expect(joiner.machine.restores).toBe(1);
    expect(joiner.machine.values).toEqual(
      cluster.members.get(leader.id)!.machine.values.slice(0, joiner.machine.values.length),
    );

    await waitUntil(
      async () => {
        try {
          await leader.promote('d');
          return true;
        } catch (err) {
          if (err instanceof NotCaughtUpError) return false;
          throw err;
        }
      },
      { what: 'd to be promoted', timeoutMs: 10_000 },
    );
    expect(leader.status().voters).toEqual(['a', 'b', 'c', 'd']);
    await waitUntil(() => joiner.node!.status().voters.includes('d'), { what: 'd to learn it is a voter' });
    // The joiner learned every peer's address from the snapshot.
    expect([...joiner.node!.memberList().keys()].sort()).toEqual(['a', 'b', 'c', 'd']);

    // A removed member may never hear of its removal (the leader stops talking to it once the change
    // applies), so only the remaining members' view is asserted.
    const victim = ['a', 'b', 'c'].find((id) => id !== leader.id)!;
    await leader.removeMember(victim);
    expect(leader.status().voters).not.toContain(victim);
    expect(leader.memberList().has(victim)).toBe(false);
    await cluster.stop(victim);
    await leader.propose(text('after-removal'));
    await waitUntil(() => joiner.machine.values.includes('after-removal'), {
      what: 'the joiner to apply new writes',
    });
  });

  /** Replaces `node`'s disk.save with `hook`, which may hold a write before handing it to the real one. */
  function onSave(
    node: RaftNode,
    hook: (update: Parameters<RaftStorage['save']>[0], mode: string) => Promise<void> | void,
  ): void {
    const disk = (node as unknown as { disk: RaftStorage }).disk;
    const save = disk.save.bind(disk);
    jest.spyOn(disk, 'save').mockImplementation(async (update, options) => {
      await hook(update, options.syncMode ?? 'threadpool');
      return save(update, options);
    });
  }

  function gate(): { opened: Promise<void>; open: () => void } {
    let open!: () => void;
    const opened = new Promise<void>((resolve) => {
      open = resolve;
    });
    return { opened, open };
  }

  /** The leader of a new 3-member cluster in which the entry 'before' is applied everywhere. */
  async function settledLeader(options: { electionTicks?: number } = {}): Promise<RaftNode> {
    cluster = new TestCluster(options);
    await cluster.bootstrap(['a', 'b', 'c']);
    const leader = await cluster.leader();
    await leader.propose(text('before'));
    await cluster.converged(1);
    return leader;
  }

  /**
   * A 3-member cluster with one entry applied everywhere, whose followers then hold every write that
   * carries entries until `followers.open()`. Followers that hold their writes send no heartbeat
   * responses either, and a stalled leader no heartbeats: a long election timeout keeps the leader.
   */
  async function leaderWithHeldFollowers(): Promise<{
    leader: RaftNode;
    followers: ReturnType<typeof gate>;
  }> {
    const leader = await settledLeader({ electionTicks: 100 });
    const followers = gate();
    for (const node of cluster.running().filter((n) => n !== leader)) {
      onSave(node, (update) => (update.entries.length > 0 ? followers.opened : undefined));
    }
    return { leader, followers };
  }

  it('syncs in place on followers, and on the leader for a lone write (one entry, nothing else in flight)', async () => {
    const leader = await settledLeader();
    const modes = new Map<string, string[]>();
    for (const node of cluster.running()) {
      const seen: string[] = [];
      modes.set(node.id, seen);
      onSave(node, (update, mode) => {
        if (update.entries.length > 0) seen.push(mode);
      });
    }
    await leader.propose(text('watched'));
    await cluster.converged(2);
    for (const [id, seen] of modes) expect([id, [...new Set(seen)]]).toEqual([id, ['inline']]);
  });

  it('syncs a batch of several new entries on the thread pool on the leader', async () => {
    const leader = await settledLeader();
    const modes: string[] = [];
    onSave(leader, (update, mode) => {
      if (update.entries.length > 0) modes.push(`${update.entries.length} ${mode}`);
    });
    // Proposed in one turn of the event loop: one Ready carries them all.
    await Promise.all(Array.from({ length: 5 }, (_, i) => leader.propose(text(`v${i}`))));
    expect(modes).toEqual(['5 threadpool']);
  });

  it('syncs on the thread pool on a leader whose earlier entries still await acknowledgements', async () => {
    const { leader, followers } = await leaderWithHeldFollowers();
    const leaderModes: string[] = [];
    onSave(leader, (update, mode) => {
      if (update.entries.length > 0) leaderModes.push(mode);
    });
    const first = leader.propose(text('first'));
    await waitUntil(() => leaderModes.length === 1, { what: 'the leader writes the first entry' });
    const second = leader.propose(text('second'));
    await waitUntil(() => leaderModes.length === 2, { what: 'the leader writes the second entry' });
    followers.open();
    await Promise.all([first, second]);
    expect(leaderModes).toEqual(['inline', 'threadpool']);
  });

  it('acknowledges a proposal once both followers persisted it, while the leader is still writing it', async () => {
    // The leader writes on the thread pool only with earlier entries in flight: followers hold their
    // writes until the leader's second write, which is held as a disk stalled in fsync would hold it.
    const { leader, followers } = await leaderWithHeldFollowers();
    const stalled = gate();
    let pooled = 0;
    let writes = 0;
    onSave(leader, (update, mode) => {
      if (update.entries.length === 0) return undefined;
      writes++;
      if (mode !== 'threadpool') return undefined;
      pooled++;
      return stalled.opened;
    });
    try {
      const first = leader.propose(text('in-flight'), { signal: AbortSignal.timeout(5000) });
      await waitUntil(() => writes === 1, { what: 'the leader writes the first entry' });
      const second = leader.propose(text('during-stall'), { signal: AbortSignal.timeout(5000) });
      await waitUntil(() => pooled === 1, { what: 'the leader holds its second write' });
      followers.open();
      await Promise.all([first, second]);
      expect(pooled).toBe(1);
      expect(cluster.members.get(leader.id)!.machine.values).toEqual(['before', 'in-flight', 'during-stall']);
    } finally {
      followers.open();
      stalled.open();
    }
    await leader.propose(text('after-stall'));
    await cluster.converged(4);
    for (const m of cluster.members.values()) {
      expect(m.machine.values).toEqual(['before', 'in-flight', 'during-stall', 'after-stall']);
    }
  });

  it('records the commit index on stop: a member restarted without a quorum replays all it applied', async () => {
    cluster = new TestCluster();
    await cluster.bootstrap(['a', 'b', 'c']);
    const leader = await cluster.leader();
    for (let i = 0; i < 10; i++) await leader.propose(text(`v${i}`));
    await cluster.converged(10);
    const before = cluster.members.get('a')!.machine.values.slice();
    await Promise.all(['a', 'b', 'c'].map((id) => cluster.stop(id)));
    cluster.members.get('a')!.machine.values = [];
    await cluster.start('a');
    // Alone, 'a' can neither elect a leader nor learn a commit index: it replays from its own disk.
    await waitUntil(() => cluster.members.get('a')!.machine.values.length >= 10 || undefined, {
      what: 'a replays its log',
      timeoutMs: 5000,
    });
    expect(cluster.members.get('a')!.machine.values).toEqual(before);
    expect(cluster.node('a').leaderInfo().id).toBe('');
  });

  it('hands leadership to another voter on a graceful stop of the leader', async () => {
    cluster = new TestCluster();
    await cluster.bootstrap(['a', 'b', 'c']);
    const leader = await cluster.leader();
    const changes: string[] = [];
    const others = cluster.running().filter((n) => n !== leader);
    for (const n of others) n.on('leader-change', (c) => changes.push(c.leader));
    const m = cluster.members.get(leader.id)!;
    m.node = undefined;
    await leader.stop();
    const next = await cluster.leader(others);
    expect(next.id).not.toBe(leader.id);
    expect(changes).toContain(next.id);
  });
});
