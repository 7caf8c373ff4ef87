import {
  CompactedError,
  ConfChangeType,
  decodeConfChange,
  type Entry,
  EntryType,
  encodeConfChange,
  InvalidConfChangeError,
  MemoryStorage,
  nextConfState,
  SnapshotOutOfDateError,
  UnavailableError,
} from '../../../raft/index';
import { text } from './network';

const entry = (index: number, term: number, data = ''): Entry => ({
  index,
  term,
  type: EntryType.Normal,
  data: text(data),
});

describe('raft MemoryStorage', () => {
  it('starts empty at index 0 with no configuration', () => {
    const s = new MemoryStorage();
    expect(s.firstIndex()).toBe(1);
    expect(s.lastIndex()).toBe(0);
    expect(s.term(0)).toBe(0);
    expect(s.initialState().confState).toEqual({ voters: [], learners: [] });
  });

  it('bootstraps a new cluster with a snapshot at index 1 holding the voters', () => {
    const s = MemoryStorage.bootstrap(['a', 'b', 'c'], ['d']);
    expect(s.firstIndex()).toBe(2);
    expect(s.lastIndex()).toBe(1);
    expect(s.term(1)).toBe(1);
    expect(s.initialState()).toEqual({
      hardState: { term: 1, vote: '', commit: 1 },
      confState: { voters: ['a', 'b', 'c'], learners: ['d'] },
    });
  });

  it('appends, replacing a conflicting tail', () => {
    const s = new MemoryStorage();
    s.append([entry(1, 1), entry(2, 1), entry(3, 1)]);
    s.append([entry(2, 2, 'new')]);
    expect(s.lastIndex()).toBe(2);
    expect(s.term(2)).toBe(2);
    expect(() => s.append([entry(5, 2)])).toThrow(UnavailableError);
  });

  it('answers entries within [lo, hi) and a size limit, but at least one entry', () => {
    const s = new MemoryStorage();
    s.append([entry(1, 1, 'aaaa'), entry(2, 1, 'bbbb'), entry(3, 1, 'cccc')]);
    expect(s.entries(1, 4).map((e) => e.index)).toEqual([1, 2, 3]);
    expect(s.entries(1, 4, 60).map((e) => e.index)).toEqual([1, 2]);
    expect(s.entries(2, 4, 1).map((e) => e.index)).toEqual([2]);
    expect(() => s.entries(0, 2)).toThrow(CompactedError);
    expect(() => s.entries(2, 5)).toThrow(UnavailableError);
  });

  it('compacts, keeping the term of the compacted index', () => {
    const s = new MemoryStorage();
    s.append([entry(1, 1), entry(2, 2), entry(3, 3)]);
    s.compact(2);
    expect(s.firstIndex()).toBe(3);
    expect(s.term(2)).toBe(2);
    expect(() => s.term(1)).toThrow(CompactedError);
    expect(() => s.compact(2)).toThrow(CompactedError);
    // Appending entries that overlap the compacted prefix skips them.
    s.append([entry(2, 2), entry(3, 3), entry(4, 3)]);
    expect(s.lastIndex()).toBe(4);
  });

  it('creates and applies snapshots, refusing out-of-date ones', () => {
    const s = new MemoryStorage();
    s.append([entry(1, 1), entry(2, 2), entry(3, 2)]);
    const snap = s.createSnapshot(2, { voters: ['a'], learners: [] }, text('state'));
    expect(snap.meta).toEqual({ index: 2, term: 2, confState: { voters: ['a'], learners: [] } });
    expect(() => s.createSnapshot(2, { voters: ['a'], learners: [] }, text(''))).toThrow(
      SnapshotOutOfDateError,
    );
    const other = new MemoryStorage();
    other.applySnapshot(snap);
    expect(other.firstIndex()).toBe(3);
    expect(other.lastIndex()).toBe(2);
    expect(other.initialState().confState.voters).toEqual(['a']);
    expect(() => other.applySnapshot(snap)).toThrow(SnapshotOutOfDateError);
  });
});

describe('raft conf changes', () => {
  it('round-trips through the entry encoding', () => {
    for (const cc of [
      { type: ConfChangeType.AddVoter, nodeId: 'node-1' },
      { type: ConfChangeType.AddLearner, nodeId: 'ü-ñ', context: text('10.0.0.1:4242') },
      { type: ConfChangeType.RemoveNode, nodeId: 'x'.repeat(300), context: new Uint8Array() },
    ]) {
      expect(decodeConfChange(encodeConfChange(cc))).toEqual(cc);
    }
  });

  it('rejects malformed encodings', () => {
    const good = encodeConfChange({ type: ConfChangeType.AddVoter, nodeId: 'n' });
    expect(() => decodeConfChange(good.subarray(0, 3))).toThrow(InvalidConfChangeError);
    expect(() => decodeConfChange(Uint8Array.from([9, 0, 0, 0]))).toThrow(InvalidConfChangeError);
    expect(() => decodeConfChange(Uint8Array.from([...good, 0]))).toThrow(InvalidConfChangeError);
  });

  it('adds, promotes, demotes and removes one node at a time', () => {
    let cs = { voters: ['a'], learners: [] as string[] };
    cs = nextConfState(cs, { type: ConfChangeType.AddLearner, nodeId: 'b' });
    expect(cs).toEqual({ voters: ['a'], learners: ['b'] });
    cs = nextConfState(cs, { type: ConfChangeType.AddVoter, nodeId: 'b' });
    expect(cs).toEqual({ voters: ['a', 'b'], learners: [] });
    cs = nextConfState(cs, { type: ConfChangeType.AddLearner, nodeId: 'a' });
    expect(cs).toEqual({ voters: ['b'], learners: ['a'] });
    cs = nextConfState(cs, { type: ConfChangeType.RemoveNode, nodeId: 'a' });
    expect(cs).toEqual({ voters: ['b'], learners: [] });
  });

  it('refuses to leave no voters', () => {
    expect(() =>
      nextConfState({ voters: ['a'], learners: [] }, { type: ConfChangeType.RemoveNode, nodeId: 'a' }),
    ).toThrow(InvalidConfChangeError);
  });
});
