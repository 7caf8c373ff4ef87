// A node's simulated durable disk. Writes first land in a volatile buffer (the OS page cache);
// sync() makes everything buffered durable, in order. A crash keeps the durable state plus a
// random prefix of the buffered writes (the kernel may have flushed some of them), never a mix
// within one write: each Ready's persist is one atomic batch, as with LevelDB's batch().
//
// What survives a crash is exactly what a restarted node reads back through load(). The disk
// never interprets snapshot data and never decides when to sync: the node harness does, from
// Ready.mustSync, which is the contract under test.

import type { Entry, HardState, Snapshot } from '../types';
import { NONE } from '../types';
import type { Prng } from './prng';

export interface DiskBatch {
  hardState?: HardState;
  entries: readonly Entry[];
  /** A snapshot from the leader: replaces the whole log. */
  snapshot?: Snapshot;
}

export interface DurableState {
  hardState: HardState;
  /** The latest snapshot (the bootstrap one for an initial member), or undefined for a joining node. */
  snapshot: Snapshot | undefined;
  /** Contiguous log entries; may start before the snapshot's index (a kept tail) or be empty. */
  entries: Entry[];
}

type Write = { kind: 'batch'; batch: DiskBatch } | { kind: 'compact'; snapshot: Snapshot; compactTo: number };

export class HarnessError extends Error {
  override name = 'HarnessError';
}

export class SimDisk {
  private durable: DurableState;
  private buffered: Write[] = [];
  syncs = 0;
  lostWrites = 0;

  constructor(initial?: DurableState) {
    this.durable = initial
      ? cloneState(initial)
      : { hardState: { term: 0, vote: NONE, commit: 0 }, snapshot: undefined, entries: [] };
  }

  /** Buffers one atomic batch (not yet durable). */
  write(batch: DiskBatch): void {
    this.buffered.push({
      kind: 'batch',
      batch: {
        hardState: batch.hardState ? { ...batch.hardState } : undefined,
        entries: batch.entries.slice(),
        snapshot: batch.snapshot,
      },
    });
  }

  /** Makes every buffered write durable. */
  sync(): void {
    this.syncs++;
    for (const w of this.buffered) applyWrite(this.durable, w);
    this.buffered = [];
  }

  /**
   * Saves a locally taken snapshot and drops the log up to compactTo, durably (a snapshot file is
   * written and synced before the log is truncated, so the buffer is flushed first).
   */
  saveSnapshot(snapshot: Snapshot, compactTo: number): void {
    this.buffered.push({ kind: 'compact', snapshot, compactTo });
    this.sync();
  }

  /** A power failure: the buffer is lost except a random prefix of it. */
  crash(random: Prng): void {
    const kept = random.int(this.buffered.length + 1);
    for (const w of this.buffered.slice(0, kept)) applyWrite(this.durable, w);
    this.lostWrites += this.buffered.length - kept;
    this.buffered = [];
  }

  get unsyncedWrites(): number {
    return this.buffered.length;
  }

  /** What a restarting node reads back (a deep enough copy: callers may not mutate the disk). */
  load(): DurableState {
    if (this.buffered.length > 0) throw new HarnessError('load() with unsynced writes: crash or sync first');
    return cloneState(this.durable);
  }
}

function cloneState(s: DurableState): DurableState {
  return { hardState: { ...s.hardState }, snapshot: s.snapshot, entries: s.entries.slice() };
}

function applyWrite(d: DurableState, w: Write): void {
  if (w.kind === 'compact') {
    if (d.snapshot === undefined || w.snapshot.meta.index > d.snapshot.meta.index) d.snapshot = w.snapshot;
    d.entries = d.entries.filter((e) => e.index > w.compactTo);
    return;
  }
  const { hardState, entries, snapshot } = w.batch;
  if (snapshot !== undefined && (d.snapshot === undefined || snapshot.meta.index > d.snapshot.meta.index)) {
    d.snapshot = snapshot;
    d.entries = [];
  }
  if (hardState !== undefined) d.hardState = { ...hardState };
  if (entries.length > 0) {
    const first = entries[0]!.index;
    const kept = d.entries.filter((e) => e.index < first);
    const last = kept.length > 0 ? kept[kept.length - 1]!.index : (d.snapshot?.meta.index ?? 0);
    if (first > last + 1) {
      throw new HarnessError(`disk append at index ${first} leaves a gap after ${last}`);
    }
    d.entries = kept.concat(entries);
  }
}
