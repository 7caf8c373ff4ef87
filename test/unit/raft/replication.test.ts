import { type Message, MessageType, ProposalDroppedError, Role } from '../../../raft/index';
import { TestNetwork, text } from './network';

describe('raft log replication (§5.3)', () => {
  it('replicates, commits and applies proposals on every node in order', () => {
    const net = new TestNetwork(['a', 'b', 'c']);
    net.campaign('a');
    for (const v of ['x', 'y', 'z']) net.propose('a', v);
    for (const id of ['a', 'b', 'c']) {
      expect(net.node(id).applied).toEqual(['x', 'y', 'z']);
      expect(net.raw(id).status().commit).toBe(5);
    }
  });

  it('commits with a majority while a minority is down, and catches the minority up later', () => {
    const net = new TestNetwork(['a', 'b', 'c', 'd', 'e']);
    net.campaign('a');
    net.isolate('d');
    net.isolate('e');
    net.propose('a', 'x');
    expect(net.node('a').applied).toEqual(['x']);
    expect(net.node('d').applied).toEqual([]);
    net.heal();
    net.tick(1);
    expect(net.node('d').applied).toEqual(['x']);
    expect(net.node('e').applied).toEqual(['x']);
  });

  it('does not commit without a majority', () => {
    const net = new TestNetwork(['a', 'b', 'c']);
    net.campaign('a');
    net.isolate('b');
    net.isolate('c');
    net.raw('a').propose(text('x'));
    net.stabilize();
    expect(net.node('a').applied).toEqual([]);
    expect(net.raw('a').status().commit).toBe(2);
  });

  it('log matching: a new leader overwrites uncommitted conflicting entries on followers', () => {
    const net = new TestNetwork(['a', 'b', 'c'], { checkQuorum: false, preVote: false });
    net.campaign('a');
    // a appends entries only it has.
    net.isolate('a');
    net.raw('a').propose(text('lost-1'));
    net.raw('a').propose(text('lost-2'));
    net.stabilize();
    net.heal();
    net.isolate('a');
    net.campaign('b');
    net.propose('b', 'kept');
    net.heal();
    net.tick(1);
    for (const id of ['a', 'b', 'c']) {
      expect(net.node(id).applied).toEqual(['kept']);
    }
    const logOf = (id: string) =>
      net
        .node(id)
        .storage.entries(2, net.node(id).storage.lastIndex() + 1)
        .map((e) => `${e.index}/${e.term}`);
    expect(logOf('a')).toEqual(logOf('b'));
    expect(logOf('c')).toEqual(logOf('b'));
  });

  it('heartbeats carry commit = min(match, commit)', () => {
    const net = new TestNetwork(['a', 'b', 'c']);
    net.campaign('a');
    net.isolate('c');
    net.propose('a', 'x');
    net.heal();
    net.raw('a').tick();
    const rd = net.raw('a').ready();
    net.raw('a').advance();
    const heartbeats = rd.messages.filter((m) => m.type === MessageType.Heartbeat);
    expect(heartbeats.find((m) => m.to === 'b')?.commit).toBe(3);
    expect(heartbeats.find((m) => m.to === 'c')?.commit).toBe(2);
  });

  it('batches entries into messages of at most maxSizePerMsg', () => {
    const net = new TestNetwork(['a', 'b', 'c'], { maxSizePerMsg: 200 });
    net.campaign('a');
    net.isolate('b');
    for (let i = 0; i < 10; i++) net.propose('a', `entry-${'x'.repeat(50)}-${i}`);
    net.heal();
    net.delivered = [];
    net.tick(1);
    const appends = net.delivered.filter(
      (m) => m.type === MessageType.Append && m.to === 'b' && m.entries.length > 0,
    );
    expect(appends.length).toBeGreaterThan(3);
    for (const m of appends) expect(m.entries.length).toBeLessThanOrEqual(2);
    expect(net.node('b').applied).toHaveLength(10);
  });
});

