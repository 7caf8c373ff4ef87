import type * as grpc from '@grpc/grpc-js';
import type { EndpointsMessage__Output } from '../../../src/api/gen/types/orch/dispatcher/EndpointsMessage';
import { type DispatcherClient, endpointsMessages } from '../../../src/manager/dispatcher';
import type { ServiceEndpoints } from '../../../src/mesh';
import type { MemoryStore } from '../../../src/store';
import {
  clientAs,
  eventually,
  newTestStore,
  openSession,
  startTestDispatcher,
  type TestDispatcher,
} from './dispatcher-harness';

interface EndpointsStream {
  messages: EndpointsMessage__Output[];
  ended: Promise<grpc.ServiceError | undefined>;
  call: grpc.ClientReadableStream<EndpointsMessage__Output>;
}

function followEndpoints(client: DispatcherClient, sessionId: string): EndpointsStream {
  const call = client.endpoints({ sessionId });
  const messages: EndpointsMessage__Output[] = [];
  call.on('data', (m: EndpointsMessage__Output) => messages.push(m));
  const ended = new Promise<grpc.ServiceError | undefined>((resolve) => {
    call.on('error', (err) => resolve(err as grpc.ServiceError));
    call.on('end', () => resolve(undefined));
  });
  return { messages, ended, call };
}

async function publishWeb(store: MemoryStore): Promise<void> {
  const ports = [{ publishedPort: 8080, targetPort: 80, publishMode: 'PUBLISH_MODE_INGRESS' as const }];
  await store.update((tx) => {
    tx.services.create({
      meta: { id: 'web' },
      spec: { name: 'web', endpoint: { ports } },
      endpoint: { ports },
    });
  });
}

async function runTask(store: MemoryStore, id: string, nodeId: string, hostPort: number): Promise<void> {
  await store.update((tx) =>
    tx.tasks.create({
      meta: { id },
      serviceId: 'web',
      nodeId,
      slot: 1,
      desiredState: 'TASK_STATE_RUNNING',
      status: {
        state: 'TASK_STATE_RUNNING',
        ports: [{ targetPort: 80, publishedPort: hostPort, publishMode: 'PUBLISH_MODE_HOST' }],
      },
    }),
  );
}

describe('dispatcher endpoints stream', () => {
  let d: TestDispatcher;
  let store: MemoryStore;
  const clients: DispatcherClient[] = [];

  beforeEach(async () => {
    store = newTestStore().store;
    d = await startTestDispatcher(store);
  });

  afterEach(() => {
    for (const c of clients.splice(0)) c.close();
    d.kill();
    store.close();
  });

  function client(nodeId: string): DispatcherClient {
    const c = clientAs(d.addr, nodeId);
    clients.push(c);
    return c;
  }

  it('sends the complete table, then each change, with backends at their node declared mesh address', async () => {
    await publishWeb(store);
    const worker = client('w1');
    const { sessionId } = await openSession(worker, '127.0.0.9:4242');
    const stream = followEndpoints(worker, sessionId);
    const first = await eventually(() => stream.messages[0], 'the complete table');
    expect(first).toMatchObject({ complete: true, more: false, removedServiceIds: [] });
    expect(first.services.map((s) => [s.serviceId, s.backends.length])).toEqual([['web', 0]]);

    // The worker's own task runs: it appears at the mesh address its session declared.
    await runTask(store, 't1', 'w1', 30080);
    const change = await eventually(() => stream.messages[1], 'the change');
    expect(change.complete).toBe(false);
    expect(change.services[0]!.backends).toEqual([
      expect.objectContaining({ taskId: 't1', nodeId: 'w1', address: '127.0.0.7', healthy: true }),
    ]);
    expect(change.services[0]!.backends[0]!.ports).toEqual([
      { protocol: 'PORT_PROTOCOL_TCP', targetPort: 80, port: 30080 },
    ]);

    await store.update((tx) => tx.services.delete('web'));
    const removal = await eventually(() => stream.messages[2], 'the removal');
    expect(removal.removedServiceIds).toEqual(['web']);
  });

  it('refuses a stream for a session that is not the caller', async () => {
    const { sessionId } = await openSession(client('w1'), '127.0.0.9:4242');
    const stream = followEndpoints(client('w2'), sessionId);
    const err = await stream.ended;
    expect(err?.details).toMatch(/session/i);
  });

  it('ends the stream when the node session ends, so the node follows its next session', async () => {
    const worker = client('w1');
    const session = await openSession(worker, '127.0.0.9:4242');
    const stream = followEndpoints(worker, session.sessionId);
    await eventually(() => stream.messages[0], 'the complete table');
    await eventually(() => d.dispatcher.stats().endpointStreams === 1, 'the stream registered');
    session.call.cancel();
    const err = await stream.ended;
    expect(err).toBeDefined();
    await eventually(() => d.dispatcher.stats().endpointStreams === 0, 'the stream forgotten');
  });

  it('splits a large set into messages, every one but the last marked "more"', () => {
    const entry = (id: string, backends: number): ServiceEndpoints => ({
      serviceId: id,
      name: id,
      ports: [{ protocol: 'tcp', publishedPort: 8080, targetPort: 80, mode: 'ingress' }],
      drainMs: 1000,
      backends: Array.from({ length: backends }, (_, i) => ({
        taskId: `${id}-${i}`,
        nodeId: 'n',
        address: '127.0.0.2',
        ports: [{ protocol: 'tcp' as const, targetPort: 80, port: 30000 + i }],
        healthy: true,
      })),
    });
    const parts = endpointsMessages(
      { complete: true, updated: [entry('a', 5), entry('b', 5), entry('c', 5)], removed: [], index: 3 },
      // Each entry weighs 6 (itself and 5 backends): two do not fit in 11.
      11,
    );
    expect(parts.map((p) => [p.services!.map((s) => s.serviceId), p.more, p.complete])).toEqual([
      [['a'], true, true],
      [['b'], true, true],
      [['c'], false, true],
    ]);
  });
});
