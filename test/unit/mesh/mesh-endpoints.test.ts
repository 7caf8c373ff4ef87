import { silentLogger } from '../../../src/common/logger';
import {
  EndpointTable,
  endpointTableFromStore,
  meshBackendsOf,
  meshServiceSpecOf,
  nodeMeshAddress,
  type ServiceEndpoints,
  StoreEndpointSource,
  serviceEndpoints,
  serviceEndpointsFromWire,
  serviceEndpointsToWire,
} from '../../../src/mesh';
import type { EndpointChange } from '../../../src/mesh/endpoint-table';
import {
  LocalProposer,
  MemoryStore,
  type NodeInput,
  type ServiceInput,
  type TaskInput,
} from '../../../src/store';
import type { Node, Service, Task } from '../../../src/store/objects';

function newStore(): MemoryStore {
  const proposer = new LocalProposer();
  const store = new MemoryStore({ proposer, logger: silentLogger() });
  proposer.attach(store);
  return store;
}

function nodeInput(id: string, addr: string, extra: Partial<NodeInput> = {}): NodeInput {
  return {
    meta: { id },
    description: { hostname: id, meshAddr: '' },
    status: { state: 'NODE_STATE_READY', addr: `${addr}:4242` },
    ...extra,
  };
}

function serviceInput(
  id: string,
  ports: Array<[number, number, ('udp' | 'tcp')?, ('host' | 'ingress')?]>,
): ServiceInput {
  const portConfigs = ports.map(([published, target, protocol, mode]) => ({
    publishedPort: published,
    targetPort: target,
    protocol: protocol === 'udp' ? ('PORT_PROTOCOL_UDP' as const) : ('PORT_PROTOCOL_TCP' as const),
    publishMode: mode === 'host' ? ('PUBLISH_MODE_HOST' as const) : ('PUBLISH_MODE_INGRESS' as const),
  }));
  return {
    meta: { id },
    spec: {
      name: id,
      container: { image: 'img', stopGracePeriodMs: 3000 },
      endpoint: { ports: portConfigs },
    },
    endpoint: { ports: portConfigs },
  };
}

function taskInput(
  id: string,
  serviceId: string,
  nodeId: string,
  bound: Array<[number, number, ('udp' | 'tcp')?]>,
  state = 'TASK_STATE_RUNNING',
  desired = 'TASK_STATE_RUNNING',
): TaskInput {
  return {
    meta: { id },
    serviceId,
    nodeId,
    slot: 1,
    desiredState: desired as 'TASK_STATE_RUNNING',
    status: {
      state: state as 'TASK_STATE_RUNNING',
      ports: bound.map(([target, hostPort, protocol]) => ({
        targetPort: target,
        publishedPort: hostPort,
        protocol: protocol === 'udp' ? ('PORT_PROTOCOL_UDP' as const) : ('PORT_PROTOCOL_TCP' as const),
        publishMode: 'PUBLISH_MODE_HOST' as const,
      })),
    },
  };
}

async function seed(
  store: MemoryStore,
  objects: { nodes?: NodeInput[]; services?: ServiceInput[]; tasks?: TaskInput[] },
) {
  await store.update((tx) => {
    for (const n of objects.nodes ?? []) tx.nodes.create(n);
    for (const s of objects.services ?? []) tx.services.create(s);
    for (const t of objects.tasks ?? []) tx.tasks.create(t);
  });
}

function table(store: MemoryStore): Map<string, ServiceEndpoints> {
  return store.view((tx) => endpointTableFromStore(tx));
}

