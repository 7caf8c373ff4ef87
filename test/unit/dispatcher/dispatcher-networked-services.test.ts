import type { EndpointsMessage__Output } from '../../../src/api/gen/types/orch/dispatcher/EndpointsMessage';
import { silentLogger } from '../../../src/common/logger';
import { type DispatcherClient, endpointsMessages } from '../../../src/manager/dispatcher';
import { StoreEndpointSource } from '../../../src/mesh';
import type { NetworkedService } from '../../../src/network/network-directory';
import { NetworkedServiceTable } from '../../../src/network/networked-service-table';
import { networkedServiceFromWire } from '../../../src/network/networked-service-wire';
import type { MemoryStore } from '../../../src/store';
import {
  clientAs,
  eventually,
  newTestStore,
  openSession,
  startTestDispatcher,
  type TestDispatcher,
} from './dispatcher-harness';

function followEndpoints(client: DispatcherClient, sessionId: string) {
  const call = client.endpoints({ sessionId });
  const messages: EndpointsMessage__Output[] = [];
  call.on('data', (m: EndpointsMessage__Output) => messages.push(m));
  call.on('error', () => {});
  return { messages, call };
}

async function createNetwork(store: MemoryStore, name: string, subnet: string): Promise<string> {
  const network = await store.update((tx) =>
    tx.networks.create({ spec: { name, driver: 'bridge' }, ipam: [{ subnet }] }),
  );
  return network.meta!.id;
}

async function createNetworkedService(
  store: MemoryStore,
  id: string,
  networkId: string,
  vip: string,
  aliases: string[] = [],
): Promise<void> {
  await store.update((tx) => {
    tx.services.create({
      meta: { id },
      spec: { name: id, networks: [{ target: networkId, aliases }] },
      endpoint: { virtualIps: [{ networkId, addr: `${vip}/24` }] },
    });
  });
}

async function runTask(store: MemoryStore, id: string, serviceId: string, nodeId: string, hostPort: number) {
  await store.update((tx) =>
    tx.tasks.create({
      meta: { id },
      serviceId,
      nodeId,
      slot: 1,
      desiredState: 'TASK_STATE_RUNNING',
      status: {
        state: 'TASK_STATE_RUNNING',
        ports: [
          {
            protocol: 'PORT_PROTOCOL_TCP',
            targetPort: 80,
            publishedPort: hostPort,
            publishMode: 'PUBLISH_MODE_HOST',
          },
        ],
      },
    }),
  );
}

function webEntry(backends = 1): NetworkedService {
  return {
    serviceId: 'web',
    name: 'web',
    drainMs: 2000,
    attachments: [{ networkId: 'n1', networkName: 'appnet', vip: '10.200.0.2', aliases: ['www'] }],
    ports: [
      { protocol: 'tcp', targetPort: 80 },
      { protocol: 'udp', targetPort: 53 },
    ],
    backends: Array.from({ length: backends }, (_, i) => ({
      taskId: `t${i}`,
      nodeId: 'w1',
      address: '127.0.0.7',
      healthy: true,
      ports: [
        { protocol: 'tcp' as const, targetPort: 80, port: 30000 + i },
        { protocol: 'udp' as const, targetPort: 53, port: 31000 + i },
      ],
    })),
  };
}

describe('networked services on the wire', () => {
  it('round-trips an entry exactly as the directory computes it', () => {
    const [message] = endpointsMessages({ complete: true, updated: [], removed: [], index: 7 }, undefined, {
      updated: [webEntry(2)],
      removed: [],
      networkIds: ['n1', 'n2'],
    });
    expect(message).toMatchObject({
      complete: true,
      more: false,
      appliedIndex: 7,
      networks: { ids: ['n1', 'n2'] },
    });
    const wire = message!.networkedServices![0]!;
    expect(wire.vips).toEqual([
      { networkId: 'n1', networkName: 'appnet', address: '10.200.0.2', aliases: ['www'] },
    ]);
    // What the worker decodes is what the leader computed (same normalization, so equal entries compare equal).
    expect(networkedServiceFromWire(JSON.parse(JSON.stringify(wire)))).toEqual(webEntry(2));
  });

  it('normalizes what comes off the wire: sorted ports, unusable backends and VIPs dropped', () => {
    const decoded = networkedServiceFromWire({
      serviceId: 's',
      name: 's',
      drainMs: 0,
      vips: [
        { networkId: 'n1', networkName: 'a', address: '10.0.0.2', aliases: [] },
        { networkId: '', networkName: 'b', address: '10.0.1.2', aliases: [] },
      ],
      ports: [
        { protocol: 'PORT_PROTOCOL_UDP', targetPort: 53 },
        { protocol: 'PORT_PROTOCOL_TCP', targetPort: 80 },
        { protocol: 'PORT_PROTOCOL_TCP', targetPort: 80 },
      ],
      backends: [
        {
          taskId: 'b',
          nodeId: 'x',
          address: '127.0.0.2',
          healthy: true,
          ports: [{ protocol: 'PORT_PROTOCOL_TCP', targetPort: 80, port: 1 }],
        },
        {
          taskId: 'a',
          nodeId: 'x',
          address: '',
          healthy: true,
          ports: [{ protocol: 'PORT_PROTOCOL_TCP', targetPort: 80, port: 2 }],
        },
      ],
    });
    expect(decoded.attachments.map((a) => a.networkId)).toEqual(['n1']);
    expect(decoded.ports).toEqual([
      { protocol: 'tcp', targetPort: 80 },
      { protocol: 'udp', targetPort: 53 },
    ]);
    expect(decoded.backends.map((b) => b.taskId)).toEqual(['b']);
    expect(decoded.drainMs).toBeGreaterThan(0);
  });

  it('splits a large set by backends; removals and network IDs ride in the first message', () => {
    const parts = endpointsMessages({ complete: false, updated: [], removed: ['gone'], index: 3 }, 5, {
      updated: [webEntry(3), { ...webEntry(3), serviceId: 'api', name: 'api' }],
      removed: ['old'],
      networkIds: ['n1'],
    });
    expect(parts.map((p) => [p.more, p.networkedServices!.map((s) => s.serviceId)])).toEqual([
      [true, []],
      [true, ['web']],
      [false, ['api']],
    ]);
    expect(parts[0]).toMatchObject({
      removedServiceIds: ['gone'],
      removedNetworkedServiceIds: ['old'],
      networks: { ids: ['n1'] },
    });
    expect(parts[1]!.networks).toBeUndefined();
    expect(parts[1]!.removedNetworkedServiceIds).toEqual([]);
  });
});

