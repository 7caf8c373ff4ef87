import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LevelStorage, StorageLockedError } from '../../../raft/storage';
import { type Entry, EntryType, type Snapshot } from '../../../raft/types';

function entry(index: number, term: number, text = `e${index}`): Entry {
  return { index, term, type: EntryType.Normal, data: Buffer.from(text) };
}

function range(from: number, to: number, term: number): Entry[] {
  const out: Entry[] = [];
  for (let i = from; i <= to; i++) out.push(entry(i, term));
  return out;
}

function snapshot(index: number, term: number, data = 'state'): Snapshot {
  return {
    meta: { index, term, confState: { voters: ['a', 'b', 'c'], learners: ['d'] } },
    data: Buffer.from(data),
  };
}

describe('LevelStorage', () => {
  let dir: string;
  const opened: LevelStorage[] = [];

  async function open(): Promise<LevelStorage> {
    const s = await LevelStorage.open(dir);
    opened.push(s);
    return s;
  }

  async function reopen(s: LevelStorage): Promise<LevelStorage> {
    await s.close();
    return open();
  }

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'orch-raft-storage-'));
  });

  afterEach(async () => {
    for (const s of opened.splice(0)) await s.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('starts empty on a new directory', async () => {
    const s = await open();
    expect(await s.load()).toEqual({
      hardState: { term: 0, vote: '', commit: 0 },
      snapshot: undefined,
      compacted: { index: 0, term: 0 },
      entries: [],
    });
  });

  it('persists hard state and entries across a restart, in log order', async () => {
    let s = await open();
    await s.load();
    await s.save({ hardState: { term: 2, vote: 'a', commit: 0 }, entries: range(1, 300, 2) }, { sync: true });
    await s.save({ hardState: { term: 2, vote: 'a', commit: 290 }, entries: [] }, { sync: false });
    s = await reopen(s);
    const state = await s.load();
    expect(state.hardState).toEqual({ term: 2, vote: 'a', commit: 290 });
    expect(state.entries.map((e) => e.index)).toEqual(range(1, 300, 2).map((e) => e.index));
    expect(Buffer.from(state.entries[255]!.data).toString()).toBe('e256');
    expect(state.entries[0]).toMatchObject({ term: 2, type: EntryType.Normal });
  });

  it('replaces a conflicting tail, even one longer than the new entries', async () => {
    let s = await open();
    await s.load();
    await s.save({ entries: range(1, 10, 1) }, { sync: true });
    await s.save({ entries: [entry(6, 2, 'new6'), entry(7, 2, 'new7')] }, { sync: true });
    s = await reopen(s);
    const { entries } = await s.load();
    expect(entries.map((e) => [e.index, e.term])).toEqual([
      [1, 1],
      [2, 1],
      [3, 1],
      [4, 1],
      [5, 1],
      [6, 2],
      [7, 2],
    ]);
    expect(Buffer.from(entries[6]!.data).toString()).toBe('new7');
  });

  it('refuses an append that would leave a gap', async () => {
    const s = await open();
    await s.load();
    await s.save({ entries: range(1, 3, 1) }, { sync: true });
    await expect(s.save({ entries: [entry(5, 1)] }, { sync: true })).rejects.toThrow(/after last index 3/);
  });

  it('installs a received snapshot in place of the whole log', async () => {
    let s = await open();
    await s.load();
    await s.save({ entries: range(1, 20, 1) }, { sync: true });
    await s.save(
      { snapshot: snapshot(50, 3), entries: [entry(51, 3)], hardState: { term: 3, vote: '', commit: 50 } },
      { sync: true },
    );
    s = await reopen(s);
    const state = await s.load();
    expect(state.snapshot?.meta).toEqual({
      index: 50,
      term: 3,
      confState: { voters: ['a', 'b', 'c'], learners: ['d'] },
    });
    expect(Buffer.from(state.snapshot!.data).toString()).toBe('state');
    expect(state.compacted).toEqual({ index: 50, term: 3 });
    expect(state.entries.map((e) => e.index)).toEqual([51]);
  });

  it('compacts the log behind an application snapshot and keeps the requested tail', async () => {
    let s = await open();
    await s.load();
    await s.save({ entries: range(1, 1000, 1) }, { sync: true });
    await s.saveSnapshot(snapshot(900, 1, 'at-900'), 800, 1);
    s = await reopen(s);
    const state = await s.load();
    expect(state.snapshot?.meta.index).toBe(900);
    expect(state.compacted).toEqual({ index: 800, term: 1 });
    expect(state.entries[0]!.index).toBe(801);
    expect(state.entries[state.entries.length - 1]!.index).toBe(1000);
  });

  it('recovers when a compaction was interrupted before the old entries were cleared', async () => {
    let s = await open();
    await s.load();
    await s.save({ entries: range(1, 100, 1) }, { sync: true });
    // Simulate a crash right after the compaction point became durable: the entries are still there.
    const raw = (s as unknown as { db: { put(k: Buffer, v: Buffer, o: object): Promise<void> } }).db;
    await raw.put(Buffer.from('c'), Buffer.from(JSON.stringify({ index: 60, term: 1 })), {});
    s = await reopen(s);
    const state = await s.load();
    expect(state.entries[0]!.index).toBe(61);
    expect(state.entries).toHaveLength(40);
  });

  it('refuses a second opener of the same directory with a clear error', async () => {
    await open();
    const second = LevelStorage.open(dir);
    await expect(second).rejects.toBeInstanceOf(StorageLockedError);
    await expect(LevelStorage.open(dir)).rejects.toThrow(/in use by another process/);
  });
});
