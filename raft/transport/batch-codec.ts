// The wire format of the Raft stream's MessageBatch (proto/orch/raft.proto), encoded from and decoded
// into the core's messages directly. Same bytes as the generated protobuf code, without its two
// intermediate object trees per message (core → plain object → protobufjs message → bytes, and
// back): at one batch per peer per Ready these were a third of a member's allocations (measured
// with sampled heap profiles of sequential puts), and every scavenge they cause stalls whatever
// put is in flight. Stream batches never carry a snapshot (snapshots travel in their own stream,
// through codec.ts); a snapshot field received here is skipped like any unknown field.
import { type Entry, type Message, MessageType } from '../types';
import { newMessage } from '../util';

/** A Message the core does not understand (unknown type), named by its sender for the log. */
export interface UndecodableMessage {
  from: string;
  type: number;
}

export interface DecodedBatch {
  messages: Message[];
  undecodable: UndecodableMessage[];
}

// Protobuf wire types and field tags (field number << 3 | wire type).
const VARINT = 0;
const LENGTH_DELIMITED = 2;
const tag = (field: number, wireType: number): number => (field << 3) | wireType;

const BATCH_MESSAGES = tag(1, LENGTH_DELIMITED);
const M_TYPE = tag(1, VARINT);
const M_FROM = tag(2, LENGTH_DELIMITED);
const M_TO = tag(3, LENGTH_DELIMITED);
const M_TERM = tag(4, VARINT);
const M_LOG_TERM = tag(5, VARINT);
const M_INDEX = tag(6, VARINT);
const M_ENTRIES = tag(7, LENGTH_DELIMITED);
const M_COMMIT = tag(8, VARINT);
const M_REJECT = tag(9, VARINT);
const M_REJECT_HINT = tag(10, VARINT);
const M_CONTEXT = tag(12, LENGTH_DELIMITED);
const M_REJECT_TERM = tag(13, VARINT);
const M_HAS_CONTEXT = tag(14, VARINT);
const E_TERM = tag(1, VARINT);
const E_INDEX = tag(2, VARINT);
const E_TYPE = tag(3, VARINT);
const E_DATA = tag(4, LENGTH_DELIMITED);

const MAX_MESSAGE_TYPE = MessageType.ReadIndexResponse;

function varintSize(value: number): number {
  let size = 1;
  while (value >= 128) {
    value = Math.floor(value / 128);
    size++;
  }
  return size;
}

/** Size of a varint field, 0 when the value is the proto3 default (not written). */
const uintFieldSize = (value: number): number => (value === 0 ? 0 : 1 + varintSize(value));
const bytesFieldSize = (length: number): number => 1 + varintSize(length) + length;

function entrySize(e: Entry): number {
  return (
    uintFieldSize(e.term) +
    uintFieldSize(e.index) +
    uintFieldSize(e.type) +
    (e.data.byteLength === 0 ? 0 : bytesFieldSize(e.data.byteLength))
  );
}

/** Encodes into one buffer; sizes are computed first (entry sizes kept in `sizes`, in order). */
class Writer {
  readonly buf: Buffer;
  pos = 0;

  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(size);
  }

  varint(value: number): void {
    const buf = this.buf;
    while (value >= 128) {
      buf[this.pos++] = (value % 128) | 128;
      value = Math.floor(value / 128);
    }
    buf[this.pos++] = value;
  }

  uintField(tagByte: number, value: number): void {
    if (value === 0) return;
    this.buf[this.pos++] = tagByte;
    this.varint(value);
  }

  bytesField(tagByte: number, data: Uint8Array): void {
    this.buf[this.pos++] = tagByte;
    this.varint(data.byteLength);
    this.buf.set(data, this.pos);
    this.pos += data.byteLength;
  }

  stringField(tagByte: number, value: string, byteLength: number): void {
    this.buf[this.pos++] = tagByte;
    this.varint(byteLength);
    this.pos += this.buf.write(value, this.pos, byteLength, 'utf8');
  }
}

/** Encodes the messages of one stream batch (none may carry a snapshot). */
export function encodeBatch(messages: readonly Message[]): Buffer {
  // Pass 1: sizes of every message and entry, in visiting order.
  const sizes: number[] = [];
  let total = 0;
  for (const m of messages) {
    const slot = sizes.length;
    sizes.push(0, Buffer.byteLength(m.from), Buffer.byteLength(m.to));
    let size =
      uintFieldSize(m.type) +
      bytesFieldSize(sizes[slot + 1]!) +
      bytesFieldSize(sizes[slot + 2]!) +
      uintFieldSize(m.term) +
      uintFieldSize(m.logTerm) +
      uintFieldSize(m.index) +
      uintFieldSize(m.commit) +
      (m.reject ? 2 : 0) +
      uintFieldSize(m.rejectHint);
    for (const e of m.entries) {
      const entry = entrySize(e);
      sizes.push(entry);
      size += 1 + varintSize(entry) + entry;
    }
    if (m.rejectTerm !== undefined) size += 1 + varintSize(m.rejectTerm);
    if (m.context !== undefined) size += bytesFieldSize(m.context.byteLength) + 2;
    sizes[slot] = size;
    total += 1 + varintSize(size) + size;
  }
  // Pass 2: write.
  const w = new Writer(total);
  let next = 0;
  for (const m of messages) {
    w.buf[w.pos++] = BATCH_MESSAGES;
    w.varint(sizes[next++]!);
    w.uintField(M_TYPE, m.type);
    w.stringField(M_FROM, m.from, sizes[next++]!);
    w.stringField(M_TO, m.to, sizes[next++]!);
    w.uintField(M_TERM, m.term);
    w.uintField(M_LOG_TERM, m.logTerm);
    w.uintField(M_INDEX, m.index);
    for (const e of m.entries) {
      w.buf[w.pos++] = M_ENTRIES;
      w.varint(sizes[next++]!);
      w.uintField(E_TERM, e.term);
      w.uintField(E_INDEX, e.index);
      w.uintField(E_TYPE, e.type);
      if (e.data.byteLength > 0) w.bytesField(E_DATA, e.data);
    }
    w.uintField(M_COMMIT, m.commit);
    if (m.reject) w.uintField(M_REJECT, 1);
    w.uintField(M_REJECT_HINT, m.rejectHint);
    if (m.context !== undefined) w.bytesField(M_CONTEXT, m.context);
    if (m.rejectTerm !== undefined) {
      w.buf[w.pos++] = M_REJECT_TERM;
      w.varint(m.rejectTerm);
    }
    if (m.context !== undefined) w.uintField(M_HAS_CONTEXT, 1);
  }
  if (w.pos !== total) throw new Error(`raft batch encoding wrote ${w.pos} of ${total} bytes`);
  return w.buf;
}

