// The write-ahead log: Raft's entries and hard state as records (wal-record.ts) appended to segment
// files `wal/<seq, 16 hex digits>.wal`. One file descriptor, written with plain write() calls from
// the caller's thread; durability comes from fdatasync, which the caller runs either in place (the
// thread blocks in the kernel: no hand-off to libuv's thread pool and back, which a follower waiting
// only for this has no use for) or on the thread pool (a leader keeps serving while its disk syncs).
// Many records share one write and one sync: the runtime appends a whole Ready at a time.
//
// The space ahead of the end is preallocated: zeros written and synced in 1 MiB steps, off the path
// of any append (in a setImmediate once less than 256 KiB are left), so that an append overwrites
// blocks the file already owns and its fdatasync flushes only data: no file size change, no block
// allocation, hence no filesystem journal commit (on ext4: no wait for the jbd2 thread).
//
// Recovery replays every segment in order. A crash during an append leaves at most one damaged
// record, at the end of the last segment: replay stops at the first record whose length or CRC does
// not check out. What follows must be preallocated zeros; anything else (a torn record, or pages of
// an unacknowledged append that reached the disk before an earlier page of it) is cut off, so that
// no stale record can ever be read after a later append. Damage anywhere else is corruption.
//
// It owns the files and their order; it never decides what is compacted (the caller says up to
// which index entries are no longer needed) and never interprets entry data.
import {
  closeSync,
  fdatasync,
  fdatasyncSync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Entry, HardState } from '../types';
import { StorageClosedError, StorageCorruptError, StorageWriteError } from './errors';
import { decodeRecords, encodeRecords, type WalRecord, WalRecordType } from './wal-record';

/** How a sync reaches the disk: in place on the calling thread, or on libuv's thread pool. */
export type WalSyncMode = 'inline' | 'threadpool';

export interface WalOptions {
  logger: Logger;
  /** A segment is closed and a new one started once it holds this many bytes (default 16 MiB). */
  segmentBytes?: number;
}

/** What replaying the segments yields: the log as the records left it. */
export interface WalReplay {
  hardState: HardState | undefined;
  /** The index just before entries[0] (the log's start is unknown below it). */
  baseIndex: number;
  /** The term at baseIndex when a snapshot mark set it; undefined when it is the start of a segment. */
  baseTerm: number | undefined;
  /** Contiguous from baseIndex + 1. */
  entries: Entry[];
  /** Bytes cut off the last segment because its last record was torn. */
  truncatedBytes: number;
}

interface Segment {
  seq: number;
  path: string;
  /** Highest entry index the segment holds (0 when it holds none). */
  maxIndex: number;
}

const SEGMENT_SUFFIX = '.wal';
const DEFAULT_SEGMENT_BYTES = 16 * 1024 * 1024;
/** Preallocation step, and the free space below which the next step is scheduled. */
const PREALLOCATE_BYTES = 1024 * 1024;
const PREALLOCATE_AHEAD_BYTES = 256 * 1024;
const ZEROS = Buffer.alloc(64 * 1024);

/** True when every byte of `buf` from `from` on is zero. */
function zeroFrom(buf: Buffer, from: number): boolean {
  for (let at = from; at < buf.length; at += ZEROS.length) {
    const end = Math.min(buf.length, at + ZEROS.length);
    if (buf.compare(ZEROS, 0, end - at, at, end) !== 0) return false;
  }
  return true;
}

function segmentName(seq: number): string {
  return `${seq.toString(16).padStart(16, '0')}${SEGMENT_SUFFIX}`;
}

