import { MemoryStorage, MessageType, RawNode, Role } from '../../../raft/index';
import { mulberry32, str, TestNetwork, text } from './network';

function soloLeader(bugs?: ReadonlySet<'apply-before-persist'>) {
  const storage = MemoryStorage.bootstrap(['solo']);
  const node = new RawNode({ id: 'solo', storage, random: mulberry32(1), ...(bugs ? { bugs } : {}) });
  node.campaign();
  // Handle Readys until idle, the way a correct harness does.
  while (node.hasReady()) {
    const rd = node.ready();
    if (rd.hardState) storage.setHardState(rd.hardState);
    storage.append(rd.entries);
    node.advance();
  }
  return { node, storage };
}

describe('raft Ready contract', () => {
  it('reports the role change, the new term and vote, and the entry of the new term', () => {
    const storage = MemoryStorage.bootstrap(['solo']);
    const node = new RawNode({ id: 'solo', storage, random: mulberry32(1) });
    expect(node.hasReady()).toBe(false);
    node.campaign();
    const rd = node.ready();
    expect(rd.softState).toEqual({ leader: 'solo', role: Role.Leader });
    expect(rd.hardState).toEqual({ term: 2, vote: 'solo', commit: 1 });
    expect(rd.entries).toMatchObject([{ index: 2, term: 2 }]);
    expect(rd.committedEntries).toEqual([]);
    expect(rd.mustSync).toBe(true);
  });

  it('a leader counts its own entry toward commit only after the caller persisted it', () => {
    const { node, storage } = soloLeader();
    const { index } = node.propose(text('x'));
    const first = node.ready();
    expect(first.entries.map((e) => e.index)).toEqual([index]);
    expect(first.committedEntries).toEqual([]);
    storage.append(first.entries);
    node.advance();
    const second = node.ready();
    expect(second.committedEntries.map((e) => str(e.data))).toEqual(['x']);
    expect(second.hardState?.commit).toBe(index);
  });

  it('with apply-before-persist, the leader hands out an entry for applying before it is persisted', () => {
    const { node, storage } = soloLeader(new Set(['apply-before-persist']));
    const { index } = node.propose(text('x'));
    const first = node.ready();
    expect(first.committedEntries.map((e) => str(e.data))).toEqual(['x']);
    expect(first.entries).toEqual([]);
    if (first.hardState) storage.setHardState(first.hardState);
    node.advance();
    // A crash here loses the applied entry: after a restart the log ends before it.
    expect(storage.lastIndex()).toBeLessThan(index);
    const restarted = new RawNode({ id: 'solo', storage, random: mulberry32(2) });
    expect(restarted.status()).toMatchObject({ lastIndex: index - 1, commit: index - 1 });
  });

  it('with apply-before-persist, a 3-node leader sends entries and commits before persisting them', () => {
    const net = new TestNetwork(['a', 'b', 'c'], { bugs: new Set(['apply-before-persist']) });
    net.campaign('a');
    net.isolate('c');
    net.raw('a').propose(text('x'));
    const rd = net.raw('a').ready();
    expect(rd.messages.some((m) => m.type === MessageType.Append && m.entries.length > 0)).toBe(true);
    expect(rd.entries).toEqual([]);
    net.queue.push(...rd.messages);
    net.raw('a').advance();
    net.stabilize();
    expect(net.node('a').applied).toEqual(['x']);
  });

  it('hands out committed entries at most maxCommittedSizePerReady bytes at a time', () => {
    const net = new TestNetwork(['a', 'b', 'c'], { maxCommittedSizePerReady: 100 });
    net.campaign('a');
    for (let i = 0; i < 10; i++) net.raw('a').propose(text(`entry-${'y'.repeat(40)}-${i}`));
    net.stabilize();
    expect(net.node('a').applied).toHaveLength(10);
    expect(net.node('b').applied).toHaveLength(10);
  });

  it('the status reports every follower progress on the leader only', () => {
    const net = new TestNetwork(['a', 'b', 'c']);
    net.campaign('a');
    net.propose('a', 'x');
    const status = net.raw('a').status();
    expect(status).toMatchObject({
      id: 'a',
      term: 2,
      vote: 'a',
      commit: 3,
      applied: 3,
      leader: 'a',
      role: Role.Leader,
    });
    expect(status.progress?.['b']).toMatchObject({ match: 3, next: 4, state: 'replicate' });
    expect(net.raw('b').status().progress).toBeUndefined();
  });
});
