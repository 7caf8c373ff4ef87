// Maps the Raft core's in-memory messages (raft/types.ts) to the wire messages of
// proto/orch/raft.proto and back. The proto is the only wire definition; this module owns
// nothing else and never touches a socket.
import type {
  Entry as WireEntry,
  Entry__Output as WireEntryOutput,
} from '../../src/api/gen/types/orch/raft/Entry';
import type {
  Message as WireMessage,
  Message__Output as WireMessageOutput,
} from '../../src/api/gen/types/orch/raft/Message';
import type { MessageType__Output as WireMessageType } from '../../src/api/gen/types/orch/raft/MessageType';
import type { SnapshotMetadata__Output as WireSnapshotMetaOutput } from '../../src/api/gen/types/orch/raft/SnapshotMetadata';
import { type Entry, EntryType, type Message, MessageType, type SnapshotMeta } from '../types';

const toWireType: Record<MessageType, WireMessageType> = {
  [MessageType.Append]: 'MSG_APPEND',
  [MessageType.AppendResponse]: 'MSG_APPEND_RESPONSE',
  [MessageType.Vote]: 'MSG_VOTE',
  [MessageType.VoteResponse]: 'MSG_VOTE_RESPONSE',
  [MessageType.PreVote]: 'MSG_PRE_VOTE',
  [MessageType.PreVoteResponse]: 'MSG_PRE_VOTE_RESPONSE',
  [MessageType.Heartbeat]: 'MSG_HEARTBEAT',
  [MessageType.HeartbeatResponse]: 'MSG_HEARTBEAT_RESPONSE',
  [MessageType.Snapshot]: 'MSG_SNAPSHOT',
  [MessageType.TimeoutNow]: 'MSG_TIMEOUT_NOW',
  [MessageType.ReadIndex]: 'MSG_READ_INDEX',
  [MessageType.ReadIndexResponse]: 'MSG_READ_INDEX_RESPONSE',
};

const fromWireType = new Map<string, MessageType>(
  Object.entries(toWireType).map(([core, wire]) => [wire, Number(core) as MessageType]),
);

/** A wire message the core does not understand (unknown type): the receiver drops it. */
export class WireDecodeError extends Error {
  override readonly name = 'WireDecodeError';
}

function entryToWire(e: Entry): WireEntry {
  return {
    term: e.term,
    index: e.index,
    type: e.type === EntryType.ConfChange ? 'ENTRY_CONF_CHANGE' : 'ENTRY_NORMAL',
    data: e.data,
  };
}

function entryFromWire(e: WireEntryOutput): Entry {
  return {
    term: e.term,
    index: e.index,
    type: e.type === 'ENTRY_CONF_CHANGE' ? EntryType.ConfChange : EntryType.Normal,
    data: e.data,
  };
}

/** Encodes a core message. A snapshot's data is not part of it: it travels in SnapshotChunks. */
export function messageToWire(m: Message): WireMessage {
  const wire: WireMessage = {
    type: toWireType[m.type],
    from: m.from,
    to: m.to,
    term: m.term,
    logTerm: m.logTerm,
    index: m.index,
    entries: m.entries.map(entryToWire),
    commit: m.commit,
    reject: m.reject,
    rejectHint: m.rejectHint,
  };
  if (m.rejectTerm !== undefined) wire.rejectTerm = m.rejectTerm;
  if (m.context !== undefined) {
    wire.context = m.context;
    wire.hasContext = true;
  }
  if (m.snapshot !== undefined) {
    const { index, term, confState } = m.snapshot.meta;
    wire.snapshot = { index, term, confState: { voters: confState.voters, learners: confState.learners } };
  }
  return wire;
}

export function snapshotMetaFromWire(s: WireSnapshotMetaOutput): SnapshotMeta {
  return {
    index: s.index,
    term: s.term,
    confState: { voters: [...(s.confState?.voters ?? [])], learners: [...(s.confState?.learners ?? [])] },
  };
}

/**
 * Decodes a wire message. For MSG_SNAPSHOT the caller passes the reassembled data; without it
 * a snapshot message is rejected (it may only arrive on the snapshot stream).
 */
export function messageFromWire(w: WireMessageOutput, snapshotData?: Uint8Array): Message {
  const type = fromWireType.get(w.type);
  if (type === undefined) throw new WireDecodeError(`unknown raft message type ${String(w.type)}`);
  const m: Message = {
    type,
    from: w.from,
    to: w.to,
    term: w.term,
    logTerm: w.logTerm,
    index: w.index,
    entries: w.entries.map(entryFromWire),
    commit: w.commit,
    reject: w.reject,
    rejectHint: w.rejectHint,
  };
  if (w.rejectTerm !== undefined && w.rejectTerm !== null) m.rejectTerm = w.rejectTerm;
  if (w.hasContext) m.context = w.context;
  if (type === MessageType.Snapshot) {
    if (w.snapshot === null || snapshotData === undefined) {
      throw new WireDecodeError('snapshot message without its metadata or data');
    }
    m.snapshot = { meta: snapshotMetaFromWire(w.snapshot), data: snapshotData };
  }
  return m;
}

/** Rough wire size of a message, for batching and queue limits (entries dominate). */
export function approximateSize(m: Message): number {
  let bytes = 64 + (m.context?.byteLength ?? 0);
  for (const e of m.entries) bytes += 24 + e.data.byteLength;
  return bytes;
}