describe("the leader's networked-service table (StoreEndpointSource with `networked`)", () => {
  it('loads services with VIPs and the networks, then follows services, tasks and networks', async () => {
    const { store } = newTestStore();
    const networked = new NetworkedServiceTable();
    const source = new StoreEndpointSource({ store, logger: silentLogger(), networked });
    try {
      await store.update((tx) =>
        tx.nodes.create({
          meta: { id: 'w1' },
          description: { meshAddr: '127.0.0.7' },
          status: { state: 'NODE_STATE_READY' },
        }),
      );
      const net = await createNetwork(store, 'appnet', '10.200.0.0/24');
      await createNetworkedService(store, 'web', net, '10.200.0.2', ['www']);
      source.start();
      expect(networked.networkIds).toEqual([net]);
      expect(networked.get('web')).toMatchObject({
        attachments: [{ networkId: net, networkName: 'appnet', vip: '10.200.0.2', aliases: ['www'] }],
        backends: [],
      });
      // A service on no network is not in the table, and an ingress-only table is left as it was.
      expect(source.table.size).toBe(0);

      const changes: Array<{ updated: string[]; removed: string[]; networks?: readonly string[] }> = [];
      networked.subscribe((c) => {
        if (!c.complete)
          changes.push({
            updated: c.updated.map((e) => e.serviceId),
            removed: c.removed,
            networks: networked.networkIds,
          });
      });
      await runTask(store, 't1', 'web', 'w1', 30080);
      await eventually(() => changes.length === 1, 'the task as a backend');
      expect(networked.get('web')!.backends).toEqual([
        expect.objectContaining({
          taskId: 't1',
          address: '127.0.0.7',
          ports: [{ protocol: 'tcp', targetPort: 80, port: 30080 }],
        }),
      ]);
      expect(networked.get('web')!.ports).toEqual([{ protocol: 'tcp', targetPort: 80 }]);

      const other = await createNetwork(store, 'backnet', '10.200.1.0/24');
      await eventually(() => networked.networkIds?.length === 2, 'the new network');
      expect(networked.networkIds).toEqual([net, other].sort());

      // The node goes down: its backends leave every networked service.
      await store.update((tx) => {
        const node = tx.nodes.get('w1')!;
        tx.nodes.update({ ...node, status: { ...node.status!, state: 'NODE_STATE_DOWN' } });
      });
      await eventually(() => networked.get('web')!.backends.length === 0, 'the backend gone');

      await store.update((tx) => tx.services.delete('web'));
      await eventually(() => networked.size === 0, 'the service removed');
      expect(changes.at(-1)).toMatchObject({ updated: [], removed: ['web'] });
    } finally {
      source.close();
      store.close();
    }
  });
});

describe('dispatcher endpoints stream with networked services', () => {
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

  it('sends networked services and networks in the complete set, then their changes, and a complete set again on a new stream', async () => {
    const net = await createNetwork(store, 'appnet', '10.200.0.0/24');
    await createNetworkedService(store, 'web', net, '10.200.0.2', ['www']);
    const worker = client('w1');
    const { sessionId, call: session } = await openSession(worker);
    const stream = followEndpoints(worker, sessionId);
    const first = await eventually(() => stream.messages[0], 'the complete set');
    expect(first).toMatchObject({ complete: true, more: false, networks: { ids: [net] }, services: [] });
    expect(first.networkedServices.map(networkedServiceFromWire)).toEqual([
      expect.objectContaining({
        serviceId: 'web',
        attachments: [{ networkId: net, networkName: 'appnet', vip: '10.200.0.2', aliases: ['www'] }],
        backends: [],
      }),
    ]);

    // The worker's own task runs (it declared mesh address 127.0.0.7): one change with the backend.
    await runTask(store, 't1', 'web', 'w1', 30080);
    const change = await eventually(() => stream.messages[1], 'the change');
    expect(change).toMatchObject({ complete: false, services: [], removedNetworkedServiceIds: [] });
    expect(networkedServiceFromWire(change.networkedServices[0]!).backends).toEqual([
      expect.objectContaining({ taskId: 't1', nodeId: 'w1', address: '127.0.0.7' }),
    ]);

    await store.update((tx) => tx.services.delete('web'));
    const removal = await eventually(() => stream.messages[2], 'the removal');
    expect(removal.removedNetworkedServiceIds).toEqual(['web']);
    expect(removal.networks).toEqual({ ids: [net] });

    // A second stream on the same session (a resync) starts with a complete set again.
    stream.call.cancel();
    const again = followEndpoints(worker, sessionId);
    const resync = await eventually(() => again.messages[0], 'the new complete set');
    expect(resync).toMatchObject({ complete: true, networkedServices: [], networks: { ids: [net] } });
    again.call.cancel();
    session.cancel();
  });
});
