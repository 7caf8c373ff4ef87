// Virtual IPs of services on networks: chosen by the allocator loop from each network's VIP subnet,
// kept across updates, freed on removal, rebuilt when a new leader starts.

import { chooseNetworkIpam } from '../../../src/manager/allocator';
import { TaskState } from '../../../src/manager/orchestrator';
import type { Network } from '../../../src/store';
import { stateOf, TestLeader } from '../loops/loop-harness';

describe('network VIP subnets', () => {
  const existing = (subnet: string, name = 'a') =>
    ({ meta: { id: name }, spec: { name, ipam: [] }, ipam: [{ subnet }] }) as unknown as Network;

  it('takes the first free /24 of 10.200.0.0/16 when no subnet is asked for', () => {
    expect(chooseNetworkIpam([], [])[0]!.subnet).toBe('10.200.0.0/24');
    expect(chooseNetworkIpam([], [existing('10.200.0.0/24'), existing('10.200.2.0/23')])[0]!.subnet).toBe(
      '10.200.1.0/24',
    );
  });

  it('keeps a requested subnet (normalized) and refuses one that overlaps another network, naming it', () => {
    expect(chooseNetworkIpam([{ subnet: '10.9.0.7/16', ipRange: '', gateway: '' }], [])[0]!.subnet).toBe(
      '10.9.0.0/16',
    );
    expect(() =>
      chooseNetworkIpam(
        [{ subnet: '10.200.0.128/25', ipRange: '', gateway: '' }],
        [existing('10.200.0.0/24', 'web')],
      ),
    ).toThrow('spec.ipam[0].subnet: 10.200.0.128/25 overlaps 10.200.0.0/24 of network web');
    expect(() => chooseNetworkIpam([{ subnet: '10.1.2.3', ipRange: '', gateway: '' }], [])).toThrow(
      /^spec.ipam\[0\].subnet: "10.1.2.3" is not a CIDR block/,
    );
  });

  it('says so when the default pool is full', () => {
    expect(() => chooseNetworkIpam([], [existing('10.200.0.0/16')])).toThrow(
      /create the network with --subnet/,
    );
  });
});

describe('VIP allocation', () => {
  let leader: TestLeader;
  beforeEach(async () => {
    leader = new TestLeader();
    await leader.addNode('n1');
  });
  afterEach(async () => {
    await leader.close();
  });

  async function createNetwork(name: string, subnet: string): Promise<string> {
    const network = await leader.store.update((tx) =>
      tx.networks.create({ spec: { name, driver: 'bridge' }, ipam: [{ subnet }] }),
    );
    return network.meta!.id;
  }

  function attach(...targets: Array<string | { target: string; aliases: string[] }>) {
    return targets.map((t) => (typeof t === 'string' ? { target: t, aliases: [] } : t));
  }

  it('gives a service one VIP per network and its tasks one attachment per network with the aliases', async () => {
    const front = await createNetwork('front', '10.201.0.0/24');
    const back = await createNetwork('back', '10.202.0.0/29');
    const service = await leader.createService({
      name: 'web',
      replicas: 2,
      spec: { networks: attach('front', { target: back, aliases: ['www', 'api'] }) },
    });
    await leader.settle();
    const id = service.meta!.id;
    expect(leader.service(id)!.endpoint!.virtualIps).toEqual([
      { networkId: front, addr: '10.201.0.1/24' },
      { networkId: back, addr: '10.202.0.1/29' },
    ]);
    const tasks = leader.tasksOf(id);
    expect(tasks).toHaveLength(2);
    for (const task of tasks) {
      expect(stateOf(task)).toBe(TaskState.Assigned);
      expect(task.networks).toEqual([
        { networkId: front, addresses: [], aliases: [] },
        { networkId: back, addresses: [], aliases: ['www', 'api'] },
      ]);
    }
  });

  it('keeps VIPs across updates, frees them when a service leaves a network or is removed, and never hands out one twice', async () => {
    const net = await createNetwork('appnet', '10.203.0.0/29'); // 6 usable VIPs
    const web = (
      await leader.createService({ name: 'web', replicas: 1, spec: { networks: attach('appnet') } })
    ).meta!.id;
    // One at a time: services created in the same millisecond are allocated in ID order (random).
    await leader.settle();
    const api = (await leader.createService({ name: 'api', replicas: 1, spec: { networks: attach(net) } }))
      .meta!.id;
    await leader.settle();
    const vip = (id: string) => leader.service(id)!.endpoint!.virtualIps.map((v) => v.addr);
    expect(vip(web)).toEqual(['10.203.0.1/29']);
    expect(vip(api)).toEqual(['10.203.0.2/29']);

    await leader.updateService(web, (spec) => ({ ...spec, labels: { rev: '2' } }));
    await leader.settle();
    expect(vip(web)).toEqual(['10.203.0.1/29']);

    await leader.updateService(web, (spec) => ({ ...spec, networks: [] }));
    await leader.settle();
    expect(vip(web)).toEqual([]);
    expect(leader.loops.allocator.isBusy).toBe(false);

    await leader.removeService(api);
    await leader.settle();
    const others: string[] = [];
    for (const name of ['a', 'b', 'c', 'd', 'e', 'f']) {
      const id = (await leader.createService({ name, replicas: 0, spec: { networks: attach('appnet') } }))
        .meta!.id;
      await leader.settle();
      others.push(...vip(id));
    }
    // Six usable addresses, all distinct, none the network or broadcast address.
    expect(new Set(others).size).toBe(6);
    expect(others).not.toContain('10.203.0.0/29');
    expect(others).not.toContain('10.203.0.7/29');
  });

  it('blocks a service whose network is missing, with the reason on its tasks, until the network exists', async () => {
    const id = (await leader.createService({ name: 'web', replicas: 1, spec: { networks: attach('later') } }))
      .meta!.id;
    await leader.settle();
    const [task] = leader.tasksOf(id);
    expect(stateOf(task!)).toBe(TaskState.New);
    expect(task!.status!.err).toBe('networks[0].target: network later not found');

    await createNetwork('later', '10.204.0.0/24');
    await leader.settle();
    expect(stateOf(leader.tasksOf(id)[0]!)).toBe(TaskState.Assigned);
    expect(leader.service(id)!.endpoint!.virtualIps[0]!.addr).toBe('10.204.0.1/24');
  });

  it('rebuilds the book from the services when a new leader starts', async () => {
    await createNetwork('appnet', '10.205.0.0/24');
    const web = (
      await leader.createService({ name: 'web', replicas: 1, spec: { networks: attach('appnet') } })
    ).meta!.id;
    await leader.settle();
    await leader.loops.stop();
    leader.start();
    const api = (
      await leader.createService({ name: 'api', replicas: 1, spec: { networks: attach('appnet') } })
    ).meta!.id;
    await leader.settle();
    expect(leader.service(web)!.endpoint!.virtualIps[0]!.addr).toBe('10.205.0.1/24');
    expect(leader.service(api)!.endpoint!.virtualIps[0]!.addr).toBe('10.205.0.2/24');
  });
});