/** Thrown for bytes that are not a MessageBatch: grpc-js fails the stream, the peer reconnects. */
export class BatchDecodeError extends Error {
  override readonly name = 'BatchDecodeError';
}

class Reader {
  pos: number;

  constructor(
    readonly buf: Buffer,
    start: number,
    readonly end: number,
  ) {
    this.pos = start;
  }

  varint(): number {
    let value = 0;
    let scale = 1;
    for (;;) {
      if (this.pos >= this.end) throw new BatchDecodeError('truncated varint');
      const byte = this.buf[this.pos++]!;
      value += (byte & 127) * scale;
      if (byte < 128) return value;
      scale *= 128;
      if (scale > 2 ** 63) throw new BatchDecodeError('varint too long');
    }
  }

  /** Start of a length-delimited field's bytes; the reader moves past them. */
  delimited(): number {
    const length = this.varint();
    const start = this.pos;
    if (start + length > this.end) throw new BatchDecodeError('truncated field');
    this.pos = start + length;
    return start;
  }

  skip(wireType: number): void {
    if (wireType === VARINT) this.varint();
    else if (wireType === LENGTH_DELIMITED) this.delimited();
    else if (wireType === 1) this.pos += 8;
    else if (wireType === 5) this.pos += 4;
    else throw new BatchDecodeError(`unsupported wire type ${wireType}`);
    if (this.pos > this.end) throw new BatchDecodeError('truncated field');
  }
}

function decodeEntry(buf: Buffer, start: number, end: number): Entry {
  const r = new Reader(buf, start, end);
  const e: Entry = { term: 0, index: 0, type: 0, data: EMPTY };
  while (r.pos < end) {
    const t = r.varint();
    if (t === E_TERM) e.term = r.varint();
    else if (t === E_INDEX) e.index = r.varint();
    else if (t === E_TYPE) e.type = r.varint() === 1 ? 1 : 0;
    else if (t === E_DATA) e.data = buf.subarray(r.delimited(), r.pos);
    else r.skip(t & 7);
  }
  return e;
}

const EMPTY = new Uint8Array(0);

function decodeMessage(buf: Buffer, start: number, end: number): Message {
  const r = new Reader(buf, start, end);
  const m = newMessage(0 as MessageType, '', '', 0);
  let context: Uint8Array = EMPTY;
  let hasContext = false;
  while (r.pos < end) {
    const t = r.varint();
    switch (t) {
      case M_TYPE:
        m.type = r.varint();
        break;
      case M_FROM:
        m.from = buf.toString('utf8', r.delimited(), r.pos);
        break;
      case M_TO:
        m.to = buf.toString('utf8', r.delimited(), r.pos);
        break;
      case M_TERM:
        m.term = r.varint();
        break;
      case M_LOG_TERM:
        m.logTerm = r.varint();
        break;
      case M_INDEX:
        m.index = r.varint();
        break;
      case M_ENTRIES: {
        const entryStart = r.delimited();
        m.entries.push(decodeEntry(buf, entryStart, r.pos));
        break;
      }
      case M_COMMIT:
        m.commit = r.varint();
        break;
      case M_REJECT:
        m.reject = r.varint() !== 0;
        break;
      case M_REJECT_HINT:
        m.rejectHint = r.varint();
        break;
      case M_CONTEXT:
        context = buf.subarray(r.delimited(), r.pos);
        break;
      case M_REJECT_TERM:
        m.rejectTerm = r.varint();
        break;
      case M_HAS_CONTEXT:
        hasContext = r.varint() !== 0;
        break;
      default:
        r.skip(t & 7);
    }
  }
  if (hasContext) m.context = context;
  return m;
}

/** Decodes a stream batch; messages of a type the core does not know are set apart, not thrown. */
export function decodeBatch(buf: Buffer): DecodedBatch {
  const r = new Reader(buf, 0, buf.byteLength);
  const batch: DecodedBatch = { messages: [], undecodable: [] };
  while (r.pos < r.end) {
    const t = r.varint();
    if (t !== BATCH_MESSAGES) {
      r.skip(t & 7);
      continue;
    }
    const start = r.delimited();
    const m = decodeMessage(buf, start, r.pos);
    if (m.type < MessageType.Append || m.type > MAX_MESSAGE_TYPE || m.type === MessageType.Snapshot) {
      batch.undecodable.push({ from: m.from, type: m.type });
    } else {
      batch.messages.push(m);
    }
  }
  return batch;
}
