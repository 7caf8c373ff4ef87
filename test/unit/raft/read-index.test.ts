import { MessageType, ProposalDroppedError } from '../../../raft/index';
import { str, TestNetwork, text } from './network';

describe('raft ReadIndex (thesis §6.4)', () => {
  it('answers a read on the leader after a heartbeat round confirms its leadership', () => {
    const net = new TestNetwork(['a', 'b', 'c']);
    net.campaign('a');
    net.propose('a', 'x');
    net.delivered = [];
    net.raw('a').readIndex(text('r1'));
    net.stabilize();
    const heartbeats = net.delivered.filter(
      (m) => m.type === MessageType.Heartbeat && str(m.context!) === 'r1',
    );
    expect(heartbeats).toHaveLength(2);
    expect(net.node('a').readStates.map((r) => [r.index, str(r.context)])).toEqual([[3, 'r1']]);
  });

  it('does not answer while the leader cannot reach a quorum', () => {
    const net = new TestNetwork(['a', 'b', 'c']);
    net.campaign('a');
    net.isolate('b');
    net.isolate('c');
    net.raw('a').readIndex(text('r1'));
    net.stabilize();
    expect(net.node('a').readStates).toEqual([]);
    net.heal();
    net.tick(1);
    expect(net.node('a').readStates).toHaveLength(1);
  });

  it('answers a follower through the leader', () => {
    const net = new TestNetwork(['a', 'b', 'c']);
    net.campaign('a');
    net.propose('a', 'x');
    net.raw('c').readIndex(text('from-c'));
    net.stabilize();
    expect(net.node('c').readStates.map((r) => [r.index, str(r.context)])).toEqual([[3, 'from-c']]);
    expect(net.node('a').readStates).toEqual([]);
  });

  it('waits until the leader has committed an entry of its term', () => {
    const net = new TestNetwork(['a', 'b', 'c']);
    // a becomes leader, but its term's first entry cannot commit yet.
    net.filter = (m) => m.type !== MessageType.AppendResponse;
    net.campaign('a');
    net.raw('a').readIndex(text('early'));
    net.stabilize();
    expect(net.node('a').readStates).toEqual([]);
    net.filter = undefined;
    net.tick(1);
    expect(net.node('a').readStates.map((r) => [r.index, str(r.context)])).toEqual([[2, 'early']]);
  });

  it('a single voter answers at once', () => {
    const net = new TestNetwork(['solo']);
    net.campaign('solo');
    net.raw('solo').readIndex(text('r'));
    net.stabilize();
    expect(net.node('solo').readStates).toHaveLength(1);
  });

  it('a node without a known leader drops the read with not-leader', () => {
    const net = new TestNetwork(['a', 'b', 'c']);
    expect(() => net.raw('a').readIndex(text('r'))).toThrow(ProposalDroppedError);
  });

  it('answers queued reads in order once a later read is confirmed', () => {
    const net = new TestNetwork(['a', 'b', 'c']);
    net.campaign('a');
    // Acks for the first read are lost.
    net.filter = (m) => !(m.type === MessageType.HeartbeatResponse && m.context && str(m.context) === 'r1');
    net.raw('a').readIndex(text('r1'));
    net.stabilize();
    net.filter = undefined;
    net.raw('a').readIndex(text('r2'));
    net.stabilize();
    expect(net.node('a').readStates.map((r) => str(r.context))).toEqual(['r1', 'r2']);
  });
});
