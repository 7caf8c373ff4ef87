// Durable Raft state in LevelDB (classic-level): hard state, log entries, the latest snapshot and
// the compaction point. Every write that Raft needs durable is one atomic batch, synced when
// asked, so a crash at any moment leaves either the old or the new state, never a mix.
// It never decides *when* to snapshot or compact (the runtime does) and never interprets
// snapshot data (the application's).
import type { AbstractBatchOperation } from 'abstract-level';
import { Level } from 'level';
import pino, { type Logger } from 'pino';
import type { Entry, HardState, Snapshot } from '../types';
import {
  COMPACTED_KEY,
  decodeCompacted,
  decodeEntry,
  decodeHardState,
  decodeSnapshotMeta,
  ENTRY_KEYS_END,
  encodeEntry,
  encodeJson,
  entryKey,
  HARD_STATE_KEY,
  indexOfEntryKey,
  SNAPSHOT_DATA_KEY,
  SNAPSHOT_META_KEY,
} from './encoding';
import { StorageClosedError, StorageCorruptError, StorageLockedError } from './errors';

/** Everything a restarting node needs, read back from disk. */
export interface PersistedState {
  hardState: HardState;
  /** The latest snapshot, if one was ever taken or installed. */
  snapshot: Snapshot | undefined;
  /** Index and term of the last entry removed from the log (0/0 for a log never compacted). */
  compacted: { index: number; term: number };
  /** The log after `compacted.index`, contiguous. May start below the snapshot's index (a kept tail). */
  entries: Entry[];
}

/** The part of a Ready that must reach disk before its messages are sent. */
export interface StableUpdate {
  hardState?: HardState;
  /** Appended after their predecessor; any stored entry at or beyond entries[0].index is replaced. */
  entries: readonly Entry[];
  /** A snapshot received from the leader: replaces the whole log. */
  snapshot?: Snapshot;
}

export interface LevelStorageOptions {
  logger?: Logger;
}

type Batch = AbstractBatchOperation<Level<Buffer, Buffer>, Buffer, Buffer>[];

export class LevelStorage {
  private lastIndex = 0;
  private compacted = { index: 0, term: 0 };
  private closed = false;

  private constructor(
    private readonly db: Level<Buffer, Buffer>,
    readonly directory: string,
    private readonly logger: Logger,
  ) {}

