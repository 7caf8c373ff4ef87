// Small helpers shared by the core's modules: entry sizes for batching limits and a message builder so
// every Message the core emits has all of its fields set.
import type { ConfState, Entry, Message, MessageType, NodeId } from './types';

/** Bytes an entry counts for in size limits: its payload plus a fixed overhead for index, term and type. */
export function entrySize(e: Entry): number {
  return e.data.byteLength + 24;
}

/**
 * The longest prefix of `entries` whose total size stays within maxBytes, but never fewer than one entry
 * (a single oversized entry must still be able to move).
 */
export function limitSize(entries: Entry[], maxBytes: number | undefined): Entry[] {
  if (maxBytes === undefined || entries.length === 0) return entries;
  let size = entrySize(entries[0]!);
  let n = 1;
  for (; n < entries.length; n++) {
    size += entrySize(entries[n]!);
    if (size > maxBytes) break;
  }
  return n === entries.length ? entries : entries.slice(0, n);
}

/** Sum of payload bytes, the measure for the uncommitted-size limit (empty entries are free). */
export function payloadSize(entries: readonly Entry[]): number {
  let size = 0;
  for (const e of entries) size += e.data.byteLength;
  return size;
}

export function newMessage(
  type: MessageType,
  from: NodeId,
  to: NodeId,
  term: number,
  fields: Partial<Message> = {},
): Message {
  return {
    type,
    from,
    to,
    term,
    logTerm: 0,
    index: 0,
    entries: [],
    commit: 0,
    reject: false,
    rejectHint: 0,
    ...fields,
  };
}

export function copyConfState(cs: ConfState): ConfState {
  return { voters: [...cs.voters], learners: [...cs.learners] };
}

export function bytesEqual(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined || a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}
