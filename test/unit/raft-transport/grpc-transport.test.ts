import * as grpc from '@grpc/grpc-js';
import { GrpcTransport } from '../../../raft/transport';
import { Backoff } from '../../../raft/transport/backoff';
import { messageFromWire, messageToWire } from '../../../raft/transport/codec';
import { EntryType, type Message, MessageType } from '../../../raft/types';
import { message } from './messages';

function waitFor(predicate: () => boolean, what: string, timeoutMs = 10000): Promise<void> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const poll = () => {
      if (predicate()) resolve();
      else if (Date.now() - started > timeoutMs) reject(new Error(`timed out waiting for ${what}`));
      else setTimeout(poll, 5);
    };
    poll();
  });
}

describe('raft wire codec', () => {
  it('round-trips every field of a message through the proto mapping', () => {
    const m = message({
      entries: [
        { index: 11, term: 3, type: EntryType.Normal, data: Buffer.from('x') },
        { index: 12, term: 3, type: EntryType.ConfChange, data: Buffer.from('cc') },
      ],
      reject: true,
      rejectHint: 7,
      rejectTerm: 0,
      context: Buffer.alloc(0),
    });
    const wire = messageToWire(m) as Record<string, unknown>;
    const back = messageFromWire({
      ...(wire as never as object),
      entries: m.entries.map((e) => ({
        ...e,
        type: e.type === EntryType.ConfChange ? 'ENTRY_CONF_CHANGE' : 'ENTRY_NORMAL',
        data: Buffer.from(e.data),
      })),
      context: Buffer.alloc(0),
      snapshot: null,
    } as never);
    expect(back).toEqual(m);
  });
});

describe('backoff', () => {
  it('doubles up to the maximum and starts over after reset', () => {
    const b = new Backoff({ initialMs: 100, maxMs: 1000, jitter: 0 });
    expect([b.nextDelayMs(), b.nextDelayMs(), b.nextDelayMs(), b.nextDelayMs(), b.nextDelayMs()]).toEqual([
      100, 200, 400, 800, 1000,
    ]);
    b.reset();
    expect(b.nextDelayMs()).toBe(100);
  });

  it('spreads delays within the jitter', () => {
    const low = new Backoff({ initialMs: 100, maxMs: 1000, jitter: 0.2 }, () => 0);
    const high = new Backoff({ initialMs: 100, maxMs: 1000, jitter: 0.2 }, () => 0.999999);
    expect(low.nextDelayMs()).toBe(80);
    expect(high.nextDelayMs()).toBe(120);
  });
});

