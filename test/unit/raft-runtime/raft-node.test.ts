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

  it('syncs writes in place on followers and on the thread pool on the leader', async () => {
    cluster = new TestCluster();
    await cluster.bootstrap(['a', 'b', 'c']);
    const leader = await cluster.leader();
    await leader.propose(text('warm-up'));
    await cluster.converged(1);
    const modes = new Map<string, Set<string>>();
    for (const node of cluster.running()) {
      const disk = (node as unknown as { disk: RaftStorage }).disk;
      const save = disk.save.bind(disk);
      const seen = new Set<string>();
      modes.set(node.id, seen);
      jest.spyOn(disk, 'save').mockImplementation((update, options) => {
        if (update.entries.length > 0) seen.add(options.syncMode ?? 'threadpool');
        return save(update, options);
      });
    }
    await leader.propose(text('watched'));
    await cluster.converged(2);
    for (const [id, seen] of modes) {
      expect([id, [...seen]]).toEqual([id, id === leader.id ? ['threadpool'] : ['inline']]);
    }
  });

  it('acknowledges a proposal once both followers persisted it, while the leader is still writing it', async () => {
    // A stalled leader sends no heartbeats either: a long election timeout keeps it leading meanwhile.
    cluster = new TestCluster({ electionTicks: 100 });
    await cluster.bootstrap(['a', 'b', 'c']);
    const leader = await cluster.leader();
    await leader.propose(text('before'));
    // Hold every write of the leader that carries entries, as a disk stalled in fsync would.
    const disk = (leader as unknown as { disk: RaftStorage }).disk;
    const save = disk.save.bind(disk);
    let release!: () => void;
    const stalled = new Promise<void>((resolve) => {
      release = resolve;
    });
    let held = 0;
    jest.spyOn(disk, 'save').mockImplementation(async (update, options) => {
      if (update.entries.length > 0) {
        held++;
        await stalled;
      }
      return save(update, options);
    });
    try {
      await leader.propose(text('during-stall'), { signal: AbortSignal.timeout(5000) });
      expect(held).toBe(1);
      expect(cluster.members.get(leader.id)!.machine.values).toEqual(['before', 'during-stall']);
    } finally {
      release();
    }
    await leader.propose(text('after-stall'));
    await cluster.converged(3);
    for (const m of cluster.members.values()) {
      expect(m.machine.values).toEqual(['before', 'during-stall', 'after-stall']);
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