function fsyncDirectory(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function writeFully(fd: number, buf: Buffer, position: number): void {
  let done = 0;
  while (done < buf.length) done += writeSync(fd, buf, done, buf.length - done, position + done);
}

export class Wal {
  private fd: number;
  /** Where the next record goes in the current segment. */
  private size: number;
  /** Length of the current segment's file: the bytes from `size` on are preallocated zeros. */
  private capacity: number;
  private preallocation: NodeJS.Immediate | undefined;
  private preallocationFailed = false;
  private closed = false;
  /** Set by the first failed write or sync: the file's state is unknown, nothing more is written. */
  private failure: Error | undefined;
  private hardState: HardState | undefined;
  private pendingSyncs = 0;
  private syncsDrained: (() => void) | undefined;

  private constructor(
    readonly directory: string,
    private readonly segments: Segment[],
    private readonly segmentBytes: number,
    private readonly logger: Logger,
    replay: WalReplay,
    size: number,
    capacity: number,
  ) {
    this.hardState = replay.hardState;
    this.size = size;
    this.capacity = capacity;
    this.fd = openSync(this.current.path, 'r+');
    this.maybePreallocate();
  }

  /** True when `directory` holds at least one segment. */
  static exists(directory: string): boolean {
    try {
      return readdirSync(directory).some((f) => f.endsWith(SEGMENT_SUFFIX));
    } catch {
      return false;
    }
  }

  /**
   * Opens (creating if needed) the log in `directory`, replays it and truncates a torn last record.
   * Throws StorageCorruptError when a segment other than the last is damaged or the log has a gap.
   */
  static open(directory: string, options: WalOptions): { wal: Wal; replay: WalReplay } {
    mkdirSync(directory, { recursive: true });
    const names = readdirSync(directory)
      .filter((f) => f.endsWith(SEGMENT_SUFFIX))
      .sort();
    const segments: Segment[] = names.map((name) => ({
      seq: Number.parseInt(name.slice(0, -SEGMENT_SUFFIX.length), 16),
      path: join(directory, name),
      maxIndex: 0,
    }));
    if (segments.length === 0) {
      const first: Segment = { seq: 0, path: join(directory, segmentName(0)), maxIndex: 0 };
      closeSync(openSync(first.path, 'wx'));
      fsyncDirectory(directory);
      segments.push(first);
    }
    const replay: WalReplay = {
      hardState: undefined,
      baseIndex: 0,
      baseTerm: undefined,
      entries: [],
      truncatedBytes: 0,
    };
    let size = 0;
    let capacity = 0;
    for (const name of readdirSync(directory)) {
      if (name.endsWith(`${SEGMENT_SUFFIX}.tmp`)) unlinkSync(join(directory, name));
    }
    for (const [i, segment] of segments.entries()) {
      const buf = readFileSync(segment.path);
      const { records, validBytes } = decodeRecords(buf);
      const last = i === segments.length - 1;
      if (last) capacity = buf.length;
      if (!zeroFrom(buf, validBytes)) {
        if (!last) {
          throw new StorageCorruptError(
            directory,
            `segment ${segment.path} is damaged at byte ${validBytes} of ${buf.length}`,
          );
        }
        // A crash cut the last append short: nothing after it was ever acknowledged.
        const fd = openSync(segment.path, 'r+');
        try {
          ftruncateSync(fd, validBytes);
          fsyncSync(fd);
        } finally {
          closeSync(fd);
        }
        replay.truncatedBytes = buf.length - validBytes;
        capacity = validBytes;
        options.logger.warn(
          { segment: segment.path, validBytes, droppedBytes: replay.truncatedBytes },
          'raft wal: truncated a torn record at the end of the log',
        );
      }
      segment.maxIndex = replayInto(replay, records, i === 0, directory);
      if (last) size = validBytes;
    }
    const wal = new Wal(
      directory,
      segments,
      options.segmentBytes ?? DEFAULT_SEGMENT_BYTES,
      options.logger,
      replay,
      size,
      capacity,
    );
    return { wal, replay };
  }

  /**
   * Writes a batch of records with one write() (not yet durable: see sync). Starts a new segment
   * first when the current one is full. Throws StorageWriteError, after which the log refuses writes.
   */
  append(records: readonly WalRecord[]): void {
    this.assertWritable();
    if (records.length === 0) return;
    try {
      if (this.size >= this.segmentBytes) this.rotate();
      const buf = encodeRecords(records);
      writeFully(this.fd, buf, this.size);
      this.size += buf.length;
      this.capacity = Math.max(this.capacity, this.size);
    } catch (err) {
      throw this.fail('append', err);
    }
    this.maybePreallocate();
    for (const r of records) {
      if (r.type === WalRecordType.Entry) this.current.maxIndex = r.entry.index;
      else if (r.type === WalRecordType.HardState) this.hardState = r.hardState;
    }
  }

  /** Makes everything appended so far durable. */
  async sync(mode: WalSyncMode): Promise<void> {
    this.assertWritable();
    if (mode === 'inline') {
      try {
        fdatasyncSync(this.fd);
      } catch (err) {
        throw this.fail('sync', err);
      }
      return;
    }
    this.pendingSyncs++;
    try {
      await new Promise<void>((resolve, reject) => {
        fdatasync(this.fd, (err) => (err ? reject(this.fail('sync', err)) : resolve()));
      });
    } finally {
      if (--this.pendingSyncs === 0) this.syncsDrained?.();
    }
  }

  /**
   * Deletes the oldest closed segments whose entries are all at or below `index` (entries the caller
   * no longer needs, e.g. covered by a durable snapshot). The current segment always stays.
   */
  removeSegmentsThrough(index: number): number {
    let removed = 0;
    while (this.segments.length > 1 && this.segments[0]!.maxIndex <= index) {
      const segment = this.segments.shift()!;
      try {
        unlinkSync(segment.path);
      } catch (err) {
        this.logger.warn(
          { err: (err as Error).message, segment: segment.path },
          'raft wal: removing a segment failed',
        );
      }
      removed++;
    }
    return removed;
  }

  /** Number of segment files (for tests and status). */
  get segmentCount(): number {
    return this.segments.length;
  }

  /** Bytes preallocated ahead of the end of the current segment (for tests). */
  get preallocatedBytes(): number {
    return this.capacity - this.size;
  }

  /** Waits for syncs in flight, then closes the file. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.preallocation) clearImmediate(this.preallocation);
    if (this.pendingSyncs > 0) {
      await new Promise<void>((resolve) => {
        this.syncsDrained = resolve;
      });
    }
    closeSync(this.fd);
  }

  private get current(): Segment {
    return this.segments[this.segments.length - 1]!;
  }

  /**
   * Closes the full segment (made durable first: recovery accepts damage only in the last one) and
   * starts the next, which begins with the latest hard state so older segments can go.
   */
  private rotate(): void {
    fdatasyncSync(this.fd);
    const seq = this.current.seq + 1;
    const path = join(this.directory, segmentName(seq));
    const tmp = `${path}.tmp`;
    const fd = openSync(tmp, 'w');
    let size = 0;
    try {
      if (this.hardState) {
        const header = encodeRecords([{ type: WalRecordType.HardState, hardState: this.hardState }]);
        writeFully(fd, header, 0);
        size = header.length;
      }
      fdatasyncSync(fd);
    } catch (err) {
      closeSync(fd);
      throw err;
    }
    // The new segment appears whole (renamed into place) and its name is made durable.
    renameSync(tmp, path);
    fsyncDirectory(this.directory);
    closeSync(this.fd);
    this.fd = fd;
    this.size = size;
    this.capacity = size;
    this.segments.push({ seq, path, maxIndex: this.current.maxIndex });
    this.logger.debug({ segment: path }, 'raft wal: new segment');
  }

  /**
   * Schedules the next preallocation step when less than PREALLOCATE_AHEAD_BYTES are left. It runs
   * in a setImmediate, i.e. after the Ready being handled sent its messages, on this thread (so it
   * never races an append), and syncs what it wrote: the zeros are the file's own blocks before any
   * append lands on them.
   */
  private maybePreallocate(): void {
    if (this.preallocation || this.preallocationFailed || this.closed) return;
    if (this.capacity - this.size >= PREALLOCATE_AHEAD_BYTES) return;
    this.preallocation = setImmediate(() => {
      this.preallocation = undefined;
      if (this.closed || this.failure) return;
      const from = Math.max(this.capacity, this.size);
      try {
        for (let at = from; at < from + PREALLOCATE_BYTES; at += ZEROS.length) writeFully(this.fd, ZEROS, at);
        fdatasyncSync(this.fd);
        this.capacity = from + PREALLOCATE_BYTES;
      } catch (err) {
        // Appends still work (they extend the file); only their syncs get slower.
        this.preallocationFailed = true;
        this.logger.warn({ err: (err as Error).message }, 'raft wal: preallocating log space failed');
      }
    });
    this.preallocation.unref();
  }

  private fail(what: string, err: unknown): Error {
    this.failure ??= new StorageWriteError(this.directory, what, { cause: err });
    return this.failure;
  }

  private assertWritable(): void {
    if (this.closed) throw new StorageClosedError();
    if (this.failure) throw this.failure;
  }
}

/**
 * Applies one segment's records to the replayed log and returns the segment's highest entry index.
 * An entry at or below the last one replaces it and everything after (a conflicting tail).
 */
function replayInto(
  replay: WalReplay,
  records: readonly WalRecord[],
  firstSegment: boolean,
  directory: string,
): number {
  let maxIndex = 0;
  let started = !firstSegment || replay.entries.length > 0;
  for (const r of records) {
    switch (r.type) {
      case WalRecordType.HardState:
        replay.hardState = r.hardState;
        break;
      case WalRecordType.SnapshotMark:
        replay.entries.length = 0;
        replay.baseIndex = r.index;
        replay.baseTerm = r.term;
        started = true;
        break;
      case WalRecordType.Entry: {
        const { index } = r.entry;
        maxIndex = Math.max(maxIndex, index);
        const last = replay.baseIndex + replay.entries.length;
        if (!started) {
          // The oldest remaining segment: its older predecessors were removed after compaction.
          replay.baseIndex = index - 1;
          replay.baseTerm = undefined;
          started = true;
        } else if (index > last + 1) {
          throw new StorageCorruptError(
            directory,
            `log has a gap: expected entry ${last + 1}, found ${index}`,
          );
        } else if (index <= replay.baseIndex) {
          // Rewrites what precedes the known start: the known part is all replaced.
          replay.entries.length = 0;
          replay.baseIndex = index - 1;
          replay.baseTerm = undefined;
        } else {
          replay.entries.length = index - replay.baseIndex - 1;
        }
        replay.entries.push(r.entry);
        break;
      }
    }
  }
  return maxIndex;
}
