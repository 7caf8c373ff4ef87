import { decodeBatch, encodeBatch } from '../../../raft/transport/batch-codec';
import { messageFromWire, messageToWire } from '../../../raft/transport/codec';
import { EntryType, type Message, MessageType } from '../../../raft/types';
import { protos } from '../../../src/api/grpc';
import { message as base } from './messages';

function message(overrides: Partial<Message>): Message {
  return base({ from: 'm1', to: 'm2', ...overrides });
}

const samples: Message[] = [
  message({
    entries: [
      { term: 3, index: 11, type: EntryType.Normal, data: Buffer.from('{"op":"put"}') },
      { term: 3, index: 12, type: EntryType.ConfChange, data: Buffer.from([1, 2, 3]) },
      { term: 3, index: 13, type: EntryType.Normal, data: new Uint8Array(0) },
    ],
  }),
  message({ type: MessageType.AppendResponse, from: 'm2', to: 'm1', index: 13, commit: 0, logTerm: 0 }),
  message({ type: MessageType.AppendResponse, reject: true, rejectHint: 7, rejectTerm: 0 }),
  message({ type: MessageType.AppendResponse, reject: true, rejectHint: 7, rejectTerm: 2 }),
  message({ type: MessageType.Heartbeat, context: Buffer.from('read-1'), commit: 2 ** 40 + 3 }),
  message({ type: MessageType.HeartbeatResponse, context: new Uint8Array(0) }),
  message({
    type: MessageType.Vote,
    from: 'ñode-é',
    to: '節点',
    term: 2 ** 53 - 1,
    index: 300,
    logTerm: 127,
  }),
  message({ type: MessageType.TimeoutNow, term: 0, logTerm: 0, index: 0, commit: 0 }),
];

const generated = () => protos().orch.raft.Raft.service.Stream!;
const plain = (m: Message) =>
  JSON.parse(
    JSON.stringify({
      ...m,
      entries: m.entries.map((e) => ({ ...e, data: [...e.data] })),
      context: m.context && [...m.context],
    }),
  );

describe('raft stream batch codec', () => {
  it('round-trips every field of the core messages', () => {
    const decoded = decodeBatch(encodeBatch(samples));
    expect(decoded.undecodable).toEqual([]);
    expect(decoded.messages.map(plain)).toEqual(samples.map(plain));
  });

  it('writes what the generated protobuf code reads', () => {
    const bytes = encodeBatch(samples);
    const wire = generated().requestDeserialize(bytes) as {
      messages: Parameters<typeof messageFromWire>[0][];
    };
    expect(wire.messages.map((w) => plain(messageFromWire(w)))).toEqual(samples.map(plain));
  });

  it('reads what the generated protobuf code writes', () => {
    const bytes = generated().requestSerialize({ messages: samples.map(messageToWire) });
    expect(decodeBatch(bytes).messages.map(plain)).toEqual(samples.map(plain));
  });

  it('sets apart messages of an unknown type or a snapshot, and rejects truncated bytes', () => {
    const bytes = generated().requestSerialize({
      messages: [
        { ...messageToWire(samples[1]!), type: 'MSG_PROPOSE' },
        { ...messageToWire(samples[1]!), type: 'MSG_SNAPSHOT' },
        messageToWire(samples[0]!),
      ],
    });
    const decoded = decodeBatch(bytes);
    expect(decoded.undecodable).toEqual([
      { from: 'm2', type: 13 },
      { from: 'm2', type: MessageType.Snapshot },
    ]);
    expect(decoded.messages.map(plain)).toEqual([plain(samples[0]!)]);
    expect(() => decodeBatch(bytes.subarray(0, bytes.length - 3))).toThrow(/truncated/);
  });
});
