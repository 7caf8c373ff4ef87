// Durable Raft state of one member, in its data directory:
//   wal/        the write-ahead log (wal.ts): entries and hard state, appended and fdatasynced, one
//               write and one sync per Ready however many entries it carries;
//   LevelDB     (the directory itself) the latest snapshot and the compaction point, written rarely,
//               and the lock that keeps a second process out.
// A Ready's entries and hard state reach the disk in one append, so a crash leaves either all or
// none of them (recovery drops a torn last record). A snapshot received from the leader is written
// to LevelDB first and then marked in the log; a crash between the two is resolved on load by the
// log matching property (see load).
// It never decides *when* to snapshot or compact (the runtime does) and never interprets snapshot
// or entry data.
import { renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { AbstractBatchOperation } from 'abstract-level';
import { Level } from 'level';
import pino, { type Logger } from 'pino';
import type { Entry, HardState, Snapshot } from '../types';
import {
  COMPACTED_KEY,
  decodeCompacted,
  decodeSnapshotMeta,
  encodeJson,
  SNAPSHOT_DATA_KEY,
  SNAPSHOT_META_KEY,
} from './encoding';
import { StorageClosedError, StorageCorruptError, StorageLockedError } from './errors';
import { clearLegacyLog, migrateLegacyLog } from './legacy-log';
import { Wal, type WalReplay, type WalSyncMode } from './wal';
import { type WalRecord, WalRecordType } from './wal-record';

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

export interface SaveOptions {
  /** The Ready's mustSync: without it the write may be lost in a power cut, which Raft allows. */
  sync: boolean;
  /**
   * Where the fdatasync runs: 'inline' blocks this thread in the kernel until the disk answers (no
   * thread hand-offs; for a member with nothing else to do meanwhile, e.g. a follower), 'threadpool'
   * (the default) lets the event loop go on.
   */
  syncMode?: WalSyncMode;
}

export interface RaftStorageOptions {
  logger?: Logger;
  /** Size at which the log starts a new segment file (default 16 MiB). */
  walSegmentBytes?: number;
}

type Batch = AbstractBatchOperation<Level<Buffer, Buffer>, Buffer, Buffer>[];

export const WAL_DIRECTORY = 'wal';

export class RaftStorage {
  private lastIndex = 0;
  private compacted = { index: 0, term: 0 };
  private closed = false;
  /** Held from open() until load() hands it out. */
  private replay: WalReplay | undefined;

  private constructor(
    private readonly db: Level<Buffer, Buffer>,
    private readonly wal: Wal,
    replay: WalReplay,
    readonly directory: string,
    private readonly logger: Logger,
  ) {
    this.replay = replay;
  }

  /**
   * Opens (creating if needed) the data directory and replays the log. Throws StorageLockedError
   * when another process holds it, StorageCorruptError when the log is damaged beyond a torn tail.
   */
  static async open(directory: string, options: RaftStorageOptions = {}): Promise<RaftStorage> {
    const logger = (options.logger ?? pino({ level: 'silent' })).child({ module: 'raft-storage' });
    const db = new Level<Buffer, Buffer>(directory, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
    try {
      await db.open();
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause;
      if (cause?.code === 'LEVEL_LOCKED') throw new StorageLockedError(directory, { cause: err });
      throw err;
    }
    try {
      const walDir = join(directory, WAL_DIRECTORY);
      const walOptions = { logger, segmentBytes: options.walSegmentBytes };
      if (!Wal.exists(walDir)) {
        // A directory written before the log had its own files keeps its entries in LevelDB.
        const staging = `${walDir}.migrating`;
        rmSync(staging, { recursive: true, force: true });
        if (await migrateLegacyLog(db, staging, walOptions)) {
          rmSync(walDir, { recursive: true, force: true });
          renameSync(staging, walDir);
          await clearLegacyLog(db);
          logger.info({ directory }, 'raft storage: moved the log from LevelDB to the write-ahead log');
        }
      }
      const { wal, replay } = Wal.open(walDir, walOptions);
      return new RaftStorage(db, wal, replay, directory, logger);
    } catch (err) {
      await db.close();
      throw err;
    }
  }

  /**
   * Reads back the persisted state. The log's entries at or below the compaction point are dropped;
   * if the entry at the compaction point has another term than the one recorded (a snapshot from
   * the leader became durable but the crash came before the log marked it), everything after it
   * belongs to a history the snapshot replaced and is dropped too.
   */
  async load(): Promise<PersistedState> {
    this.assertOpen();
    const replay = this.replay;
    if (replay === undefined) throw new Error('raft storage: load() may be called once');
    this.replay = undefined;
    const [compactedRaw, metaRaw] = (await this.db.getMany([COMPACTED_KEY, SNAPSHOT_META_KEY])) as (
      | Buffer
      | undefined
    )[];
    const compacted = compactedRaw ? decodeCompacted(compactedRaw) : { index: 0, term: 0 };
    let snapshot: Snapshot | undefined;
    if (metaRaw) {
      const data = await this.db.get(SNAPSHOT_DATA_KEY);
      snapshot = { meta: decodeSnapshotMeta(metaRaw), data: data ?? Buffer.alloc(0) };
    }
    const hardState = replay.hardState ?? { term: 0, vote: '', commit: 0 };
    let entries = replay.entries;
    const base = replay.baseIndex;
    const last = base + entries.length;
    if (entries.length > 0) {
      if (compacted.index > base) {
        const atCompaction = compacted.index <= last ? entries[compacted.index - base - 1]! : undefined;
        entries = atCompaction?.term === compacted.term ? entries.slice(compacted.index - base) : [];
      } else if (compacted.index < base) {
        throw new StorageCorruptError(
          this.directory,
          `log has a gap: it starts at entry ${base + 1}, the compaction point is ${compacted.index}`,
        );
      } else if (replay.baseTerm !== undefined && replay.baseTerm !== compacted.term) {
        entries = [];
      }
    }
    if (snapshot && snapshot.meta.index < compacted.index) {
      throw new StorageCorruptError(this.directory, 'log compacted beyond the latest snapshot');
    }
    if (snapshot && entries.length > 0 && entries[entries.length - 1]!.index < snapshot.meta.index) {
      // The log was kept only up to an older point and the snapshot covers it all: start from the snapshot.
      entries = [];
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
        walSegments: this.wal.segmentCount,
        tornBytes: replay.truncatedBytes,
      },
      'raft storage loaded',
    );
    return { hardState, snapshot, compacted, entries };
  }

  /**
   * Persists a Ready: a received snapshot (to LevelDB, durably, first), then the entries and the
   * hard state in one append to the log, synced when `options.sync`.
   */
  async save(update: StableUpdate, options: SaveOptions): Promise<void> {
    this.assertOpen();
    const records: WalRecord[] = [];
    let lastIndex = this.lastIndex;
    if (update.snapshot) {
      const { meta, data } = update.snapshot;
      const compacted = { index: meta.index, term: meta.term };
      await this.db.batch(
        [
          { type: 'put', key: SNAPSHOT_META_KEY, value: encodeJson(meta) },
          {
            type: 'put',
            key: SNAPSHOT_DATA_KEY,
            value: Buffer.from(data.buffer, data.byteOffset, data.byteLength),
          },
          { type: 'put', key: COMPACTED_KEY, value: encodeJson(compacted) },
        ],
        { sync: true },
      );
      this.compacted = compacted;
      // The snapshot replaces the log: whatever followed it locally may conflict with the leader's.
      records.push({ type: WalRecordType.SnapshotMark, index: meta.index, term: meta.term });
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
      for (const entry of update.entries) records.push({ type: WalRecordType.Entry, entry });
      lastIndex = update.entries[update.entries.length - 1]!.index;
    }
    if (update.hardState) records.push({ type: WalRecordType.HardState, hardState: update.hardState });
    if (records.length === 0) return;
    this.wal.append(records);
    this.lastIndex = lastIndex;
    if (options.sync) await this.wal.sync(options.syncMode ?? 'threadpool');
  }

  /**
   * Records a snapshot the application took at `snapshot.meta.index` and compacts the log up to
   * `compactIndex` (≤ the snapshot's index; the entries after it stay, so slow followers can still
   * catch up from the log). `compactTerm` is the term of the entry at compactIndex. Log segments
   * holding only compacted entries are deleted once the compaction point is durable.
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
      const removed = this.wal.removeSegmentsThrough(compactIndex);
      if (removed > 0) this.logger.debug({ removed, compactIndex }, 'raft wal: removed compacted segments');
    }
  }

  /** Index of the last stored entry (or of the snapshot / compaction point when the log is empty). */
  get lastStoredIndex(): number {
    return this.lastIndex;
  }

  /** Number of log segment files (for tests and diagnostics). */
  get walSegmentCount(): number {
    return this.wal.segmentCount;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.wal.close();
    } finally {
      await this.db.close();
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new StorageClosedError();
  }
}