  /** Opens (creating if needed) the data directory. Throws StorageLockedError when another process holds it. */
  static async open(directory: string, options: LevelStorageOptions = {}): Promise<LevelStorage> {
    const db = new Level<Buffer, Buffer>(directory, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
    try {
      await db.open();
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause;
      if (cause?.code === 'LEVEL_LOCKED') throw new StorageLockedError(directory, { cause: err });
      throw err;
    }
    const logger = (options.logger ?? pino({ level: 'silent' })).child({ module: 'raft-storage' });
    return new LevelStorage(db, directory, logger);
  }

  /** Reads back the persisted state, ignoring leftovers of an interrupted compaction. */
  async load(): Promise<PersistedState> {
    this.assertOpen();
    const [hardRaw, compactedRaw, metaRaw] = (await this.db.getMany([
      HARD_STATE_KEY,
      COMPACTED_KEY,
      SNAPSHOT_META_KEY,
    ])) as (Buffer | undefined)[];
    const hardState = hardRaw ? decodeHardState(hardRaw) : { term: 0, vote: '', commit: 0 };
    const compacted = compactedRaw ? decodeCompacted(compactedRaw) : { index: 0, term: 0 };
    let snapshot: Snapshot | undefined;
    if (metaRaw) {
      const data = await this.db.get(SNAPSHOT_DATA_KEY);
      snapshot = { meta: decodeSnapshotMeta(metaRaw), data: data ?? Buffer.alloc(0) };
    }
    const entries: Entry[] = [];
    for await (const [key, value] of this.db.iterator({
      gt: entryKey(compacted.index),
      lt: ENTRY_KEYS_END,
    })) {
      const index = indexOfEntryKey(key);
      const expected = compacted.index + entries.length + 1;
      if (index !== expected) {
        throw new StorageCorruptError(
          this.directory,
          `log has a gap: expected entry ${expected}, found ${index}`,
        );
      }
      entries.push(decodeEntry(index, value));
    }
    if (snapshot && snapshot.meta.index < compacted.index) {
      throw new StorageCorruptError(this.directory, 'log compacted beyond the latest snapshot');
    }
    if (snapshot && entries.length > 0 && entries[entries.length - 1]!.index < snapshot.meta.index) {
      // The log was kept only up to an older point and the snapshot covers it all: start from the snapshot.
      entries.length = 0;
    }
    this.compacted = compacted;
    this.lastIndex =
      entries.length > 0 ? entries[entries.length - 1]!.index : (snapshot?.meta.index ?? compacted.index);
    this.logger.info(
      {
        term: hardState.term,
        commit: hardState.commit,
        snapshot: snapshot?.meta.index ?? 0,
        entries: entries.length,
      },
      'raft storage loaded',
    );
    return { hardState, snapshot, compacted, entries };
  }

  /**
   * Persists a Ready's hard state, entries and received snapshot in one atomic batch.
   * `sync` is the Ready's mustSync: without it the write may be lost in a power cut, which Raft allows.
   */
  async save(update: StableUpdate, options: { sync: boolean }): Promise<void> {
    this.assertOpen();
    const ops: Batch = [];
    let lastIndex = this.lastIndex;
    let compacted = this.compacted;
    if (update.snapshot) {
      const { meta, data } = update.snapshot;
      ops.push({ type: 'put', key: SNAPSHOT_META_KEY, value: encodeJson(meta) });
      ops.push({
        type: 'put',
        key: SNAPSHOT_DATA_KEY,
        value: Buffer.from(data.buffer, data.byteOffset, data.byteLength),
      });
      // The snapshot replaces the log: whatever followed it locally may conflict with the leader's.
      for (let i = meta.index + 1; i <= lastIndex; i++) ops.push({ type: 'del', key: entryKey(i) });
      compacted = { index: meta.index, term: meta.term };
      ops.push({ type: 'put', key: COMPACTED_KEY, value: encodeJson(compacted) });
      lastIndex = meta.index;
    }
    if (update.entries.length > 0) {
      const first = update.entries[0]!.index;
      if (first > lastIndex + 1) {
        throw new StorageCorruptError(
          this.directory,
          `append of entry ${first} after last index ${lastIndex}`,
        );
      }
      const newLast = update.entries[update.entries.length - 1]!.index;
      // A conflicting tail longer than the new entries: drop what the new entries do not overwrite.
      for (let i = newLast + 1; i <= lastIndex; i++) ops.push({ type: 'del', key: entryKey(i) });
      for (const e of update.entries)
        ops.push({ type: 'put', key: entryKey(e.index), value: encodeEntry(e) });
      lastIndex = newLast;
    }
    if (update.hardState) ops.push({ type: 'put', key: HARD_STATE_KEY, value: encodeJson(update.hardState) });
    if (ops.length === 0) return;
    await this.db.batch(ops, { sync: options.sync });
    this.lastIndex = lastIndex;
    const oldCompacted = this.compacted.index;
    this.compacted = compacted;
    if (compacted.index > oldCompacted) this.clearEntriesThrough(compacted.index);
  }

  /**
   * Records a snapshot the application took at `snapshot.meta.index` and compacts the log up to
   * `compactIndex` (≤ the snapshot's index; the entries after it stay, so slow followers can still
   * catch up from the log). `compactTerm` is the term of the entry at compactIndex.
   */
  async saveSnapshot(snapshot: Snapshot, compactIndex: number, compactTerm: number): Promise<void> {
    this.assertOpen();
    if (compactIndex > snapshot.meta.index) {
      throw new RangeError(
        `compaction index ${compactIndex} is beyond the snapshot at ${snapshot.meta.index}`,
      );
    }
    const { meta, data } = snapshot;
    const ops: Batch = [
      { type: 'put', key: SNAPSHOT_META_KEY, value: encodeJson(meta) },
      {
        type: 'put',
        key: SNAPSHOT_DATA_KEY,
        value: Buffer.from(data.buffer, data.byteOffset, data.byteLength),
      },
    ];
    const compacts = compactIndex > this.compacted.index;
    if (compacts)
      ops.push({
        type: 'put',
        key: COMPACTED_KEY,
        value: encodeJson({ index: compactIndex, term: compactTerm }),
      });
    await this.db.batch(ops, { sync: true });
    if (compacts) {
      this.compacted = { index: compactIndex, term: compactTerm };
      this.clearEntriesThrough(compactIndex);
    }
  }

  /** Index of the last stored entry (or of the snapshot / compaction point when the log is empty). */
  get lastStoredIndex(): number {
    return this.lastIndex;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pendingClear;
    await this.db.close();
  }

  private pendingClear: Promise<void> = Promise.resolve();

  /**
   * Removes entries at or below `index` after the compaction point that hides them is durable.
   * Runs in the background: an interrupted clear leaves entries load() already ignores.
   */
  private clearEntriesThrough(index: number): void {
    this.pendingClear = this.pendingClear
      .then(() => this.db.clear({ gte: entryKey(0), lte: entryKey(index) }))
      .catch((err: unknown) => {
        this.logger.warn({ err: (err as Error).message, index }, 'clearing compacted raft entries failed');
      });
  }

  private assertOpen(): void {
    if (this.closed) throw new StorageClosedError();
  }
}