describe('GrpcTransport', () => {
  const transports: GrpcTransport[] = [];

  async function node(
    id: string,
    received: Message[],
    extra: Partial<ConstructorParameters<typeof GrpcTransport>[0]> = {},
    listen = '127.0.0.1:0',
  ): Promise<GrpcTransport> {
    const t = new GrpcTransport({
      id,
      listen,
      onMessage: (m) => received.push(m),
      backoff: { initialMs: 20, maxMs: 200, jitter: 0.2 },
      ...extra,
    });
    transports.push(t);
    await t.start();
    return t;
  }

  afterEach(async () => {
    for (const t of transports.splice(0)) await t.close();
  });

  it('delivers messages in order and batches those sent in one turn', async () => {
    const atB: Message[] = [];
    const a = await node('a', []);
    const b = await node('b', atB);
    a.addPeer('b', b.address!);
    const sent = Array.from({ length: 500 }, (_, i) =>
      message({ index: i, context: Buffer.from([i % 256]) }),
    );
    a.send(sent);
    await waitFor(() => atB.length === 500, '500 messages');
    expect(atB.map((m) => m.index)).toEqual(sent.map((m) => m.index));
    expect(atB[3]).toEqual(sent[3]);
    const stats = a.peerStats('b')!;
    expect(stats.sentMessages).toBe(500);
    expect(stats.sentBatches).toBeLessThan(10);
  });

  it('drops messages for a peer it cannot reach and reports it unreachable', async () => {
    const unreachable: string[] = [];
    const a = await node('a', [], { onUnreachable: (id) => unreachable.push(id) });
    a.send([message({ to: 'nobody' })]);
    expect(unreachable).toEqual(['nobody']);
    a.addPeer('b', '127.0.0.1:1');
    await waitFor(() => {
      a.send([message({})]);
      return unreachable.includes('b');
    }, 'unreachable report');
  });

  it('reconnects to a peer that restarts on the same address', async () => {
    const first: Message[] = [];
    const a = await node('a', []);
    let b = await node('b', first);
    const address = b.address!;
    a.addPeer('b', address);
    a.send([message({ index: 1 })]);
    await waitFor(() => first.length === 1, 'first delivery');
    await b.close();
    const second: Message[] = [];
    b = await node('b', second, {}, address);
    await waitFor(() => {
      a.send([message({ index: 2 })]);
      return second.length > 0;
    }, 'delivery after restart');
    expect(second[0]!.index).toBe(2);
    expect(a.peerStats('b')!.reconnects).toBeGreaterThan(0);
  });

  it('reports a peer unreachable as soon as its stream ends, with nothing to send', async () => {
    const unreachable: string[] = [];
    const received: Message[] = [];
    const a = await node('a', [], { onUnreachable: (id) => unreachable.push(id) });
    const b = await node('b', received);
    a.addPeer('b', b.address!);
    a.send([message({ index: 1 })]);
    await waitFor(() => received.length === 1, 'first delivery');
    expect(unreachable).toEqual([]);
    // b goes away (as a killed process would): a learns it from the stream, not from a drop.
    await b.close();
    await waitFor(() => unreachable.includes('b'), 'unreachable report on stream end');
  });

  it('bounds the queue of a peer and drops the overflow', async () => {
    const unreachable: string[] = [];
    const a = await node('a', [], {
      maxQueuedMessagesPerPeer: 10,
      onUnreachable: (id) => unreachable.push(id),
    });
    const b = await node('b', []);
    a.addPeer('b', b.address!);
    a.send(Array.from({ length: 25 }, (_, i) => message({ index: i })));
    expect(a.peerStats('b')!.droppedMessages).toBe(15);
    expect(unreachable.length).toBe(15);
  });

  it('sends a snapshot in chunks on its own stream and reports success', async () => {
    const atB: Message[] = [];
    const statuses: string[] = [];
    const a = await node('a', [], {
      snapshotChunkBytes: 64 * 1024,
      onSnapshotStatus: (id, s) => statuses.push(`${id}:${s}`),
    });
    const b = await node('b', atB);
    a.addPeer('b', b.address!);
    const data = Buffer.alloc(1_000_003);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7) % 251;
    const snap = message({
      type: MessageType.Snapshot,
      snapshot: { meta: { index: 500, term: 4, confState: { voters: ['a', 'b'], learners: [] } }, data },
    });
    a.send([snap, message({ type: MessageType.Heartbeat, index: 0 })]);
    await waitFor(() => statuses.length === 1 && atB.length === 2, 'snapshot and heartbeat');
    expect(statuses).toEqual(['b:finish']);
    const received = atB.find((m) => m.type === MessageType.Snapshot)!;
    expect(received.snapshot!.meta).toEqual(snap.snapshot!.meta);
    expect(Buffer.compare(Buffer.from(received.snapshot!.data), data)).toBe(0);
  });

  it('reports a snapshot to an unreachable peer as failed', async () => {
    const statuses: string[] = [];
    const a = await node('a', [], { onSnapshotStatus: (id, s) => statuses.push(`${id}:${s}`) });
    a.addPeer('b', '127.0.0.1:1');
    a.send([
      message({
        type: MessageType.Snapshot,
        snapshot: {
          meta: { index: 1, term: 1, confState: { voters: ['a'], learners: [] } },
          data: Buffer.from('s'),
        },
      }),
    ]);
    await waitFor(() => statuses.length === 1, 'snapshot failure');
    expect(statuses).toEqual(['b:failure']);
  });

  it('drops messages addressed to another member', async () => {
    const atB: Message[] = [];
    const a = await node('a', []);
    const b = await node('b', atB);
    a.addPeer('b', b.address!);
    a.addPeer('c', b.address!);
    a.send([message({ to: 'c', index: 1 }), message({ to: 'b', index: 2 })]);
    await waitFor(() => atB.length === 1, 'delivery');
    await new Promise((r) => setTimeout(r, 50));
    expect(atB.map((m) => m.index)).toEqual([2]);
  });

  it('stops talking to a removed peer', async () => {
    const atB: Message[] = [];
    const unreachable: string[] = [];
    const a = await node('a', [], { onUnreachable: (id) => unreachable.push(id) });
    const b = await node('b', atB);
    a.addPeer('b', b.address!);
    a.removePeer('b');
    expect(a.hasPeer('b')).toBe(false);
    a.send([message({})]);
    expect(unreachable).toEqual(['b']);
  });

  describe('on a shared server', () => {
    let shared: grpc.Server | undefined;

    afterEach(() => {
      shared?.forceShutdown();
      shared = undefined;
    });

    async function bindShared(): Promise<string> {
      const server = new grpc.Server();
      shared = server;
      const port = await new Promise<number>((resolve, reject) =>
        server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
          err ? reject(err) : resolve(p),
        ),
      );
      return `127.0.0.1:${port}`;
    }

    it('serves raft on the given server without binding a port of its own', async () => {
      const address = await bindShared();
      const atA: Message[] = [];
      const atB: Message[] = [];
      const a = await node('a', atA);
      const b = await node('b', atB, { listen: undefined, server: shared, advertiseAddress: address });
      expect(b.address).toBe(address);
      a.addPeer('b', address);
      a.send([message({ index: 1 })]);
      await waitFor(() => atB.length === 1, 'delivery to the shared server');
      // b learned a's address from the stream and answers it there.
      await waitFor(() => b.hasPeer('a'), 'b learns a');
      b.send([message({ from: 'b', to: 'a', index: 2 })]);
      await waitFor(() => atA.length === 1, 'delivery from the shared server');
    });

    it('leaves the server up on close, and a new transport can take the service over', async () => {
      const address = await bindShared();
      const a = await node('a', []);
      const first: Message[] = [];
      const b = await node('b', first, { listen: undefined, server: shared, advertiseAddress: address });
      a.addPeer('b', address);
      a.send([message({ index: 1 })]);
      await waitFor(() => first.length === 1, 'first delivery');
      await b.close();
      // a's stream was ended by b's close: it reconnects to the server, which still listens.
      const second: Message[] = [];
      await node('b', second, { listen: undefined, server: shared, advertiseAddress: address });
      await waitFor(() => {
        a.send([message({ index: 2 })]);
        return second.length > 0;
      }, 'delivery to the new transport');
      expect(first).toHaveLength(1);
      expect(a.peerStats('b')!.reconnects).toBeGreaterThan(0);
    });

    it('requires an advertised address', () => {
      expect(() => new GrpcTransport({ id: 'b', server: new grpc.Server(), onMessage: () => {} })).toThrow(
        /advertiseAddress is required/,
      );
    });
  });
});
