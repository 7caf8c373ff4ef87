// LevelDB keys of what the storage keeps beside the write-ahead log (raft-storage.ts):
//   'c'  compaction point: entries at or below it are gone (JSON {index, term})
//   'm'  snapshot metadata (JSON)
//   's'  snapshot data (raw bytes)
// Entries and hard state live in the log (wal-record.ts); legacy-log.ts reads the older layout
// that kept them in LevelDB too.
import type { ConfState, HardState, SnapshotMeta } from '../types';

export const COMPACTED_KEY = Buffer.from('c');
export const SNAPSHOT_META_KEY = Buffer.from('m');
export const SNAPSHOT_DATA_KEY = Buffer.from('s');

export function encodeJson(value: HardState | SnapshotMeta | { index: number; term: number }): Buffer {
  return Buffer.from(JSON.stringify(value));
}

export function decodeSnapshotMeta(value: Uint8Array): SnapshotMeta {
  const parsed = JSON.parse(Buffer.from(value).toString()) as SnapshotMeta;
  const confState: ConfState = {
    voters: [...parsed.confState.voters],
    learners: [...parsed.confState.learners],
  };
  return { index: parsed.index, term: parsed.term, confState };
}

export function decodeCompacted(value: Uint8Array): { index: number; term: number } {
  const parsed = JSON.parse(Buffer.from(value).toString()) as { index: number; term: number };
  return { index: parsed.index, term: parsed.term };
}