describe('mesh endpoints (services + tasks + nodes -> what every mesh serves)', () => {
  it('lists a published service with the running tasks at their node mesh address and bound host port', async () => {
    const store = newStore();
    await seed(store, {
      nodes: [nodeInput('n1', '127.0.0.2'), nodeInput('n2', '127.0.0.3')],
      services: [serviceInput('web', [[8080, 80]])],
      tasks: [taskInput('t2', 'web', 'n2', [[80, 30002]]), taskInput('t1', 'web', 'n1', [[80, 30001]])],
    });
    const web = table(store).get('web')!;
    expect(web).toEqual({
      serviceId: 'web',
      name: 'web',
      ports: [{ protocol: 'tcp', publishedPort: 8080, targetPort: 80, mode: 'ingress' }],
      drainMs: 3000,
      backends: [
        {
          taskId: 't1',
          nodeId: 'n1',
          address: '127.0.0.2',
          ports: [{ protocol: 'tcp', targetPort: 80, port: 30001 }],
          healthy: true,
        },
        {
          taskId: 't2',
          nodeId: 'n2',
          address: '127.0.0.3',
          ports: [{ protocol: 'tcp', targetPort: 80, port: 30002 }],
          healthy: true,
        },
      ],
    });
  });

  it('prefers the node declared mesh address over the host it registered with', async () => {
    const store = newStore();
    await seed(store, { nodes: [nodeInput('n1', '10.0.0.1', { description: { meshAddr: '192.168.1.5' } })] });
    const node = store.view((tx) => tx.nodes.get('n1'));
    expect(nodeMeshAddress(node)).toBe('192.168.1.5');
    expect(nodeMeshAddress({ ...node!, description: null } as unknown as Node)).toBe('10.0.0.1');
  });

  it('leaves out tasks that are not running, are being stopped, sit on a down node or have no bound port', async () => {
    const store = newStore();
    await seed(store, {
      nodes: [
        nodeInput('up', '127.0.0.2'),
        nodeInput('down', '127.0.0.3', { status: { state: 'NODE_STATE_DOWN', addr: '127.0.0.3:4242' } }),
      ],
      services: [serviceInput('web', [[8080, 80]])],
      tasks: [
        taskInput('starting', 'web', 'up', [[80, 30001]], 'TASK_STATE_STARTING'),
        taskInput('stopping', 'web', 'up', [[80, 30002]], 'TASK_STATE_RUNNING', 'TASK_STATE_SHUTDOWN'),
        taskInput('on-down-node', 'web', 'down', [[80, 30003]]),
        taskInput('unbound', 'web', 'up', []),
        taskInput('unplaced', 'web', '', [[80, 30004]]),
        taskInput('good', 'web', 'up', [[80, 30005]]),
      ],
    });
    expect(
      table(store)
        .get('web')!
        .backends.map((b) => b.taskId),
    ).toEqual(['good']);
  });

  it('publishes only allocated ingress ports: host-mode ports and services without one are absent', async () => {
    const store = newStore();
    await seed(store, {
      services: [
        serviceInput('host-only', [[8081, 80, 'tcp', 'host']]),
        serviceInput('mixed', [
          [8082, 80, 'tcp', 'host'],
          [53, 53, 'udp'],
        ]),
        serviceInput('unallocated', [[0, 80]]),
        { meta: { id: 'plain' }, spec: { name: 'plain' } },
      ],
    });
    const result = table(store);
    expect([...result.keys()]).toEqual(['mixed']);
    expect(result.get('mixed')!.ports).toEqual([
      { protocol: 'udp', publishedPort: 53, targetPort: 53, mode: 'ingress' },
    ]);
  });

  it('maps each target port of a multi-port service to the task bound port of the same protocol', () => {
    const service = {
      ...serviceInput('dns', [
        [53, 53, 'udp'],
        [53, 53, 'tcp'],
        [9000, 9000],
      ]),
      meta: { id: 'dns' },
    } as unknown as Service;
    const task = taskInput('t', 'dns', 'n', [
      [53, 31053, 'udp'],
      [53, 32053, 'tcp'],
      [9000, 39000],
    ]) as unknown as Task;
    const node = nodeInput('n', '127.0.0.9') as unknown as Node;
    const entry = serviceEndpoints(service, [task], () => node)!;
    expect(entry.backends[0]!.ports).toEqual([
      { protocol: 'tcp', targetPort: 53, port: 32053 },
      { protocol: 'tcp', targetPort: 9000, port: 39000 },
      { protocol: 'udp', targetPort: 53, port: 31053 },
    ]);
    expect(meshServiceSpecOf(entry, 'least-connections')).toEqual({
      name: 'dns',
      ports: entry.ports,
      lb: 'least-connections',
      drainMs: 3000,
    });
    expect(meshBackendsOf(entry)).toEqual([
      { taskId: 't', address: '127.0.0.9', ports: entry.backends[0]!.ports, healthy: true },
    ]);
  });

  it('uses the default drain period (10 s, Swarm stop grace period) when the service sets none', () => {
    const service = serviceInput('web', [[8080, 80]]);
    service.spec!.container!.stopGracePeriodMs = 0;
    const entry = serviceEndpoints(
      { ...service, meta: { id: 'web' } } as unknown as Service,
      [],
      () => undefined,
    )!;
    expect(entry.drainMs).toBe(10_000);
    expect(entry.backends).toEqual([]);
  });

  it('survives the trip over the wire unchanged', async () => {
    const store = newStore();
    await seed(store, {
      nodes: [nodeInput('n1', '127.0.0.2')],
      services: [
        serviceInput('web', [
          [8080, 80],
          [5353, 53, 'udp'],
        ]),
      ],
      tasks: [
        taskInput('t1', 'web', 'n1', [
          [80, 30001],
          [53, 30053, 'udp'],
        ]),
      ],
    });
    const entry = table(store).get('web')!;
    const wire = serviceEndpointsToWire(entry);
    // What the receiver sees: every field present, as protobuf decodes it.
    const decoded = JSON.parse(JSON.stringify(wire));
    expect(serviceEndpointsFromWire(decoded)).toEqual(entry);
  });
});

