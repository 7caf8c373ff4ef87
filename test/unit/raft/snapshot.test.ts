import { MemoryStorage, MessageType, Role } from '../../../raft/index';
import { TestNetwork } from './network';

describe('raft snapshots (§7)', () => {
  it('sends a snapshot to a follower that needs compacted entries, then replicates after it', () => {
    const net = new TestNetwork(['a', 'b', 'c']);
    net.campaign('a');
    net.isolate('c');
    for (let i = 0; i < 10; i++) net.propose('a', `v${i}`);
    net.compact('a');
    net.compact('b');
    net.heal();
    net.delivered = [];
    net.tick(1);
    const snapshots = net.delivered.filter((m) => m.type === MessageType.Snapshot);
    expect(snapshots).toHaveLength(1);
    expect(snapshots[0]!.snapshot?.meta.index).toBe(12);
    expect(net.node('c').applied).toEqual(Array.from({ length: 10 }, (_, i) => `v${i}`));
    expect(net.node('c').storage.firstIndex()).toBe(13);
    net.propose('a', 'after');
    expect(net.node('c').applied.at(-1)).toBe('after');
    expect(net.raw('a').status().progress?.['c']?.state).toBe('replicate');
  });

  it('keeps the follower in snapshot state until the snapshot is reported, and retries after a failure', () => {
    const net = new TestNetwork(['a', 'b', 'c']);
    net.campaign('a');
    net.isolate('c');
    for (let i = 0; i < 5; i++) net.propose('a', `v${i}`);
    net.compact('a');
    net.heal();
    // The snapshot is lost on the way.
    net.filter = (m) => m.type !== MessageType.Snapshot;
    net.tick(3);
    expect(net.raw('a').status().progress?.['c']).toMatchObject({ state: 'snapshot', pendingSnapshot: 7 });
    net.raw('a').reportSnapshot('c', 'failure');
    expect(net.raw('a').status().progress?.['c']?.state).toBe('probe');
    net.filter = undefined;
    net.tick(2);
    expect(net.node('c').applied).toHaveLength(5);
    expect(net.raw('a').status().progress?.['c']?.state).toBe('replicate');
  });

  it('catches up a brand-new node that joins with empty storage', () => {
    const net = new TestNetwork(['a', 'b', 'c']);
    net.campaign('a');
    net.propose('a', 'x');
    net.addNode('d', new MemoryStorage());
    net.raw('a').proposeConfChange({ type: 0, nodeId: 'd' });
    net.stabilize();
    net.tick(2);
    expect(net.node('d').raw.status()).toMatchObject({
      leader: 'a',
      confState: { voters: ['a', 'b', 'c', 'd'] },
    });
    expect(net.node('d').applied).toEqual(['x']);
  });

  it('a follower restarts from a snapshot plus the log after it', () => {
    const net = new TestNetwork(['a', 'b', 'c']);
    net.campaign('a');
    for (let i = 0; i < 4; i++) net.propose('a', `v${i}`);
    net.compact('b');
    net.propose('a', 'tail');
    const node = net.restart('b');
    const snap = node.storage.snapshot();
    expect(node.raw.status()).toMatchObject({ commit: 7, applied: snap.meta.index, role: Role.Follower });
    // The application restores the snapshot's state; the core hands out only what came after it.
    node.applied = JSON.parse(new TextDecoder().decode(snap.data)) as string[];
    net.stabilize();
    expect(node.applied).toEqual(['v0', 'v1', 'v2', 'v3', 'tail']);
  });

  it('a follower ignores a snapshot older than its commit index', () => {
    const net = new TestNetwork(['a', 'b', 'c']);
    net.campaign('a');
    net.propose('a', 'x');
    const b = net.raw('b');
    b.step({
      type: MessageType.Snapshot,
      from: 'a',
      to: 'b',
      term: 2,
      logTerm: 0,
      index: 0,
      entries: [],
      commit: 0,
      reject: false,
      rejectHint: 0,
      snapshot: {
        meta: { index: 2, term: 2, confState: { voters: ['a'], learners: [] } },
        data: new Uint8Array(),
      },
    });
    const rd = b.ready();
    expect(rd.snapshot).toBeUndefined();
    expect(rd.messages[0]).toMatchObject({ type: MessageType.AppendResponse, index: 3 });
    b.advance();
    expect(b.status().confState.voters).toEqual(['a', 'b', 'c']);
  });
});
