// MemoryStorage: an in-memory Storage, the reference implementation of the interface the core reads its
// stable log from. It holds what the caller has persisted: the caller appends to it only after the entries
// of a Ready are durable elsewhere (or, in tests and the simulator, uses it as the durable store itself).
//
// Layout: `ents[0]` is a dummy entry standing for the snapshot (its index and term are the snapshot's), so
// ents[i] has index ents[0].index + i, and term(snapshotIndex) stays answerable after compaction.
//
// Bootstrapping: a brand-new cluster's initial members each start from `MemoryStorage.bootstrap(voters)`:
// a snapshot at index 1, term 1 whose confState holds the voters and whose data is empty (the application's
// empty state). A node joining an existing cluster starts from `new MemoryStorage()`: no configuration, so
// it never campaigns, and index 1 is compacted everywhere else, so the leader catches it up with a snapshot
// that carries the configuration.
import { CompactedError, SnapshotOutOfDateError, UnavailableError } from './errors';
import type { ConfState, Entry, HardState, NodeId, Snapshot, Storage } from './types';
import { EntryType, NONE } from './types';
import { copyConfState, limitSize } from './util';

export class MemoryStorage implements Storage {
  private hardState: HardState = { term: 0, vote: NONE, commit: 0 };
  private snap: Snapshot = {
    meta: { index: 0, term: 0, confState: { voters: [], learners: [] } },
    data: new Uint8Array(),
  };
  /** ents[0] is the dummy entry at the snapshot's index; never empty. */
  private ents: Entry[] = [{ index: 0, term: 0, type: EntryType.Normal, data: new Uint8Array() }];

  /** Storage for an initial member of a brand-new cluster whose voters (and learners) are given. */
  static bootstrap(voters: NodeId[], learners: NodeId[] = []): MemoryStorage {
    const storage = new MemoryStorage();
    storage.applySnapshot({
      meta: { index: 1, term: 1, confState: { voters: [...voters], learners: [...learners] } },
      data: new Uint8Array(),
    });
    storage.setHardState({ term: 1, vote: NONE, commit: 1 });
    return storage;
  }

  initialState(): { hardState: HardState; confState: ConfState } {
    return { hardState: { ...this.hardState }, confState: copyConfState(this.snap.meta.confState) };
  }

  setHardState(hs: HardState): void {
    this.hardState = { ...hs };
  }

  entries(lo: number, hi: number, maxBytes?: number): Entry[] {
    const offset = this.ents[0]!.index;
    if (lo <= offset) throw new CompactedError(lo, offset + 1);
    if (hi > this.lastIndex() + 1) throw new UnavailableError(hi - 1, this.lastIndex());
    if (lo >= hi) return [];
    return limitSize(this.ents.slice(lo - offset, hi - offset), maxBytes);
  }

  term(i: number): number {
    const offset = this.ents[0]!.index;
    if (i < offset) throw new CompactedError(i, offset + 1);
    if (i - offset >= this.ents.length) throw new UnavailableError(i, this.lastIndex());
    return this.ents[i - offset]!.term;
  }

  lastIndex(): number {
    return this.ents[0]!.index + this.ents.length - 1;
  }

  firstIndex(): number {
    return this.ents[0]!.index + 1;
  }

  snapshot(): Snapshot {
    return this.snap;
  }

  /** Replaces the whole log with a snapshot (received from a leader). */
  applySnapshot(snap: Snapshot): void {
    const current = this.snap.meta.index;
    if (snap.meta.index <= current) {
      throw new SnapshotOutOfDateError(snap.meta.index, current);
    }
    this.snap = { meta: { ...snap.meta, confState: copyConfState(snap.meta.confState) }, data: snap.data };
    this.ents = [
      { index: snap.meta.index, term: snap.meta.term, type: EntryType.Normal, data: new Uint8Array() },
    ];
  }

  /**
   * Records a snapshot of the application's state at `index` (which must be applied and still in the log).
   * The log is not compacted: call compact() separately, usually keeping some entries for slow followers.
   */
  createSnapshot(index: number, confState: ConfState, data: Uint8Array): Snapshot {
    if (index <= this.snap.meta.index) throw new SnapshotOutOfDateError(index, this.snap.meta.index);
    if (index > this.lastIndex()) throw new UnavailableError(index, this.lastIndex());
    const offset = this.ents[0]!.index;
    this.snap = {
      meta: { index, term: this.ents[index - offset]!.term, confState: copyConfState(confState) },
      data,
    };
    return this.snap;
  }

  /** Discards every entry before compactIndex (which becomes the dummy entry). */
  compact(compactIndex: number): void {
    const offset = this.ents[0]!.index;
    if (compactIndex <= offset) throw new CompactedError(compactIndex, offset + 1);
    if (compactIndex > this.lastIndex()) throw new UnavailableError(compactIndex, this.lastIndex());
    const kept = this.ents.slice(compactIndex - offset);
    kept[0] = { index: kept[0]!.index, term: kept[0]!.term, type: EntryType.Normal, data: new Uint8Array() };
    this.ents = kept;
  }

  /**
   * Appends entries that must be contiguous with the log or overlap it; an overlapping (conflicting) tail is
   * replaced. Entries already compacted are skipped.
   */
  append(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const first = this.firstIndex();
    const last = entries[0]!.index + entries.length - 1;
    if (last < first) return;
    const fresh = first > entries[0]!.index ? entries.slice(first - entries[0]!.index) : entries;
    const offset = fresh[0]!.index - this.ents[0]!.index;
    if (offset > this.ents.length) {
      throw new UnavailableError(fresh[0]!.index, this.lastIndex());
    }
    // In place: entries() hands out copies, and appending must stay O(new entries) on a long log.
    if (offset < this.ents.length) this.ents.length = offset;
    for (const e of fresh) this.ents.push(e);
  }
}
