// The layout before the write-ahead log: entries and hard state kept in LevelDB next to the
// snapshot, under these keys:
//   'e' + index (8 bytes, big-endian)  → entry: type (1 byte) + term (8 bytes, big-endian) + data
//   'h'                                → hard state (JSON)
// A data directory written that way is moved once into a new log (migrateLegacyLog), built in a
// staging directory and renamed into place, so a crash during the move leaves the old layout whole;
// only then are the old keys removed (clearLegacyLog). Nothing else reads or writes these keys.
import type { Level } from 'level';
import type { Entry, EntryType, HardState } from '../types';
import { COMPACTED_KEY, decodeCompacted } from './encoding';
import { Wal, type WalOptions } from './wal';
import { type WalRecord, WalRecordType } from './wal-record';

const ENTRY_PREFIX = 0x65; // 'e'
const HARD_STATE_KEY = Buffer.from('h');
const ENTRY_KEYS_END = Buffer.from([ENTRY_PREFIX + 1]);

function writeUint64(buf: Buffer, value: number, offset: number): void {
  buf.writeUInt32BE(Math.floor(value / 0x1_0000_0000), offset);
  buf.writeUInt32BE(value >>> 0, offset + 4);
}

function readUint64(buf: Uint8Array, offset: number): number {
  const view = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  return view.readUInt32BE(offset) * 0x1_0000_0000 + view.readUInt32BE(offset + 4);
}

/** The legacy key of entry `index`. */
export function legacyEntryKey(index: number): Buffer {
  const key = Buffer.allocUnsafe(9);
  key[0] = ENTRY_PREFIX;
  writeUint64(key, index, 1);
  return key;
}

/** The legacy value of an entry (used by tests that build an old data directory). */
export function encodeLegacyEntry(e: Entry): Buffer {
  const value = Buffer.allocUnsafe(9 + e.data.byteLength);
  value[0] = e.type;
  writeUint64(value, e.term, 1);
  value.set(e.data, 9);
  return value;
}

export const LEGACY_HARD_STATE_KEY = HARD_STATE_KEY;

function decodeLegacyEntry(index: number, value: Uint8Array): Entry {
  return {
    index,
    type: value[0] as EntryType,
    term: readUint64(value, 1),
    data: Uint8Array.prototype.slice.call(value, 9),
  };
}

/**
 * Writes the entries (after the compaction point) and hard state found under the legacy keys into a
 * new, synced log in `staging`. Returns false, writing nothing, when there are none.
 */
export async function migrateLegacyLog(
  db: Level<Buffer, Buffer>,
  staging: string,
  options: WalOptions,
): Promise<boolean> {
  const [hardRaw, compactedRaw] = (await db.getMany([HARD_STATE_KEY, COMPACTED_KEY])) as (
    | Buffer
    | undefined
  )[];
  const compacted = compactedRaw ? decodeCompacted(compactedRaw) : { index: 0, term: 0 };
  const records: WalRecord[] = [];
  for await (const [key, value] of db.iterator({ gt: legacyEntryKey(compacted.index), lt: ENTRY_KEYS_END })) {
    records.push({ type: WalRecordType.Entry, entry: decodeLegacyEntry(readUint64(key, 1), value) });
  }
  if (hardRaw) {
    const parsed = JSON.parse(hardRaw.toString()) as HardState;
    records.push({
      type: WalRecordType.HardState,
      hardState: { term: parsed.term, vote: parsed.vote, commit: parsed.commit },
    });
  }
  if (records.length === 0) return false;
  const { wal } = Wal.open(staging, options);
  try {
    wal.append(records);
    await wal.sync('inline');
  } finally {
    await wal.close();
  }
  return true;
}

/** Removes the legacy keys once the log that replaces them is in place. */
export async function clearLegacyLog(db: Level<Buffer, Buffer>): Promise<void> {
  await db.clear({ gte: legacyEntryKey(0), lt: ENTRY_KEYS_END });
  await db.del(HARD_STATE_KEY);
}
