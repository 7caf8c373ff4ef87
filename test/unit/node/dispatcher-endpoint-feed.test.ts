import * as grpc from '@grpc/grpc-js';
import { silentLogger } from '../../../src/common/logger';
import {
  type DispatcherClient,
  insecureNodeClientOptions,
  type SessionMessage__Output,
} from '../../../src/manager/dispatcher';
import { DispatcherEndpointFeed } from '../../../src/node/dispatcher-endpoint-feed';
import type { MemoryStore } from '../../../src/store';
import {
  clientAs,
  eventually,
  newTestStore,
  startTestDispatcher,
  type TestDispatcher,
} from '../dispatcher/dispatcher-harness';

interface Session {
  id: string;
  call: grpc.ClientReadableStream<SessionMessage__Output>;
}

function openSession(client: DispatcherClient): Promise<Session> {
  const call = client.session({ description: { hostname: 'w', meshAddr: '127.0.0.5' }, addr: '' });
  return new Promise((resolve, reject) => {
    call.once('data', (m: SessionMessage__Output) => resolve({ id: m.sessionId, call }));
    call.on('error', reject);
  });
}

async function publish(store: MemoryStore, id: string, port: number): Promise<void> {
  const ports = [{ publishedPort: port, targetPort: 80, publishMode: 'PUBLISH_MODE_INGRESS' as const }];
  await store.update((tx) => {
    tx.services.create({ meta: { id }, spec: { name: id, endpoint: { ports } }, endpoint: { ports } });
  });
}

describe("a worker's endpoint feed (the dispatcher's Endpoints stream on the agent's session)", () => {
  let d: TestDispatcher;
  let store: MemoryStore;
  let agentClient: DispatcherClient;
  let feed: DispatcherEndpointFeed | undefined;
  /** What the fake agent reports: its session with the dispatcher. */
  let agentSession: { manager?: string; sessionId?: string } = {};

  beforeEach(async () => {
    store = newTestStore().store;
    d = await startTestDispatcher(store);
    agentClient = clientAs(d.addr, 'w1');
  });

  afterEach(async () => {
    await feed?.close();
    feed = undefined;
    agentClient.close();
    d.kill();
    store.close();
  });

  function startFeed(): DispatcherEndpointFeed {
    feed = new DispatcherEndpointFeed({
      agent: {
        status: () => ({
          nodeId: 'w1',
          tasks: 0,
          pendingReports: 0,
          manager: undefined,
          sessionId: undefined,
          ...agentSession,
        }),
        waitForSession: () => Promise.resolve(),
      },
      credentials: () => grpc.credentials.createInsecure(),
      channelOptions: insecureNodeClientOptions('w1'),
      logger: silentLogger(),
    });
    feed.start();
    return feed;
  }

  it('follows the table on the agent session and again on its next session, keeping the table meanwhile', async () => {
    await publish(store, 'web', 8080);
    const first = await openSession(agentClient);
    agentSession = { manager: d.addr, sessionId: first.id };
    const { table } = startFeed();
    await eventually(() => table.get('web'), 'the complete table');

    await publish(store, 'api', 9090);
    await eventually(() => table.get('api'), 'a change');

    // The session ends (e.g. a missed heartbeat): the stream ends, the table stays.
    first.call.cancel();
    await eventually(() => d.dispatcher.stats().endpointStreams === 0, 'the stream ended');
    expect(table.size).toBe(2);
    await store.update((tx) => tx.services.delete('api'));

    // The agent opens a new session: the feed follows it and gets the complete table again.
    const second = await openSession(agentClient);
    agentSession = { manager: d.addr, sessionId: second.id };
    await eventually(() => table.get('api') === undefined && table.get('web') !== undefined, 'the new table');
    second.call.cancel();
  });
});
