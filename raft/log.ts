// RaftLog: the node's view of the replicated log, stitched from Storage (what the caller has persisted)
// and the UnstableLog (what it has not yet). Owns the commit and apply cursors; never does I/O itself.
import { CompactedError, RaftError, UnavailableError } from './errors';
import { UnstableLog } from './log-unstable';
import type { RaftLogger } from './logger';
import type { Entry, Snapshot, Storage } from './types';
import { limitSize } from './util';

export class RaftLog {
  readonly storage: Storage;
  readonly unstable: UnstableLog;
  /** Highest index known to be stored on a quorum. Invariant: applying <= committed <= lastIndex(). */
  committed: number;
  /** Highest index handed out to the application in a Ready. Invariant: applied <= applying. */
  applying: number;
  /** Highest index the application has confirmed applied (through advance()). Invariant: applied <= committed. */
  applied: number;
  private readonly maxApplyingBytes: number | undefined;
  private readonly logger: RaftLogger;

  constructor(storage: Storage, logger: RaftLogger, maxApplyingBytes?: number) {
    this.storage = storage;
    this.logger = logger;
    this.maxApplyingBytes = maxApplyingBytes;
    this.unstable = new UnstableLog(storage.lastIndex() + 1);
    // Everything up to the snapshot is committed and applied by definition.
    this.committed = storage.firstIndex() - 1;
    this.applying = this.committed;
    this.applied = this.committed;
  }

  firstIndex(): number {
    return this.unstable.maybeFirstIndex() ?? this.storage.firstIndex();
  }

  lastIndex(): number {
    return this.unstable.maybeLastIndex() ?? this.storage.lastIndex();
  }

  /** Term of entry i (i may be firstIndex()-1, the snapshot's index). Throws CompactedError / UnavailableError. */
  term(i: number): number {
    const dummy = this.firstIndex() - 1;
    if (i < dummy) throw new CompactedError(i, dummy + 1);
    if (i > this.lastIndex()) throw new UnavailableError(i, this.lastIndex());
    return this.unstable.maybeTerm(i) ?? this.storage.term(i);
  }

  /**
   * term(i), or undefined when i is outside the log (compacted or beyond the end). Checks bounds first:
   * this is on the hot path (every appended entry), where building exceptions would dominate.
   */
  maybeTerm(i: number): number | undefined {
    if (i < this.firstIndex() - 1 || i > this.lastIndex()) return undefined;
    const t = this.unstable.maybeTerm(i);
    if (t !== undefined) return t;
    try {
      return this.storage.term(i);
    } catch (err) {
      if (err instanceof CompactedError || err instanceof UnavailableError) return undefined;
      throw err;
    }
  }

  /** term(i), or 0 when i is outside the log (compacted or beyond the end). */
  termOrZero(i: number): number {
    return this.maybeTerm(i) ?? 0;
  }

  lastTerm(): number {
    return this.term(this.lastIndex());
  }

  matchTerm(i: number, term: number): boolean {
    return this.maybeTerm(i) === term;
  }

