// The record format of the write-ahead log (wal.ts). Every record is self-checking, so recovery can
// tell a record that reached the disk whole from one a crash cut short:
//
//   u32 LE  length of the body (type byte + payload)
//   u32 LE  CRC-32 of the body
//   u8      record type
//   ...     payload
//
// Payloads (integers are u64 big-endian, exact up to 2^53):
//   ENTRY          entry type (u8), index, term, data
//   HARD_STATE     term, commit, vote (UTF-8)
//   SNAPSHOT_MARK  index, term: the log before it was replaced by a snapshot received at `index`
//
// Encoding builds one buffer per batch of records (one write() per Ready); decoding never throws on
// damaged input, it reports where the valid prefix ends.
import { crc32 } from 'node:zlib';
import type { Entry, EntryType, HardState } from '../types';

export enum WalRecordType {
  Entry = 1,
  HardState = 2,
  SnapshotMark = 3,
}

export type WalRecord =
  | { type: WalRecordType.Entry; entry: Entry }
  | { type: WalRecordType.HardState; hardState: HardState }
  | { type: WalRecordType.SnapshotMark; index: number; term: number };

/** Bytes before the record type: length and CRC. */
export const RECORD_HEADER_BYTES = 8;
/** A body larger than this is taken as garbage (a torn length), not as a record to read. */
export const MAX_RECORD_BODY_BYTES = 512 * 1024 * 1024;

function writeUint64(buf: Buffer, value: number, offset: number): number {
  buf.writeUInt32BE(Math.floor(value / 0x1_0000_0000), offset);
  buf.writeUInt32BE(value >>> 0, offset + 4);
  return offset + 8;
}

function readUint64(buf: Buffer, offset: number): number {
  return buf.readUInt32BE(offset) * 0x1_0000_0000 + buf.readUInt32BE(offset + 4);
}

function bodyBytes(record: WalRecord): number {
  switch (record.type) {
    case WalRecordType.Entry:
      return 1 + 1 + 16 + record.entry.data.byteLength;
    case WalRecordType.HardState:
      return 1 + 16 + Buffer.byteLength(record.hardState.vote);
    case WalRecordType.SnapshotMark:
      return 1 + 16;
  }
}

/** Encodes records back to back into one buffer. */
export function encodeRecords(records: readonly WalRecord[]): Buffer {
  let total = 0;
  for (const r of records) total += RECORD_HEADER_BYTES + bodyBytes(r);
  const buf = Buffer.allocUnsafe(total);
  let offset = 0;
  for (const r of records) {
    const body = bodyBytes(r);
    const start = offset + RECORD_HEADER_BYTES;
    buf.writeUInt32LE(body, offset);
    buf[start] = r.type;
    let at = start + 1;
    switch (r.type) {
      case WalRecordType.Entry:
        buf[at++] = r.entry.type;
        at = writeUint64(buf, r.entry.index, at);
        at = writeUint64(buf, r.entry.term, at);
        buf.set(r.entry.data, at);
        break;
      case WalRecordType.HardState:
        at = writeUint64(buf, r.hardState.term, at);
        at = writeUint64(buf, r.hardState.commit, at);
        buf.write(r.hardState.vote, at, 'utf8');
        break;
      case WalRecordType.SnapshotMark:
        at = writeUint64(buf, r.index, at);
        writeUint64(buf, r.term, at);
        break;
    }
    buf.writeUInt32LE(crc32(buf.subarray(start, start + body)), offset + 4);
    offset = start + body;
  }
  return buf;
}

export interface DecodedRecords {
  records: WalRecord[];
  /** Length of the valid prefix: every byte from here on is a torn or damaged record (or zeros). */
  validBytes: number;
}

/**
 * Decodes the records of one segment, stopping at the first that is incomplete, fails its CRC or
 * makes no sense. Entry data is copied out, so the segment's buffer can be released.
 */
export function decodeRecords(buf: Buffer): DecodedRecords {
  const records: WalRecord[] = [];
  let offset = 0;
  while (offset + RECORD_HEADER_BYTES < buf.length) {
    const body = buf.readUInt32LE(offset);
    const start = offset + RECORD_HEADER_BYTES;
    if (body === 0 || body > MAX_RECORD_BODY_BYTES || start + body > buf.length) break;
    const bytes = buf.subarray(start, start + body);
    if (crc32(bytes) !== buf.readUInt32LE(offset + 4)) break;
    const record = decodeBody(bytes);
    if (record === undefined) break;
    records.push(record);
    offset = start + body;
  }
  return { records, validBytes: offset };
}

function decodeBody(body: Buffer): WalRecord | undefined {
  switch (body[0]) {
    case WalRecordType.Entry:
      if (body.length < 18) return undefined;
      return {
        type: WalRecordType.Entry,
        entry: {
          type: body[1] as EntryType,
          index: readUint64(body, 2),
          term: readUint64(body, 10),
          data: Uint8Array.prototype.slice.call(body, 18),
        },
      };
    case WalRecordType.HardState:
      if (body.length < 17) return undefined;
      return {
        type: WalRecordType.HardState,
        hardState: {
          term: readUint64(body, 1),
          commit: readUint64(body, 9),
          vote: body.toString('utf8', 17),
        },
      };
    case WalRecordType.SnapshotMark:
      if (body.length !== 17) return undefined;
      return { type: WalRecordType.SnapshotMark, index: readUint64(body, 1), term: readUint64(body, 9) };
    default:
      return undefined;
  }
}