describe('raft commitment of entries from earlier terms (§5.4.2, Figure 8)', () => {
  /**
   * Figure 8: s1 leads term 2 and replicates its entry (index 3) to s2 only; s5 wins term 3 with votes from
   * s3 and s4 and appends its own entry at index 3 that nobody receives; s1 comes back, wins term 4 and
   * replicates its term-2 entry to s3, but not yet its term-4 entry. The term-2 entry is now on a majority
   * (s1, s2, s3), yet must not be committed: s5 can still win (its last term, 3, beats 2) and overwrite it.
   */
  function figure8(bugs?: ReadonlySet<'commit-old-term-entries'>) {
    const net = new TestNetwork(['s1', 's2', 's3', 's4', 's5'], {
      checkQuorum: false,
      preVote: false,
      ...(bugs ? { bugs } : {}),
    });
    // (a) s1 leads term 2 and replicates its entry to s2 only.
    net.campaign('s1');
    for (const id of ['s3', 's4', 's5']) net.isolate(id);
    net.raw('s1').propose(text('term-2'));
    net.stabilize();
    net.heal();
    // (b) s1 and s2 are cut off; s5 wins term 3 with s3 and s4, but none of its appends get through.
    net.isolate('s1');
    net.isolate('s2');
    net.filter = (m) => !(m.from === 's5' && m.type === MessageType.Append);
    net.campaign('s5');
    expect(net.raw('s5').status()).toMatchObject({ role: Role.Leader, term: 3 });
    net.raw('s5').propose(text('term-3'));
    net.stabilize();
    // (c) s5 is cut off; s1 restarts and wins term 4 (its first attempt, in term 3, fails) with s2, s3
    // and s4. Its appends lose every term-4 entry and cannot tell followers to commit past index 2.
    net.filter = undefined;
    net.heal();
    net.restart('s1');
    net.isolate('s5');
    net.intercept = (m) =>
      m.type === MessageType.Append
        ? { ...m, entries: m.entries.filter((e) => e.term !== 4), commit: Math.min(m.commit, 2) }
        : m;
    net.campaign('s1');
    net.campaign('s1');
    expect(net.raw('s1').status()).toMatchObject({ role: Role.Leader, term: 4 });
    return net;
  }

  it('does not commit an earlier-term entry stored on a majority', () => {
    const net = figure8();
    const s1 = net.raw('s1').status();
    expect(s1.progress?.['s2']?.match).toBe(3);
    expect(s1.progress?.['s3']?.match).toBe(3);
    expect(s1.commit).toBe(2);
    expect(net.node('s1').applied).toEqual([]);
  });

  it('with commit-old-term-entries, commits it, and s5 later commits a different entry at its index', () => {
    const net = figure8(new Set(['commit-old-term-entries']));
    expect(net.node('s1').applied).toEqual(['term-2']);
    // s1 crashes; s5 wins with s2, s3, s4 (its last term is higher) and overwrites the "committed" entry.
    net.intercept = undefined;
    net.heal();
    net.isolate('s1');
    net.restart('s5');
    net.campaign('s5'); // term 4: s2, s3 and s4 already voted for s1
    net.campaign('s5'); // term 5
    expect(net.raw('s5').status().role).toBe(Role.Leader);
    net.propose('s5', 'after');
    expect(net.node('s5').applied).toEqual(['term-3', 'after']);
    const at3 = (id: string) => net.node(id).committed.find((e) => e.index === 3)?.term;
    expect(at3('s1')).toBe(2);
    expect(at3('s5')).toBe(3);
  });

  it('commits earlier-term entries once an entry of the current term is committed', () => {
    const net = figure8();
    net.intercept = undefined;
    net.tick(1);
    expect(net.node('s1').applied).toEqual(['term-2']);
    net.heal();
    net.tick(1);
    // Leader completeness: s5's uncommitted term-3 entries are gone and every node agrees.
    for (const id of ['s1', 's2', 's3', 's4', 's5']) expect(net.node(id).applied).toEqual(['term-2']);
  });
});

describe('raft fast log back-off', () => {
  it('skips a whole conflicting term in one round trip', () => {
    const net = new TestNetwork(['a', 'b', 'c'], { checkQuorum: false, preVote: false });
    net.campaign('a');
    // a appends 50 entries of term 2 that only it has.
    net.isolate('a');
    for (let i = 0; i < 50; i++) net.raw('a').propose(text(`stale-${i}`));
    net.stabilize();
    net.heal();
    net.isolate('a');
    net.campaign('b');
    net.propose('b', 'fresh');
    net.heal();
    net.delivered = [];
    net.tick(1);
    const rejections = net.delivered.filter(
      (m: Message) => m.type === MessageType.AppendResponse && m.reject,
    );
    expect(rejections.length).toBeLessThanOrEqual(2);
    expect(net.node('a').applied).toEqual(['fresh']);
  });
});

