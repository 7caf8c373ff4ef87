// On-disk layout of the Raft log in LevelDB. Keys sort the way the log must iterate:
//   'e' + index (8 bytes, big-endian)  → entry: type (1 byte) + term (8 bytes, big-endian) + data
//   'h'                                → hard state (JSON)
//   'c'                                → compaction point: entries at or below it are gone (JSON)
//   'm'                                → snapshot metadata (JSON)
//   's'                                → snapshot data (raw bytes)
import type { ConfState, Entry, EntryType, HardState, SnapshotMeta } from '../types';

const ENTRY_PREFIX = 0x65; // 'e'
export const HARD_STATE_KEY = Buffer.from('h');
export const COMPACTED_KEY = Buffer.from('c');
export const SNAPSHOT_META_KEY = Buffer.from('m');
export const SNAPSHOT_DATA_KEY = Buffer.from('s');

function writeUint64(buf: Buffer, value: number, offset: number): void {
  buf.writeUInt32BE(Math.floor(value / 0x1_0000_0000), offset);
  buf.writeUInt32BE(value >>> 0, offset + 4);
}

function readUint64(buf: Uint8Array, offset: number): number {
  const view = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  return view.readUInt32BE(offset) * 0x1_0000_0000 + view.readUInt32BE(offset + 4);
}

export function entryKey(index: number): Buffer {
  const key = Buffer.allocUnsafe(9);
  key[0] = ENTRY_PREFIX;
  writeUint64(key, index, 1);
  return key;
}

export function indexOfEntryKey(key: Uint8Array): number {
  return readUint64(key, 1);
}

/** First and one-past-last keys of the entry range, for iterators and clear(). */
export const ENTRY_KEYS_START = entryKey(0);
export const ENTRY_KEYS_END = Buffer.from([ENTRY_PREFIX + 1]);

export function encodeEntry(e: Entry): Buffer {
  const value = Buffer.allocUnsafe(9 + e.data.byteLength);
  value[0] = e.type;
  writeUint64(value, e.term, 1);
  value.set(e.data, 9);
  return value;
}

export function decodeEntry(index: number, value: Uint8Array): Entry {
  return {
    index,
    type: value[0] as EntryType,
    term: readUint64(value, 1),
    data: value.subarray(9),
  };
}

export function encodeJson(value: HardState | SnapshotMeta | { index: number; term: number }): Buffer {
  return Buffer.from(JSON.stringify(value));
}

export function decodeHardState(value: Uint8Array): HardState {
  const parsed = JSON.parse(Buffer.from(value).toString()) as HardState;
  return { term: parsed.term, vote: parsed.vote, commit: parsed.commit };
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
