// Member addresses travel with Raft itself: a conf change's context carries the new member's
// address (and optional application metadata), and every snapshot the runtime takes wraps the
// application's data in an envelope that lists the members. Restarting or joining members thus
// learn every peer's address from the log and snapshots alone.
import type { NodeId } from '../types';

export interface MemberInfo {
  /** The member's Raft transport address, host:port. */
  address: string;
  /** Application metadata (e.g. the member's client-facing URL). */
  meta?: Record<string, string>;
}

export function encodeMemberContext(info: MemberInfo): Uint8Array {
  return Buffer.from(JSON.stringify(info));
}

export function decodeMemberContext(context: Uint8Array | undefined): MemberInfo | undefined {
  if (context === undefined || context.byteLength === 0) return undefined;
  const parsed = JSON.parse(Buffer.from(context).toString()) as MemberInfo;
  if (typeof parsed.address !== 'string') return undefined;
  return parsed.meta ? { address: parsed.address, meta: { ...parsed.meta } } : { address: parsed.address };
}

const ENVELOPE_MAGIC = 0x6f726331; // 'orc1'

/** Snapshot data = magic (4 bytes) + members JSON length (4 bytes) + members JSON + application data. */
export function encodeSnapshotEnvelope(
  members: ReadonlyMap<NodeId, MemberInfo>,
  app: Uint8Array,
): Uint8Array {
  const json = Buffer.from(JSON.stringify(Object.fromEntries(members)));
  const out = Buffer.allocUnsafe(8 + json.byteLength + app.byteLength);
  out.writeUInt32BE(ENVELOPE_MAGIC, 0);
  out.writeUInt32BE(json.byteLength, 4);
  json.copy(out, 8);
  out.set(app, 8 + json.byteLength);
  return out;
}

/** Splits snapshot data; data not made by the runtime (e.g. a bootstrap snapshot) has no members. */
export function decodeSnapshotEnvelope(data: Uint8Array): {
  members: Map<NodeId, MemberInfo> | undefined;
  app: Uint8Array;
} {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (buf.byteLength < 8 || buf.readUInt32BE(0) !== ENVELOPE_MAGIC) return { members: undefined, app: data };
  const length = buf.readUInt32BE(4);
  const members = JSON.parse(buf.subarray(8, 8 + length).toString()) as Record<NodeId, MemberInfo>;
  return { members: new Map(Object.entries(members)), app: buf.subarray(8 + length) };
}
