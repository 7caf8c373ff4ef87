import { ConfChangeType, MemoryStorage, MessageType, ProposalDroppedError, Role } from '../../../raft/index';
import { TestNetwork, text } from './network';

describe('raft membership changes (§6, one server at a time)', () => {
  it('a learner catches up without voting or counting in quorums, then is promoted', () => {
    const net = new TestNetwork(['a', 'b', 'c']);
    net.campaign('a');
    net.propose('a', 'x');
    net.addNode('d', new MemoryStorage());
    net.raw('a').proposeConfChange({ type: ConfChangeType.AddLearner, nodeId: 'd' });
    net.stabilize();
    net.tick(2);
    expect(net.node('d').applied).toEqual(['x']);
    expect(net.raw('a').status().confState).toEqual({ voters: ['a', 'b', 'c'], learners: ['d'] });
    expect(net.raw('a').status().progress?.['d']).toMatchObject({ isLearner: true, state: 'replicate' });
    // A learner does not count: with b and c down, nothing commits even though d has the entry.
    net.isolate('b');
    net.isolate('c');
    net.raw('a').propose(text('y'));
    net.stabilize();
    expect(net.node('a').applied).toEqual(['x']);
    // A learner never campaigns.
    net.isolate('a');
    for (let i = 0; i < 50; i++) net.raw('d').tick();
    expect(net.raw('d').status().role).toBe(Role.Follower);
    net.heal();
    net.tick(1);
    expect(net.node('a').applied).toEqual(['x', 'y']);
    // Promotion is AddVoter on the learner.
    net.raw('a').proposeConfChange({ type: ConfChangeType.AddVoter, nodeId: 'd' });
    net.stabilize();
    expect(net.raw('d').status().confState).toEqual({ voters: ['a', 'b', 'c', 'd'], learners: [] });
    net.isolate('b');
    net.propose('a', 'z');
    expect(net.node('a').applied).toEqual(['x', 'y', 'z']);
  });

  it('removes a follower; it then never campaigns and is not counted', () => {
    const net = new TestNetwork(['a', 'b', 'c']);
    net.campaign('a');
    net.raw('a').proposeConfChange({ type: ConfChangeType.RemoveNode, nodeId: 'c' });
    net.stabilize();
    net.tick(1);
    expect(net.raw('a').status().confState.voters).toEqual(['a', 'b']);
    expect(net.raw('c').status().confState.voters).toEqual(['a', 'b']);
    for (let i = 0; i < 50; i++) net.raw('c').tick();
    expect(net.raw('c').status().role).toBe(Role.Follower);
    net.isolate('c');
    net.propose('a', 'x');
    expect(net.node('b').applied).toEqual(['x']);
  });

  it('removes the leader: it steps down once the change is applied and the others elect a new one', () => {
    const net = new TestNetwork(['a', 'b', 'c']);
    net.campaign('a');
    net.raw('a').proposeConfChange({ type: ConfChangeType.RemoveNode, nodeId: 'a' });
    net.stabilize();
    expect(net.raw('a').status()).toMatchObject({ role: Role.Follower, confState: { voters: ['b', 'c'] } });
    net.isolate('a');
    const leader = net.tickUntilLeader(200, ['b', 'c']);
    expect(['b', 'c']).toContain(leader);
    net.propose(leader, 'x');
    expect(net.node('b').applied).toEqual(['x']);
    expect(net.node('c').applied).toEqual(['x']);
  });

  it('accepts one conf change at a time', () => {
    const net = new TestNetwork(['a', 'b', 'c']);
    net.campaign('a');
    net.isolate('b');
    net.isolate('c');
    net.raw('a').proposeConfChange({ type: ConfChangeType.AddLearner, nodeId: 'd' });
    expect(() => net.raw('a').proposeConfChange({ type: ConfChangeType.AddLearner, nodeId: 'e' })).toThrow(
      expect.objectContaining({ reason: 'conf-change-pending' }),
    );
    net.heal();
    net.tick(1);
    expect(() =>
      net.raw('a').proposeConfChange({ type: ConfChangeType.AddLearner, nodeId: 'e' }),
    ).not.toThrow();
  });

  it('a new leader refuses conf changes until it has applied every entry of earlier terms', () => {
    const net = new TestNetwork(['a', 'b', 'c'], { checkQuorum: false });
    net.campaign('a');
    net.isolate('b');
    net.isolate('c');
    net.raw('a').propose(text('uncommitted'));
    net.stabilize();
    net.heal();
    // a is re-elected, but its followers' acknowledgements are lost: nothing of the old term is applied.
    net.restart('a');
    net.filter = (m) => m.type !== 2 /* AppendResponse */;
    net.campaign('a');
    expect(net.raw('a').status().role).toBe(Role.Leader);
    expect(() => net.raw('a').proposeConfChange({ type: ConfChangeType.AddLearner, nodeId: 'd' })).toThrow(
      expect.objectContaining({ reason: 'conf-change-pending' }),
    );
    net.filter = undefined;
    net.tick(1);
    expect(net.node('a').applied).toEqual(['uncommitted']);
    expect(() =>
      net.raw('a').proposeConfChange({ type: ConfChangeType.AddLearner, nodeId: 'd' }),
    ).not.toThrow();
  });

  it('a conf change proposed in a minority partition never takes effect; the majority moves on', () => {
    const net = new TestNetwork(['a', 'b', 'c', 'd', 'e'], { checkQuorum: false });
    net.campaign('a');
    net.cutLink('a', 'c');
    net.cutLink('a', 'd');
    net.cutLink('a', 'e');
    net.cutLink('b', 'c');
    net.cutLink('b', 'd');
    net.cutLink('b', 'e');
    net.raw('a').proposeConfChange({ type: ConfChangeType.RemoveNode, nodeId: 'e' });
    net.stabilize();
    expect(net.raw('a').status().confState.voters).toHaveLength(5);
    const leader = net.tickUntilLeader(300, ['c', 'd', 'e']);
    net.raw(leader).proposeConfChange({ type: ConfChangeType.RemoveNode, nodeId: 'b' });
    net.stabilize();
    net.heal();
    net.tick(3);
    for (const id of ['a', 'c', 'd', 'e']) {
      expect(net.raw(id).status().confState.voters).toEqual(['a', 'c', 'd', 'e']);
    }
  });

  it('refuses a conf change that would leave no voters', () => {
    const net = new TestNetwork(['a']);
    net.campaign('a');
    expect(() => net.raw('a').proposeConfChange({ type: ConfChangeType.RemoveNode, nodeId: 'a' })).toThrow(
      /no voters/,
    );
  });

  it('a follower does not accept conf changes', () => {
    const net = new TestNetwork(['a', 'b', 'c']);
    net.campaign('a');
    expect(() => net.raw('b').proposeConfChange({ type: ConfChangeType.AddLearner, nodeId: 'd' })).toThrow(
      ProposalDroppedError,
    );
  });

  it('a leader ignores responses from nodes outside its configuration', () => {
    const net = new TestNetwork(['a', 'b', 'c']);
    net.campaign('a');
    const before = net.raw('a').status();
    net.raw('a').step({
      type: MessageType.AppendResponse,
      from: 'stranger',
      to: 'a',
      term: before.term,
      logTerm: 0,
      index: 100,
      entries: [],
      commit: 0,
      reject: false,
      rejectHint: 0,
    });
    expect(net.raw('a').hasReady()).toBe(false);
    expect(net.raw('a').status()).toEqual(before);
  });
});
