import { LeadershipLostError } from '../../../raft/runtime';
import { CommitNotices } from '../../../raft/runtime/commit-notices';
import {
  decodeMemberContext,
  decodeSnapshotEnvelope,
  encodeMemberContext,
  encodeSnapshotEnvelope,
} from '../../../raft/runtime/members';
import { ProposalWaiters } from '../../../raft/runtime/proposal-waiters';
import { ReadBarrier } from '../../../raft/runtime/read-barrier';
import { memoryStorageFrom } from '../../../raft/runtime/recover';
import { type Entry, EntryType, type Message, MessageType } from '../../../raft/types';
import { newMessage } from '../../../raft/util';

function entries(from: number, to: number, term: number): Entry[] {
  return Array.from({ length: to - from + 1 }, (_, i) => ({
    index: from + i,
    term,
    type: EntryType.Normal,
    data: Buffer.from(`e${from + i}`),
  }));
}

describe('proposal waiters', () => {
  it('resolve when their entry is applied with the term it was proposed in', async () => {
    const waiters = new ProposalWaiters();
    const done = waiters.wait(5, 2);
    waiters.applied(5, 2);
    await expect(done).resolves.toBeUndefined();
    expect(waiters.size).toBe(0);
  });

  it('reject with LeadershipLostError when another entry took the index', async () => {
    const waiters = new ProposalWaiters();
    const done = waiters.wait(5, 2);
    waiters.applied(5, 3);
    await expect(done).rejects.toBeInstanceOf(LeadershipLostError);
  });

  it('reject an older waiter at the same index when a new leader term proposes there', async () => {
    const waiters = new ProposalWaiters();
    const old = waiters.wait(7, 2);
    const fresh = waiters.wait(7, 4);
    await expect(old).rejects.toBeInstanceOf(LeadershipLostError);
    waiters.applied(7, 4);
    await expect(fresh).resolves.toBeUndefined();
  });

  it('reject waiters covered by an installed snapshot as of unknown outcome', async () => {
    const waiters = new ProposalWaiters();
    const covered = waiters.wait(3, 1);
    const later = waiters.wait(9, 1);
    waiters.snapshotApplied(5);
    await expect(covered).rejects.toThrow(/outcome is unknown/);
    waiters.applied(9, 1);
    await expect(later).resolves.toBeUndefined();
  });
});

describe('commit notices', () => {
  const append = (to: string, index: number, commit: number, withEntries: boolean): Message =>
    newMessage(MessageType.Append, 'm1', to, 2, {
      index,
      logTerm: 2,
      commit,
      entries: withEntries ? entries(index + 1, index + 1, 2) : [],
    });

  afterEach(() => jest.useRealTimers());

  it('holds an Append without entries and sends the newest one per follower after the delay', () => {
    jest.useFakeTimers();
    const later: Message[][] = [];
    const notices = new CommitNotices(2, (ms) => later.push(ms));
    const heartbeat = newMessage(MessageType.Heartbeat, 'm1', 'm2', 2, { commit: 4 });
    expect(notices.route([append('m2', 5, 5, false), heartbeat, append('m3', 5, 5, false)])).toEqual([
      heartbeat,
    ]);
    notices.route([append('m2', 5, 6, false)]);
    jest.advanceTimersByTime(1);
    expect(later).toEqual([]);
    jest.advanceTimersByTime(1);
    expect(later).toEqual([[append('m2', 5, 6, false), append('m3', 5, 5, false)]]);
  });

  it('forgets a held notice once an Append with entries to the same follower leaves', () => {
    jest.useFakeTimers();
    const later: Message[][] = [];
    const notices = new CommitNotices(2, (ms) => later.push(ms));
    notices.route([append('m2', 5, 5, false), append('m3', 5, 5, false)]);
    const next = [append('m2', 5, 5, true)];
    expect(notices.route(next)).toBe(next);
    jest.advanceTimersByTime(5);
    expect(later).toEqual([[append('m3', 5, 5, false)]]);
    notices.route([append('m2', 6, 6, false)]);
    notices.clear();
    jest.advanceTimersByTime(5);
    expect(later).toHaveLength(1);
  });

  it('sends everything at once with no delay, read contexts included', () => {
    const withContext = { ...append('m2', 5, 5, false), context: Buffer.from('r') };
    const notices = new CommitNotices(0, () => undefined);
    const messages = [append('m2', 5, 5, false)];
    expect(notices.route(messages)).toBe(messages);
    expect(new CommitNotices(2, () => undefined).route([withContext])).toEqual([withContext]);
  });
});

