// Membership changes, one server at a time: how a ConfChange turns one configuration into the next, and
// the binary encoding of a ConfChange inside a log entry's data.
//
// Only single-server changes exist (no joint consensus): any two majorities of configurations that differ
// by one voter overlap, which is what keeps one-at-a-time changes safe as long as a leader never has two
// unapplied changes in its log (see Raft.proposeConfChange and Raft.hup).
import { InvalidConfChangeError } from './errors';
import { type ConfChange, ConfChangeType, type ConfState } from './types';

/** The configuration after `cc`; throws InvalidConfChangeError when the change is not allowed. */
export function nextConfState(current: ConfState, cc: ConfChange): ConfState {
  if (cc.nodeId === '') throw new InvalidConfChangeError('conf change without a node id');
  const voters = new Set(current.voters);
  const learners = new Set(current.learners);
  switch (cc.type) {
    case ConfChangeType.AddVoter:
      // Adding an existing voter is a no-op; adding a learner as voter promotes it.
      learners.delete(cc.nodeId);
      voters.add(cc.nodeId);
      break;
    case ConfChangeType.AddLearner:
      // Adding an existing voter as a learner demotes it.
      voters.delete(cc.nodeId);
      learners.add(cc.nodeId);
      break;
    case ConfChangeType.RemoveNode:
      voters.delete(cc.nodeId);
      learners.delete(cc.nodeId);
      break;
    default:
      throw new InvalidConfChangeError(`unknown conf change type ${String(cc.type)}`);
  }
  if (voters.size === 0) {
    throw new InvalidConfChangeError(
      `conf change would leave no voters (${ConfChangeType[cc.type]} ${cc.nodeId})`,
    );
  }
  return { voters: [...voters].sort(), learners: [...learners].sort() };
}

const FORMAT_VERSION = 1;
const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder('utf-8', { fatal: true });

/**
 * Encodes a ConfChange for an entry's data: version byte, type byte, varint-prefixed UTF-8 node id,
 * then a presence byte and a varint-prefixed context.
 */
export function encodeConfChange(cc: ConfChange): Uint8Array {
  const id = textEncoder.encode(cc.nodeId);
  const out: number[] = [FORMAT_VERSION, cc.type];
  writeVarint(out, id.byteLength);
  for (const b of id) out.push(b);
  if (cc.context === undefined) {
    out.push(0);
  } else {
    out.push(1);
    writeVarint(out, cc.context.byteLength);
    for (const b of cc.context) out.push(b);
  }
  return Uint8Array.from(out);
}

/** Decodes encodeConfChange's output; throws InvalidConfChangeError on malformed data. */
export function decodeConfChange(data: Uint8Array): ConfChange {
  const reader = { data, pos: 0 };
  const version = readByte(reader);
  if (version !== FORMAT_VERSION) throw new InvalidConfChangeError(`unknown conf change encoding ${version}`);
  const type = readByte(reader);
  if (!(type in ConfChangeType)) throw new InvalidConfChangeError(`unknown conf change type ${type}`);
  const idLength = readVarint(reader);
  const nodeId = textDecoder.decode(readBytes(reader, idLength));
  const cc: ConfChange = { type: type as ConfChangeType, nodeId };
  if (readByte(reader) === 1) cc.context = readBytes(reader, readVarint(reader)).slice();
  if (reader.pos !== data.byteLength) throw new InvalidConfChangeError('trailing bytes after conf change');
  return cc;
}

function writeVarint(out: number[], value: number): void {
  let v = value;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
}

interface Reader {
  data: Uint8Array;
  pos: number;
}

function readByte(r: Reader): number {
  if (r.pos >= r.data.byteLength) throw new InvalidConfChangeError('truncated conf change');
  return r.data[r.pos++]!;
}

function readVarint(r: Reader): number {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 8; i++) {
    const b = readByte(r);
    value += (b & 0x7f) * scale;
    if (b < 0x80) return value;
    scale *= 0x80;
  }
  throw new InvalidConfChangeError('varint too long in conf change');
}

function readBytes(r: Reader, n: number): Uint8Array {
  if (r.pos + n > r.data.byteLength) throw new InvalidConfChangeError('truncated conf change');
  const bytes = r.data.subarray(r.pos, r.pos + n);
  r.pos += n;
  return bytes;
}
