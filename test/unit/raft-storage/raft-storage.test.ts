import {
  appendFileSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Level } from 'level';
import { RaftStorage, StorageCorruptError, StorageLockedError } from '../../../raft/storage';
import { encodeLegacyEntry, LEGACY_HARD_STATE_KEY, legacyEntryKey } from '../../../raft/storage/legacy-log';
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

describe('raft storage', () => {
  let dir: string;
  const opened: RaftStorage[] = [];

  async function open(options: { walSegmentBytes?: number } = {}): Promise<RaftStorage> {
    const s = await RaftStorage.open(dir, options);
    opened.push(s);
    return s;
  }

  async function reopen(s: RaftStorage, options: { walSegmentBytes?: number } = {}): Promise<RaftStorage> {
    await s.close();
    return open(options);
  }

  /** Offset one past the last non-zero byte of a file (the end of its records; zeros follow). */
  function recordsEnd(bytes: Buffer): number {
    let end = bytes.length;
    while (end > 0 && bytes[end - 1] === 0) end--;
    return end;
  }

  function segments(): string[] {
    return readdirSync(join(dir, 'wal'))
      .filter((f) => f.endsWith('.wal'))
      .sort()
      .map((f) => join(dir, 'wal', f));
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

  it('recovers when a compaction became durable before the old log segments were removed', async () => {
    let s = await open();
    await s.load();
    await s.save({ entries: range(1, 100, 1) }, { sync: true });
    // A crash right after the compaction point became durable: the log still holds the entries.
    const raw = (s as unknown as { db: { put(k: Buffer, v: Buffer, o: object): Promise<void> } }).db;
    await raw.put(Buffer.from('c'), Buffer.from(JSON.stringify({ index: 60, term: 1 })), {});
    s = await reopen(s);
    const state = await s.load();
    expect(state.entries[0]!.index).toBe(61);
    expect(state.entries).toHaveLength(40);
  });

  it('refuses a second opener of the same directory with a clear error', async () => {
    await open();
    const second = RaftStorage.open(dir);
    await expect(second).rejects.toBeInstanceOf(StorageLockedError);
    await expect(RaftStorage.open(dir)).rejects.toThrow(/in use by another process/);
  });

  it('persists with an in-place sync as with a thread-pool sync', async () => {
    let s = await open();
    await s.load();
    await s.save({ entries: range(1, 5, 1) }, { sync: true, syncMode: 'inline' });
    await s.save({ entries: range(6, 9, 1), hardState: { term: 1, vote: 'b', commit: 9 } }, { sync: true });
    s = await reopen(s);
    const state = await s.load();
    expect(state.entries.map((e) => e.index)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(state.hardState).toEqual({ term: 1, vote: 'b', commit: 9 });
  });

  it('drops a torn last record and keeps every whole one before it', async () => {
    let s = await open();
    await s.load();
    await s.save({ entries: range(1, 10, 1), hardState: { term: 1, vote: 'a', commit: 4 } }, { sync: true });
    await s.save({ entries: [entry(11, 1, 'x'.repeat(1000))] }, { sync: true });
    await s.close();
    // A crash in the middle of the last append: the end of the record never reached the disk, the
    // preallocated zeros are still there.
    const [segment] = segments();
    const bytes = readFileSync(segment!);
    const end = recordsEnd(bytes);
    bytes.fill(0, end - 300, end);
    writeFileSync(segment!, bytes);
    s = await open();
    const state = await s.load();
    expect(state.entries.map((e) => e.index)).toEqual(range(1, 10, 1).map((e) => e.index));
    expect(state.hardState).toEqual({ term: 1, vote: 'a', commit: 4 });
    // The log goes on from the last whole record, and what follows survives the next restart.
    await s.save({ entries: [entry(11, 2, 'retried')] }, { sync: true });
    s = await reopen(s);
    const after = await s.load();
    expect(after.entries).toHaveLength(11);
    expect(Buffer.from(after.entries[10]!.data).toString()).toBe('retried');
  });

  it('drops a last record whose bytes are damaged (CRC mismatch) and garbage after it', async () => {
    let s = await open();
    await s.load();
    await s.save({ entries: range(1, 3, 1) }, { sync: true });
    await s.save({ entries: [entry(4, 1, 'last-record')] }, { sync: true });
    await s.close();
    const [segment] = segments();
    const bytes = readFileSync(segment!);
    bytes[recordsEnd(bytes) - 3] ^= 0xff; // inside entry 4's data
    writeFileSync(segment!, bytes);
    appendFileSync(segment!, Buffer.from('garbage'));
    s = await open();
    expect((await s.load()).entries.map((e) => e.index)).toEqual([1, 2, 3]);
  });

  it('refuses to start on a log damaged before its last segment', async () => {
    const s = await open({ walSegmentBytes: 1024 });
    await s.load();
    for (let i = 1; i <= 60; i += 10) await s.save({ entries: range(i, i + 9, 1) }, { sync: true });
    await s.close();
    const files = segments();
    expect(files.length).toBeGreaterThanOrEqual(2);
    const bytes = readFileSync(files[0]!);
    bytes[40] ^= 0xff;
    writeFileSync(files[0]!, bytes);
    await expect(open()).rejects.toBeInstanceOf(StorageCorruptError);
    // The failed open released the directory: the damage can be inspected and the member restored.
    await expect(open()).rejects.toThrow(/0000000000000000.wal is damaged at byte 28 /);
  });

  it('spreads the log over segments and deletes those a compaction made useless', async () => {
    let s = await open({ walSegmentBytes: 2048 });
    await s.load();
    await s.save({ hardState: { term: 3, vote: 'c', commit: 0 }, entries: [] }, { sync: true });
    for (let i = 1; i <= 400; i += 20) await s.save({ entries: range(i, i + 19, 3) }, { sync: true });
    const before = segments().length;
    expect(before).toBeGreaterThan(3);
    await s.saveSnapshot(snapshot(390, 3), 380, 3);
    expect(segments().length).toBeLessThan(before);
    expect(s.walSegmentCount).toBe(segments().length);
    // The hard state written before the removed segments is carried by the first one left.
    s = await reopen(s, { walSegmentBytes: 2048 });
    const state = await s.load();
    expect(state.hardState).toEqual({ term: 3, vote: 'c', commit: 0 });
    expect(state.compacted).toEqual({ index: 380, term: 3 });
    expect(state.entries.map((e) => e.index)).toEqual(range(381, 400, 3).map((e) => e.index));
  });

  it('drops a log that conflicts with a received snapshot whose mark a crash lost', async () => {
    let s = await open();
    await s.load();
    await s.save({ entries: range(1, 30, 1) }, { sync: true });
    // The snapshot reached LevelDB, the crash came before the log recorded it: the entry at the
    // snapshot's index has another term, so the log after it belongs to a replaced history.
    const db = (s as unknown as { db: Level<Buffer, Buffer> }).db;
    const meta = { index: 20, term: 4, confState: { voters: ['a'], learners: [] } };
    await db.batch([
      { type: 'put', key: Buffer.from('m'), value: Buffer.from(JSON.stringify(meta)) },
      { type: 'put', key: Buffer.from('s'), value: Buffer.from('snap') },
      { type: 'put', key: Buffer.from('c'), value: Buffer.from(JSON.stringify({ index: 20, term: 4 })) },
    ]);
    s = await reopen(s);
    const state = await s.load();
    expect(state.snapshot?.meta.index).toBe(20);
    expect(state.entries).toEqual([]);
    expect(s.lastStoredIndex).toBe(20);
  });

  it('keeps the log after a received snapshot it matches, when the crash lost the mark', async () => {
    let s = await open();
    await s.load();
    await s.save({ entries: range(1, 30, 4) }, { sync: true });
    const db = (s as unknown as { db: Level<Buffer, Buffer> }).db;
    const meta = { index: 20, term: 4, confState: { voters: ['a'], learners: [] } };
    await db.batch([
      { type: 'put', key: Buffer.from('m'), value: Buffer.from(JSON.stringify(meta)) },
      { type: 'put', key: Buffer.from('s'), value: Buffer.from('snap') },
      { type: 'put', key: Buffer.from('c'), value: Buffer.from(JSON.stringify({ index: 20, term: 4 })) },
    ]);
    s = await reopen(s);
    expect((await s.load()).entries.map((e) => e.index)).toEqual(range(21, 30, 4).map((e) => e.index));
  });

  it('moves a data directory of the older layout (log in LevelDB) into the write-ahead log', async () => {
    const db = new Level<Buffer, Buffer>(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
    await db.open();
    const ops: { type: 'put'; key: Buffer; value: Buffer }[] = [
      {
        type: 'put',
        key: LEGACY_HARD_STATE_KEY,
        value: Buffer.from(JSON.stringify({ term: 5, vote: 'b', commit: 8 })),
      },
      { type: 'put', key: Buffer.from('c'), value: Buffer.from(JSON.stringify({ index: 3, term: 5 })) },
    ];
    // Entries 1..3 are leftovers of an interrupted clear below the compaction point.
    for (const e of range(1, 10, 5))
      ops.push({ type: 'put', key: legacyEntryKey(e.index), value: encodeLegacyEntry(e) });
    await db.batch(ops);
    await db.close();

    let s = await open();
    let state = await s.load();
    expect(state.hardState).toEqual({ term: 5, vote: 'b', commit: 8 });
    expect(state.entries.map((e) => e.index)).toEqual([4, 5, 6, 7, 8, 9, 10]);
    expect(Buffer.from(state.entries[0]!.data).toString()).toBe('e4');
    const legacyKeys = await (s as unknown as { db: Level<Buffer, Buffer> }).db.keys().all();
    expect(legacyKeys.map((k) => k.toString())).toEqual(['c']);
    // From now on the log is the write-ahead log.
    await s.save({ entries: [entry(11, 5)] }, { sync: true });
    s = await reopen(s);
    state = await s.load();
    expect(state.entries.map((e) => e.index)).toEqual([4, 5, 6, 7, 8, 9, 10, 11]);
  });

  it('never reads back records of an append whose earlier part was lost, after a later append', async () => {
    let s = await open();
    await s.load();
    await s.save({ entries: range(1, 10, 1) }, { sync: true });
    const [segment] = segments();
    const firstEnd = recordsEnd(readFileSync(segment!));
    await s.save({ entries: range(11, 20, 1) }, { sync: true });
    await s.close();
    // The crash persisted the later pages of the second append but not its first bytes.
    const bytes = readFileSync(segment!);
    bytes.fill(0, firstEnd, firstEnd + 40);
    writeFileSync(segment!, bytes);
    s = await open();
    expect((await s.load()).entries).toHaveLength(10);
    // A new leader's shorter append lands where the lost one began; entries 13..20 of the lost
    // append must not come back after it.
    await s.save({ entries: range(11, 12, 2) }, { sync: true });
    s = await reopen(s);
    const { entries } = await s.load();
    expect(entries.map((e) => [e.index, e.term]).slice(9)).toEqual([
      [10, 1],
      [11, 2],
      [12, 2],
    ]);
  });

  it('preallocates the space ahead of the log, so that appends overwrite blocks the file owns', async () => {
    let s = await open();
    await s.load();
    await s.save({ entries: range(1, 10, 1) }, { sync: true });
    await new Promise((resolve) => setImmediate(resolve));
    const [segment] = segments();
    expect(statSync(segment!).size).toBeGreaterThanOrEqual(1024 * 1024);
    // Zeros after the records are the clean end of the log, not damage.
    s = await reopen(s);
    expect((await s.load()).entries).toHaveLength(10);
    await s.save({ entries: [entry(11, 1)] }, { sync: true });
    s = await reopen(s);
    expect((await s.load()).entries).toHaveLength(11);
  });
});