describe('endpoint table', () => {
  const entry = (id: string, backends = 1): ServiceEndpoints => ({
    serviceId: id,
    name: id,
    ports: [{ protocol: 'tcp', publishedPort: 8000 + backends, targetPort: 80, mode: 'ingress' }],
    drainMs: 1000,
    backends: Array.from({ length: backends }, (_, i) => ({
      taskId: `${id}-${i}`,
      nodeId: 'n',
      address: '127.0.0.2',
      ports: [{ protocol: 'tcp' as const, targetPort: 80, port: 30000 + i }],
      healthy: true,
    })),
  });

  it('gives a new subscriber the whole table first, then only real changes', () => {
    const t = new EndpointTable();
    t.apply([entry('a'), entry('b')], [], 5);
    const seen: EndpointChange[] = [];
    const sub = t.subscribe((c) => seen.push(c));
    expect(seen[0]).toEqual({ complete: true, updated: [entry('a'), entry('b')], removed: [], index: 5 });
    expect(t.apply([entry('a')], [], 6)).toBeUndefined();
    t.apply([entry('a', 2)], ['b', 'missing'], 7);
    expect(seen.slice(1)).toEqual([{ complete: false, updated: [entry('a', 2)], removed: ['b'], index: 7 }]);
    sub.close();
    t.apply([entry('c')], []);
    expect(seen).toHaveLength(2);
  });

  it('turns a complete set (reset) into the difference', () => {
    const t = new EndpointTable();
    t.apply([entry('a'), entry('b')], []);
    const seen: EndpointChange[] = [];
    t.subscribe((c) => seen.push(c));
    t.reset([entry('b'), entry('c')], 9);
    expect(seen[1]).toEqual({ complete: false, updated: [entry('c')], removed: ['a'], index: 9 });
    t.clear();
    expect(seen[2]!.removed.sort()).toEqual(['b', 'c']);
    expect(t.size).toBe(0);
  });

  it('ends a subscription when its signal aborts', () => {
    const t = new EndpointTable();
    const abort = new AbortController();
    const seen: EndpointChange[] = [];
    t.subscribe((c) => seen.push(c), { signal: abort.signal });
    abort.abort();
    t.apply([entry('a')], []);
    expect(seen).toHaveLength(1);
  });
});

describe('store endpoint source', () => {
  async function changesAfter(
    source: StoreEndpointSource,
    write: () => Promise<unknown>,
  ): Promise<EndpointChange[]> {
    const seen: EndpointChange[] = [];
    const sub = source.table.subscribe((c) => {
      if (!c.complete) seen.push(c);
    });
    await write();
    await new Promise((resolve) => setImmediate(resolve));
    sub.close();
    return seen;
  }

  it('follows task, service and node changes, one change per turn of applied entries', async () => {
    const store = newStore();
    await seed(store, {
      nodes: [nodeInput('n1', '127.0.0.2'), nodeInput('n2', '127.0.0.3')],
      services: [serviceInput('web', [[8080, 80]])],
      tasks: [taskInput('t1', 'web', 'n1', [[80, 30001]])],
    });
    const source = new StoreEndpointSource({ store, logger: silentLogger() });
    source.start();
    try {
      expect(source.table.get('web')!.backends.map((b) => b.taskId)).toEqual(['t1']);

      // A task starts running on n2: added.
      let changes = await changesAfter(source, () =>
        store.update((tx) => tx.tasks.create(taskInput('t2', 'web', 'n2', [[80, 30002]]))),
      );
      expect(changes).toHaveLength(1);
      expect(changes[0]!.updated[0]!.backends.map((b) => b.taskId)).toEqual(['t1', 't2']);

      // n2 goes down: its task leaves the table.
      changes = await changesAfter(source, () =>
        store.update((tx) => {
          const n2 = tx.nodes.get('n2')!;
          tx.nodes.update({ ...n2, status: { ...n2.status!, state: 'NODE_STATE_DOWN' } });
        }),
      );
      expect(changes[0]!.updated[0]!.backends.map((b) => b.taskId)).toEqual(['t1']);

      // The task on n1 is asked to stop: no backends left, the service stays published.
      changes = await changesAfter(source, () =>
        store.update((tx) => {
          const t1 = tx.tasks.get('t1')!;
          tx.tasks.update({ ...t1, desiredState: 'TASK_STATE_SHUTDOWN' });
        }),
      );
      expect(changes[0]!.updated[0]!.backends).toEqual([]);

      // A change nothing publishes: no event.
      changes = await changesAfter(source, () =>
        store.update((tx) => tx.services.create({ meta: { id: 'quiet' }, spec: { name: 'quiet' } })),
      );
      expect(changes).toEqual([]);

      // The service is removed.
      changes = await changesAfter(source, () => store.update((tx) => tx.services.delete('web')));
      expect(changes).toEqual([expect.objectContaining({ updated: [], removed: ['web'] })]);
    } finally {
      source.close();
    }
  });
});