describe('read barrier', () => {
  it('serves every reader that arrived during one request with the next request', async () => {
    const issued: Buffer[] = [];
    const barrier = new ReadBarrier((ctx) => issued.push(Buffer.from(ctx)), 5);
    const first = barrier.read();
    const second = barrier.read();
    const third = barrier.read();
    expect(issued).toHaveLength(1);
    barrier.answered(issued[0]!, 10, 10);
    await expect(first).resolves.toBe(10);
    expect(issued).toHaveLength(2);
    barrier.answered(issued[1]!, 12, 11);
    barrier.applied(12);
    await expect(Promise.all([second, third])).resolves.toEqual([12, 12]);
  });

  it('waits for the state machine to reach the read index', async () => {
    const issued: Buffer[] = [];
    const barrier = new ReadBarrier((ctx) => issued.push(Buffer.from(ctx)), 5);
    let done = false;
    const read = barrier.read().then(() => {
      done = true;
    });
    barrier.answered(issued[0]!, 20, 15);
    await Promise.resolve();
    expect(done).toBe(false);
    barrier.applied(20);
    await read;
    expect(done).toBe(true);
  });

  it('retries an unanswered request with a fresh context after the retry ticks', () => {
    const issued: Buffer[] = [];
    const barrier = new ReadBarrier((ctx) => issued.push(Buffer.from(ctx)), 3);
    void barrier.read();
    for (let i = 0; i < 3; i++) barrier.tick();
    expect(issued).toHaveLength(2);
    expect(Buffer.compare(issued[0]!, issued[1]!)).not.toBe(0);
    // The stale answer is ignored.
    barrier.answered(issued[0]!, 5, 5);
    expect(issued).toHaveLength(2);
  });

  it('rejects readers whose request cannot be issued, and aborted readers', async () => {
    const failing = new ReadBarrier(() => {
      throw new Error('no leader');
    }, 3);
    await expect(failing.read()).rejects.toThrow('no leader');
    const barrier = new ReadBarrier(() => undefined, 3);
    const controller = new AbortController();
    const read = barrier.read({ signal: controller.signal });
    controller.abort();
    await expect(read).rejects.toMatchObject({ name: 'AbortError' });
  });
});

describe('member addresses in conf changes and snapshots', () => {
  it('round-trips a member context', () => {
    const info = { address: '127.0.0.1:7001', meta: { http: '127.0.0.1:8001' } };
    expect(decodeMemberContext(encodeMemberContext(info))).toEqual(info);
    expect(decodeMemberContext(undefined)).toBeUndefined();
  });

  it('wraps application snapshot data with the member list, and passes foreign data through', () => {
    const members = new Map([
      ['a', { address: 'h:1' }],
      ['b', { address: 'h:2', meta: { http: 'h:3' } }],
    ]);
    const data = encodeSnapshotEnvelope(members, Buffer.from('app-state'));
    const decoded = decodeSnapshotEnvelope(data);
    expect(decoded.members).toEqual(members);
    expect(Buffer.from(decoded.app).toString()).toBe('app-state');
    const foreign = decodeSnapshotEnvelope(Buffer.from('plain'));
    expect(foreign.members).toBeUndefined();
    expect(Buffer.from(foreign.app).toString()).toBe('plain');
  });
});

describe('recovery into the in-memory log', () => {
  const confState = { voters: ['a', 'b', 'c'], learners: [] };

  it('keeps the tail of entries behind the snapshot', () => {
    const storage = memoryStorageFrom({
      hardState: { term: 2, vote: 'a', commit: 120 },
      snapshot: { meta: { index: 100, term: 2, confState }, data: Buffer.from('s') },
      compacted: { index: 80, term: 2 },
      entries: entries(81, 130, 2),
    });
    expect(storage.firstIndex()).toBe(81);
    expect(storage.lastIndex()).toBe(130);
    expect(storage.snapshot().meta.index).toBe(100);
    expect(storage.initialState()).toEqual({ hardState: { term: 2, vote: 'a', commit: 120 }, confState });
    expect(storage.term(80)).toBe(2);
  });

  it('starts at the snapshot when no tail was kept', () => {
    const storage = memoryStorageFrom({
      hardState: { term: 3, vote: '', commit: 50 },
      snapshot: { meta: { index: 50, term: 3, confState }, data: Buffer.from('s') },
      compacted: { index: 50, term: 3 },
      entries: entries(51, 55, 3),
    });
    expect(storage.firstIndex()).toBe(51);
    expect(storage.lastIndex()).toBe(55);
    expect(storage.term(50)).toBe(3);
  });

  it('raises a recorded commit index that lags behind the snapshot to the snapshot index', () => {
    // The runtime records the commit index lazily: a snapshot of applied entries may be ahead of it.
    const storage = memoryStorageFrom({
      hardState: { term: 3, vote: 'b', commit: 47 },
      snapshot: { meta: { index: 50, term: 3, confState }, data: Buffer.from('s') },
      compacted: { index: 50, term: 3 },
      entries: entries(51, 55, 3),
    });
    expect(storage.initialState().hardState).toEqual({ term: 3, vote: 'b', commit: 50 });
  });
});
