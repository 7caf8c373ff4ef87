// The network directory a manager serves from its store replica: services with VIPs appear with
// their names, aliases and running backends; changes are announced once per batch of entries and
// only when something changed; a removed network leaves the set of networks.

import { silentLogger } from '../../../src/common/logger';
import {
  StaticNetworkDirectory,
  StoreNetworkDirectory,
  SwitchingNetworkDirectory,
} from '../../../src/network';
import { LocalProposer, MemoryStore } from '../../../src/store';

function flush(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

describe('store network directory', () => {
  let store: MemoryStore;
  let directory: StoreNetworkDirectory;
  beforeEach(() => {
    const proposer = new LocalProposer();
    store = new MemoryStore({ proposer });
    proposer.attach(store);
  });
  afterEach(() => {
    directory?.close();
    store.close();
  });

  it('follows services, tasks and networks, announcing each change once', async () => {
    const network = await store.update((tx) =>
      tx.networks.create({ spec: { name: 'appnet', driver: 'bridge' }, ipam: [{ subnet: '10.200.0.0/24' }] }),
    );
    const networkId = network.meta!.id;
    await store.update((tx) =>
      tx.nodes.create({ meta: { id: 'n1' }, status: { state: 'NODE_STATE_READY', addr: '127.0.0.2:4242' } }),
    );
    directory = new StoreNetworkDirectory(store, silentLogger());
    directory.start();
    expect(directory.networks()).toEqual(new Set([networkId]));
    expect(directory.current().size).toBe(0);
    let changes = 0;
    directory.subscribe(() => changes++);

    // One transaction: one announcement.
    const service = await store.update((tx) => {
      const created = tx.services.create({
        spec: { name: 'web', networks: [{ target: 'appnet', aliases: ['www'] }] },
        endpoint: { virtualIps: [{ networkId, addr: '10.200.0.1/24' }] },
      });
      tx.tasks.create({
        meta: { id: 't1' },
        serviceId: created.meta!.id,
        nodeId: 'n1',
        desiredState: 'TASK_STATE_RUNNING',
        status: {
          state: 'TASK_STATE_RUNNING',
          ports: [
            {
              protocol: 'PORT_PROTOCOL_TCP',
              targetPort: 80,
              publishedPort: 31000,
              publishMode: 'PUBLISH_MODE_HOST',
            },
          ],
        },
      });
      return created;
    });
    await flush();
    expect(changes).toBe(1);
    expect(directory.current().get(service.meta!.id)).toMatchObject({
      name: 'web',
      attachments: [{ networkId, networkName: 'appnet', vip: '10.200.0.1', aliases: ['www'] }],
      ports: [{ protocol: 'tcp', targetPort: 80 }],
      backends: [
        { taskId: 't1', address: '127.0.0.2', ports: [{ protocol: 'tcp', targetPort: 80, port: 31000 }] },
      ],
    });

    // A change that does not touch what the directory shows is not announced.
    await store.update((tx) => {
      const n1 = tx.nodes.get('n1')!;
      tx.nodes.update({ ...n1, spec: { ...n1.spec!, labels: { zone: 'a' } } });
    });
    await flush();
    expect(changes).toBe(1);

    await store.update((tx) => {
      tx.tasks.delete('t1');
      tx.services.delete(service.meta!.id);
      tx.networks.delete(networkId);
    });
    await flush();
    expect(changes).toBe(2);
    expect(directory.current().size).toBe(0);
    expect(directory.networks()).toEqual(new Set());
  });
});

describe('switching network directory', () => {
  it('serves and announces whichever directory it was switched to', () => {
    const a = new StaticNetworkDirectory();
    const b = new StaticNetworkDirectory();
    const switching = new SwitchingNetworkDirectory();
    let changes = 0;
    switching.subscribe(() => changes++);
    expect(switching.networks()).toBeUndefined();
    switching.use(a);
    a.set([], ['net-a']);
    expect(switching.networks()).toEqual(new Set(['net-a']));
    switching.use(b);
    a.set([], ['net-a2']); // no longer followed
    expect(switching.networks()).toBeUndefined();
    expect(changes).toBe(3);
  });
});
