import * as grpc from '@grpc/grpc-js';
import { silentLogger } from '../../../src/common/logger';
import { type DispatcherClient, insecureNodeClientOptions } from '../../../src/manager/dispatcher';
import { StaticNetworkDirectory } from '../../../src/network';
import { DispatcherEndpointFeed } from '../../../src/node/dispatcher-endpoint-feed';
import type { MemoryStore } from '../../../src/store';
import {
  clientAs,
  eventually,
  newTestStore,
  openSession,
  startTestDispatcher,
  type TestDispatcher,
} from '../dispatcher/dispatcher-harness';

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

  function startFeed(directory?: StaticNetworkDirectory): DispatcherEndpointFeed {
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
      directory,
    });
    feed.start();
    return feed;
  }

  it('follows the table on the agent session and again on its next session, keeping the table meanwhile', async () => {
    await publish(store, 'web', 8080);
    const first = await openSession(agentClient);
    agentSession = { manager: d.addr, sessionId: first.sessionId };
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
    agentSession = { manager: d.addr, sessionId: second.sessionId };
    await eventually(() => table.get('api') === undefined && table.get('web') !== undefined, 'the new table');
    second.call.cancel();
  });

  async function attach(id: string, networkId: string, vip: string): Promise<void> {
    await store.update((tx) => {
      tx.services.create({
        meta: { id },
        spec: { name: id, networks: [{ target: networkId, aliases: [`${id}-alias`] }] },
        endpoint: { virtualIps: [{ networkId, addr: `${vip}/24` }] },
      });
    });
  }

  it("feeds the executor's network directory: complete set, changes, and a complete set on the next session", async () => {
    const network = await store.update((tx) =>
      tx.networks.create({ spec: { name: 'appnet', driver: 'bridge' }, ipam: [{ subnet: '10.200.0.0/24' }] }),
    );
    const net = network.meta!.id;
    await attach('web', net, '10.200.0.2');
    const directory = new StaticNetworkDirectory();
    let announcements = 0;
    directory.subscribe(() => announcements++);
    const first = await openSession(agentClient);
    agentSession = { manager: d.addr, sessionId: first.sessionId };
    const { networked } = startFeed(directory);
    // Until the stream delivers, the directory knows no networks (it does not remove any).
    expect(directory.networks()).toBeUndefined();

    await eventually(() => directory.current().get('web'), 'the complete set in the directory');
    expect(directory.networks()).toEqual(new Set([net]));
    expect(directory.current().get('web')!.attachments).toEqual([
      { networkId: net, networkName: 'appnet', vip: '10.200.0.2', aliases: ['web-alias'] },
    ]);

    // A change: one more service on the network.
    await attach('api', net, '10.200.0.3');
    await eventually(() => directory.current().get('api'), 'the change');
    expect(networked.size).toBe(2);

    // The session ends; meanwhile web is removed and a network created. The directory keeps what it knew.
    first.call.cancel();
    await eventually(() => d.dispatcher.stats().endpointStreams === 0, 'the stream ended');
    await store.update((tx) => tx.services.delete('web'));
    const other = await store.update((tx) =>
      tx.networks.create({
        spec: { name: 'backnet', driver: 'bridge' },
        ipam: [{ subnet: '10.200.1.0/24' }],
      }),
    );
    expect(directory.current().size).toBe(2);

    // The next session's complete set replaces everything: web gone, both networks known.
    const second = await openSession(agentClient);
    agentSession = { manager: d.addr, sessionId: second.sessionId };
    await eventually(() => directory.current().get('web') === undefined, 'the resync');
    expect([...directory.current().keys()]).toEqual(['api']);
    expect(directory.networks()).toEqual(new Set([net, other.meta!.id]));
    expect(announcements).toBeGreaterThanOrEqual(3);

    // Closing the feed stops feeding the directory.
    await feed!.close();
    feed = undefined;
    const before = announcements;
    networked.clear();
    expect(announcements).toBe(before);
    second.call.cancel();
  });
});