  /** §5.4.1: a log with (lastIndex, lastTerm) is at least as up-to-date as ours. */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const ourTerm = this.lastTerm();
    return lastTerm > ourTerm || (lastTerm === ourTerm && lastIndex >= this.lastIndex());
  }

  /**
   * Follower side of AppendEntries: if our log has (index, logTerm), append `entries` after it (dropping a
   * conflicting tail) and advance commit to min(committed, last new index). Returns the last new index, or
   * undefined when the consistency check fails.
   */
  maybeAppend(index: number, logTerm: number, committed: number, entries: Entry[]): number | undefined {
    if (!this.matchTerm(index, logTerm)) return undefined;
    const lastNew = index + entries.length;
    const conflict = this.findConflict(entries);
    if (conflict !== 0) {
      if (conflict <= this.committed) {
        throw new RaftError(`entry ${conflict} conflicts with committed entry (committed ${this.committed})`);
      }
      this.append(entries.slice(conflict - (index + 1)));
    }
    this.commitTo(Math.min(committed, lastNew));
    return lastNew;
  }

  /** Appends entries to the unstable tail (replacing any conflicting unstable entries); returns lastIndex(). */
  append(entries: readonly Entry[]): number {
    if (entries.length === 0) return this.lastIndex();
    const after = entries[0]!.index - 1;
    if (after < this.committed) {
      throw new RaftError(
        `appending after ${after} would overwrite committed entries (committed ${this.committed})`,
      );
    }
    this.unstable.truncateAndAppend(entries);
    return this.lastIndex();
  }

  /** Index of the first entry that is new or whose term differs from ours; 0 when all already match. */
  findConflict(entries: readonly Entry[]): number {
    for (const e of entries) {
      if (!this.matchTerm(e.index, e.term)) {
        if (e.index <= this.lastIndex()) {
          this.logger.debug(
            { index: e.index, existingTerm: this.termOrZero(e.index), term: e.term },
            'found conflicting entry',
          );
        }
        return e.index;
      }
    }
    return 0;
  }

  /**
   * Fast back-off: the largest index <= `index` whose term is <= `term`, with that term. Entries after it
   * cannot match a leader whose entry at `index` has term `term`, so the leader may skip them all.
   */
  findConflictByTerm(index: number, term: number): { index: number; term: number } {
    for (let i = Math.min(index, this.lastIndex()); i > 0; i--) {
      const t = this.maybeTerm(i);
      // Compacted: we cannot look further back; the snapshot covers the rest.
      if (t === undefined) return { index: i, term: 0 };
      if (t <= term) return { index: i, term: t };
    }
    return { index: 0, term: 0 };
  }

  unstableEntries(): Entry[] {
    return this.unstable.entries;
  }

  hasPendingSnapshot(): boolean {
    return this.unstable.snapshot !== undefined;
  }

  /** Committed entries not yet handed out for applying, within the per-Ready size limit. */
  nextCommittedEntries(): Entry[] {
    if (this.hasPendingSnapshot()) return [];
    const lo = Math.max(this.applying + 1, this.firstIndex());
    const hi = this.committed + 1;
    if (lo >= hi) return [];
    return this.slice(lo, hi, this.maxApplyingBytes);
  }

  hasNextCommittedEntries(): boolean {
    return !this.hasPendingSnapshot() && this.committed > Math.max(this.applying, this.firstIndex() - 1);
  }

  snapshot(): Snapshot {
    return this.unstable.snapshot ?? this.storage.snapshot();
  }

  commitTo(index: number): void {
    if (index <= this.committed) return;
    if (index > this.lastIndex()) {
      throw new RaftError(`commit index ${index} is beyond the last index ${this.lastIndex()}`);
    }
    this.committed = index;
  }

  /** The application applied everything up to index (and handed-out-but-not-applied entries stay counted). */
  appliedTo(index: number): void {
    if (index === 0) return;
    if (index > this.committed || index < this.applied) {
      throw new RaftError(`applied index ${index} is out of range [${this.applied}, ${this.committed}]`);
    }
    this.applied = index;
    this.applying = Math.max(this.applying, index);
  }

  stableTo(index: number, term: number): void {
    this.unstable.stableTo(index, term);
  }

  stableSnapTo(index: number): void {
    this.unstable.stableSnapTo(index);
  }

  /** Replaces the whole log with a snapshot from the leader; it becomes committed at once. */
  restore(snap: Snapshot): void {
    this.committed = snap.meta.index;
    this.unstable.restore(snap);
  }

  /**
   * The last index of the log the caller has persisted (as opposed to lastIndex(), which includes the
   * unstable tail). Storage may still hold a stale tail past a replaced unstable prefix: it does not count.
   */
  persistedLastIndex(): number {
    if (this.unstable.snapshot) return 0;
    const stored = this.storage.lastIndex();
    return this.unstable.entries.length > 0 ? Math.min(stored, this.unstable.offset - 1) : stored;
  }

  /** Entries in [lo, hi), at most maxBytes in total (but at least one). */
  slice(lo: number, hi: number, maxBytes?: number): Entry[] {
    if (lo > hi) throw new RaftError(`invalid slice ${lo} > ${hi}`);
    const first = this.firstIndex();
    if (lo < first) throw new CompactedError(lo, first);
    const last = this.lastIndex();
    if (hi > last + 1) throw new UnavailableError(hi - 1, last);
    if (lo === hi) return [];
    let out: Entry[] = [];
    const offset = this.unstable.offset;
    if (lo < offset) {
      const stored = this.storage.entries(lo, Math.min(hi, offset), maxBytes);
      // Storage stopped early because of the size limit: do not add unstable entries after a gap.
      if (stored.length < Math.min(hi, offset) - lo) return stored;
      out = stored;
    }
    if (hi > offset) {
      const fromUnstable = this.unstable.slice(Math.max(lo, offset), hi);
      out = out.length > 0 ? out.concat(fromUnstable) : fromUnstable;
    }
    return limitSize(out, maxBytes);
  }

  /** Entries from index i to the end, at most maxBytes in total (but at least one). */
  entriesFrom(i: number, maxBytes?: number): Entry[] {
    if (i > this.lastIndex()) return [];
    return this.slice(i, this.lastIndex() + 1, maxBytes);
  }
}