describe('raft inflight window', () => {
  it('pipelines at most maxInflightMsgs unacknowledged appends to a follower', () => {
    const net = new TestNetwork(['a', 'b', 'c'], { maxInflightMsgs: 3 });
    net.campaign('a');
    // Hold b's responses back: the leader keeps sending until the window is full.
    net.filter = (m) => !(m.from === 'b' && m.type === MessageType.AppendResponse);
    net.delivered = [];
    for (let i = 0; i < 10; i++) net.propose('a', `v${i}`);
    const toB = net.delivered.filter(
      (m) => m.type === MessageType.Append && m.to === 'b' && m.entries.length > 0,
    );
    expect(toB).toHaveLength(3);
    expect(net.raw('a').status().progress?.['b']).toMatchObject({ state: 'replicate', inflight: 3 });
    // Once b's answers flow again, it catches up.
    net.filter = undefined;
    net.tick(1);
    expect(net.node('b').applied).toHaveLength(10);
  });

  it('sends one append at a time to a follower in probe state', () => {
    const net = new TestNetwork(['a', 'b', 'c']);
    net.campaign('a');
    net.raw('a').reportUnreachable('b');
    expect(net.raw('a').status().progress?.['b']?.state).toBe('probe');
    net.filter = (m) => !(m.from === 'b' && m.type === MessageType.AppendResponse);
    net.delivered = [];
    for (let i = 0; i < 5; i++) net.propose('a', `v${i}`);
    const toB = net.delivered.filter(
      (m) => m.type === MessageType.Append && m.to === 'b' && m.entries.length > 0,
    );
    expect(toB).toHaveLength(1);
  });
});

describe('raft proposals', () => {
  it('drops proposals on a follower with the leader as a hint', () => {
    const net = new TestNetwork(['a', 'b', 'c']);
    net.campaign('a');
    expect(() => net.raw('b').propose(text('x'))).toThrow(
      expect.objectContaining({ name: 'ProposalDroppedError', reason: 'not-leader', leader: 'a' }),
    );
  });

  it('drops proposals when no leader is known', () => {
    const net = new TestNetwork(['a', 'b', 'c']);
    try {
      net.raw('a').propose(text('x'));
      throw new Error('expected a drop');
    } catch (err) {
      expect(err).toBeInstanceOf(ProposalDroppedError);
      expect(err).toMatchObject({ reason: 'not-leader', leader: '' });
    }
  });

  it('drops proposals beyond the uncommitted size limit with too-many-pending', () => {
    const net = new TestNetwork(['a', 'b', 'c'], { maxUncommittedEntriesSize: 10 });
    net.campaign('a');
    net.isolate('b');
    net.isolate('c');
    net.raw('a').propose(text('12345678'));
    expect(() => net.raw('a').propose(text('12345678'))).toThrow(
      expect.objectContaining({ reason: 'too-many-pending' }),
    );
    net.heal();
    net.stabilize();
    net.tick(1);
    expect(() => net.raw('a').propose(text('12345678'))).not.toThrow();
  });
});

describe('raft restart from storage', () => {
  it('keeps term, vote and log across a restart and re-applies committed entries', () => {
    const net = new TestNetwork(['a', 'b', 'c']);
    net.campaign('a');
    net.propose('a', 'x');
    net.propose('a', 'y');
    const before = net.raw('b').status();
    const restarted = net.restart('b');
    expect(restarted.raw.status()).toMatchObject({
      term: before.term,
      vote: before.vote,
      commit: before.commit,
    });
    net.stabilize();
    expect(restarted.applied).toEqual(['x', 'y']);
    net.propose('a', 'z');
    expect(restarted.applied).toEqual(['x', 'y', 'z']);
  });

  it('restarts with applied from the config and does not hand those entries out again', () => {
    const net = new TestNetwork(['a', 'b', 'c']);
    net.campaign('a');
    net.propose('a', 'x');
    net.propose('a', 'y');
    const applied = net.raw('b').status().applied;
    const restarted = net.restart('b', { applied });
    net.stabilize();
    expect(restarted.applied).toEqual([]);
    net.propose('a', 'z');
    expect(restarted.applied).toEqual(['z']);
  });

  it('a restarted leader-only cluster elects itself again and keeps its log', () => {
    const net = new TestNetwork(['solo']);
    net.campaign('solo');
    net.propose('solo', 'x');
    const node = net.restart('solo');
    net.campaign('solo');
    expect(node.raw.status()).toMatchObject({ role: Role.Leader, term: 3 });
    expect(node.applied).toEqual(['x']);
  });
});
