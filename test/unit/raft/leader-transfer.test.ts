import {
  LeadershipTransferError,
  MemoryStorage,
  MessageType,
  ProposalDroppedError,
  Role,
} from '../../../raft/index';
import { TestNetwork, text } from './network';

describe('raft leadership transfer (thesis §3.10)', () => {
  it('hands leadership to an up-to-date follower at once', () => {
    const net = new TestNetwork(['a', 'b', 'c']);
    net.campaign('a');
    net.propose('a', 'x');
    net.raw('a').transferLeadership('b');
    net.stabilize();
    expect(net.raw('b').status()).toMatchObject({ role: Role.Leader, term: 3 });
    expect(net.raw('a').status()).toMatchObject({ role: Role.Follower, leader: 'b' });
    net.propose('b', 'y');
    expect(net.node('a').applied).toEqual(['x', 'y']);
  });

  it('catches a lagging target up before telling it to campaign', () => {
    const net = new TestNetwork(['a', 'b', 'c']);
    net.campaign('a');
    net.isolate('c');
    for (let i = 0; i < 5; i++) net.propose('a', `v${i}`);
    net.heal();
    net.delivered = [];
    net.raw('a').transferLeadership('c');
    net.stabilize();
    const timeoutNow = net.delivered.findIndex((m) => m.type === MessageType.TimeoutNow);
    const lastAppend = net.delivered.findLastIndex(
      (m) => m.type === MessageType.Append && m.to === 'c' && m.entries.length > 0,
    );
    expect(lastAppend).toBeGreaterThanOrEqual(0);
    expect(timeoutNow).toBeGreaterThan(lastAppend);
    expect(net.raw('c').status().role).toBe(Role.Leader);
    expect(net.node('c').applied).toEqual(['v0', 'v1', 'v2', 'v3', 'v4']);
  });

  it('drops proposals while a transfer is in progress, and aborts it after an election timeout', () => {
    const net = new TestNetwork(['a', 'b', 'c']);
    net.campaign('a');
    net.isolate('c');
    net.raw('a').transferLeadership('c');
    net.stabilize();
    expect(() => net.raw('a').propose(text('x'))).toThrow(
      expect.objectContaining({ reason: 'leader-transferring', leader: 'a' }),
    );
    expect(net.raw('a').status().leadTransferee).toBe('c');
    net.tick(10, ['a', 'b']);
    expect(net.raw('a').status()).toMatchObject({ role: Role.Leader, leadTransferee: '' });
    expect(() => net.raw('a').propose(text('x'))).not.toThrow();
  });

  it('refuses learners, non-members and requests on a follower', () => {
    const net = new TestNetwork(['a', 'b', 'c']);
    net.campaign('a');
    net.addNode('d', new MemoryStorage());
    net.raw('a').proposeConfChange({ type: 1, nodeId: 'd' });
    net.stabilize();
    expect(() => net.raw('a').transferLeadership('d')).toThrow(LeadershipTransferError);
    expect(() => net.raw('a').transferLeadership('zz')).toThrow(LeadershipTransferError);
    expect(() => net.raw('b').transferLeadership('c')).toThrow(ProposalDroppedError);
  });

  it('the target campaigns despite the leader lease of the other followers', () => {
    const net = new TestNetwork(['a', 'b', 'c']);
    net.campaign('a');
    net.tick(2);
    net.raw('a').transferLeadership('c');
    net.stabilize();
    expect(net.raw('c').status().role).toBe(Role.Leader);
    expect(net.raw('b').status().leader).toBe('c');
  });
});
