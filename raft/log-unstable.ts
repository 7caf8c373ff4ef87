// The unstable tail of the log: entries (and at most one incoming snapshot) the core has accepted but the
// caller has not yet confirmed as persisted. Ready hands them out; advance() marks them stable, after
// which the core reads them from Storage instead.
//
// Invariants: entries[i].index === offset + i; when a snapshot is present, offset === snapshot index + 1.
import type { Entry, Snapshot } from './types';

export class UnstableLog {
  /** An incoming snapshot not yet persisted. */
  snapshot: Snapshot | undefined;
  entries: Entry[] = [];
  /** Index of entries[0] (or of the next entry to come when entries is empty). */
  offset: number;

  constructor(offset: number) {
    this.offset = offset;
  }

  /** The first index of the log if the unstable part decides it (a pending snapshot does). */
  maybeFirstIndex(): number | undefined {
    return this.snapshot ? this.snapshot.meta.index + 1 : undefined;
  }

  maybeLastIndex(): number | undefined {
    if (this.entries.length > 0) return this.offset + this.entries.length - 1;
    return this.snapshot?.meta.index;
  }

  maybeTerm(i: number): number | undefined {
    if (i < this.offset) {
      if (this.snapshot && this.snapshot.meta.index === i) return this.snapshot.meta.term;
      return undefined;
    }
    const last = this.maybeLastIndex();
    if (last === undefined || i > last) return undefined;
    return this.entries[i - this.offset]!.term;
  }

  /** The caller persisted entries up to (index, term): drop them from the unstable tail. */
  stableTo(index: number, term: number): void {
    const t = this.maybeTerm(index);
    if (t === undefined || index < this.offset) return;
    // A mismatch means the tail was replaced after it was handed out: the new entries are not stable yet.
    if (t !== term) return;
    this.entries = this.entries.slice(index + 1 - this.offset);
    this.offset = index + 1;
  }

  stableSnapTo(index: number): void {
    if (this.snapshot && this.snapshot.meta.index === index) this.snapshot = undefined;
  }

  restore(snap: Snapshot): void {
    this.offset = snap.meta.index + 1;
    this.entries = [];
    this.snapshot = snap;
  }

  /** Appends entries, replacing any unstable entries at the same or later indexes. */
  truncateAndAppend(ents: readonly Entry[]): void {
    const first = ents[0]!.index;
    if (first === this.offset + this.entries.length) {
      // In place, so that many proposals between two Readys cost O(1) each (Ready hands out a copy).
      for (const e of ents) this.entries.push(e);
    } else if (first <= this.offset) {
      // Replaces the whole unstable tail (and possibly stable entries: storage will be overwritten too).
      this.offset = first;
      this.entries = [...ents];
    } else {
      this.entries = this.entries.slice(0, first - this.offset).concat(ents);
    }
  }

  /** Entries in [lo, hi), which must lie within the unstable tail. */
  slice(lo: number, hi: number): Entry[] {
    return this.entries.slice(lo - this.offset, hi - this.offset);
  }
}
