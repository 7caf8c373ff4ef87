// Turns what RaftStorage read back from disk into the in-memory log the core reads (MemoryStorage):
// the latest snapshot, plus the kept tail of entries behind it, plus everything after it.
import { MemoryStorage } from '../index';
import type { PersistedState } from '../storage';

export function memoryStorageFrom(state: PersistedState): MemoryStorage {
  const storage = new MemoryStorage();
  const { snapshot, compacted, entries } = state;
  if (snapshot !== undefined) {
    const tailStart = compacted.index;
    const coversSnapshot = entries.length > 0 && entries[entries.length - 1]!.index >= snapshot.meta.index;
    if (tailStart < snapshot.meta.index && coversSnapshot && tailStart > 0) {
      // Rebuild the kept tail: the log starts at the compaction point, the snapshot sits inside it.
      storage.applySnapshot({
        meta: { index: tailStart, term: compacted.term, confState: snapshot.meta.confState },
        data: new Uint8Array(),
      });
      storage.append(entries);
      storage.createSnapshot(snapshot.meta.index, snapshot.meta.confState, snapshot.data);
    } else {
      if (snapshot.meta.index > 0) storage.applySnapshot(snapshot);
      storage.append(entries.filter((e) => e.index > snapshot.meta.index));
    }
  } else if (entries.length > 0) {
    // A log that was never snapshotted (not made by this runtime, which always starts from one).
    if (compacted.index > 0) {
      storage.applySnapshot({
        meta: { index: compacted.index, term: compacted.term, confState: { voters: [], learners: [] } },
        data: new Uint8Array(),
      });
    }
    storage.append(entries);
  }
  // The commit index is recorded lazily (the runtime defers commit-only changes, and applies entries
  // that commit while a write is in flight), so a snapshot of applied entries may be ahead of it.
  // Everything a snapshot covers was committed: the commit index is at least the snapshot's.
  const commit = Math.max(state.hardState.commit, snapshot?.meta.index ?? 0);
  storage.setHardState({ ...state.hardState, commit });
  return storage;
}

/** True when nothing was ever persisted: the node must bootstrap or join. */
export function isEmpty(state: PersistedState): boolean {
  return state.snapshot === undefined && state.entries.length === 0 && state.hardState.term === 0;
}
