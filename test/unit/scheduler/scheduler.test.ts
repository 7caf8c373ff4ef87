import { Scheduler, scheduleTasks } from '../../../src/manager/scheduler';
import { countByNode, GiB, node, pendingTasks, serviceSpec, task } from './cluster-fixtures';

describe('scheduler', () => {
  describe('spread', () => {
    it('spreads replicas over the nodes with the fewest tasks of the service', () => {
      const spec = serviceSpec();
      const nodes = [node('a'), node('b'), node('c')];
      const running = [
        task({ id: 'r1', nodeId: 'a', slot: 1, spec }),
        task({ id: 'r2', nodeId: 'a', slot: 2, spec }),
        task({ id: 'r3', nodeId: 'b', slot: 3, spec }),
      ];
      const { assignments } = scheduleTasks(nodes, running, pendingTasks(3, spec, 'svc', 'p'));
      // c has none, b has one, a has two: c, then b and c level with a.
      expect(countByNode(assignments)).toEqual({ b: 1, c: 2 });
    });

    it('then prefers the node with the fewest tasks overall', () => {
      const other = serviceSpec({ name: 'db' });
      const nodes = [node('a'), node('b'), node('c')];
      const busy = [
        task({ id: 'o1', serviceId: 'db', nodeId: 'a', spec: other }),
        task({ id: 'o2', serviceId: 'db', nodeId: 'a', spec: other }),
        task({ id: 'o3', serviceId: 'db', nodeId: 'b', spec: other }),
      ];
      const { assignments } = scheduleTasks(nodes, busy, pendingTasks(1, serviceSpec()));
      expect([...assignments.values()]).toEqual(['c']);
      const two = scheduleTasks(nodes, busy, pendingTasks(2, serviceSpec()));
      expect(countByNode(two.assignments)).toEqual({ b: 1, c: 1 });
    });

    it('breaks ties by node ID and ignores the order of its inputs', () => {
      const spec = serviceSpec();
      const nodes = ['n3', 'n1', 'n2'].map((id) => node(id));
      const tasks = pendingTasks(4, spec);
      const first = scheduleTasks(nodes, [], tasks);
      expect(first.assignments.get('t00001')).toBe('n1');
      expect(first.assignments.get('t00002')).toBe('n2');
      expect(first.assignments.get('t00003')).toBe('n3');
      const again = scheduleTasks([...nodes].reverse(), [], [...tasks].reverse());
      expect([...again.assignments].sort()).toEqual([...first.assignments].sort());
    });

    it('does not count tasks being shut down or finished', () => {
      const spec = serviceSpec();
      const nodes = [node('a'), node('b')];
      const tasks = [
        task({ id: 'x1', nodeId: 'a', spec, desired: 'TASK_STATE_SHUTDOWN' }),
        task({ id: 'x2', nodeId: 'a', spec, state: 'TASK_STATE_FAILED' }),
        task({ id: 'x3', nodeId: 'b', spec }),
      ];
      const { assignments } = scheduleTasks(nodes, tasks, pendingTasks(1, spec));
      expect([...assignments.values()]).toEqual(['a']);
    });
  });

  describe('node availability', () => {
    it('excludes drained, paused, down and disconnected nodes', () => {
      const nodes = [
        node('drained', { availability: 'drain' }),
        node('paused', { availability: 'pause' }),
        node('down', { state: 'down' }),
        node('gone', { state: 'disconnected' }),
        node('ok'),
      ];
      const { assignments } = scheduleTasks(nodes, [], pendingTasks(3, serviceSpec()));
      expect(countByNode(assignments)).toEqual({ ok: 3 });
    });

    it('explains a task that no node can take', () => {
      const nodes = [node('a', { availability: 'drain' }), node('b', { state: 'down' })];
      const { assignments, unschedulable } = scheduleTasks(nodes, [], pendingTasks(2, serviceSpec()));
      expect(assignments.size).toBe(0);
      expect(unschedulable.get('t00001')).toBe('no suitable node (2 nodes not available for new tasks)');
      expect(unschedulable.get('t00002')).toBe('no suitable node (2 nodes not available for new tasks)');
    });

    it('says only "no suitable node" when the cluster has no node', () => {
      expect(scheduleTasks([], [], pendingTasks(1, serviceSpec())).unschedulable.get('t00001')).toBe(
        'no suitable node',
      );
    });
  });

  describe('constraints', () => {
    const nodes = [
      node('m1', { role: 'manager', hostname: 'alpha', labels: { zone: 'east', disk: 'ssd' } }),
      node('w1', { hostname: 'beta', labels: { zone: 'east' }, engineLabels: { storage: 'fast' } }),
      node('w2', { hostname: 'gamma', labels: { zone: 'West' }, architecture: 'aarch64' }),
    ];
    const placedOn = (constraints: string[], count = 3) =>
      Object.keys(
        countByNode(scheduleTasks(nodes, [], pendingTasks(count, serviceSpec({ constraints }))).assignments),
      ).sort();

    it.each<[string[], string[]]>([
      [['node.role==manager'], ['m1']],
      [['node.role!=manager'], ['w1', 'w2']],
      [['node.hostname==beta'], ['w1']],
      [['node.id!=w1'], ['m1', 'w2']],
      [['node.labels.zone==east'], ['m1', 'w1']],
      [['node.labels.zone==west'], ['w2']],
      [['node.labels.disk!=ssd'], ['w1', 'w2']],
      [['node.labels.zone==east', 'node.role==worker'], ['w1']],
      [['engine.labels.storage==fast'], ['w1']],
      [['node.platform.arch==arm64'], ['w2']],
      [['node.platform.arch==amd64'], ['m1', 'w1']],
      [['node.platform.os==linux'], ['m1', 'w1', 'w2']],
    ])('places tasks with %j only on %j', (constraints, expected) => {
      expect(placedOn(constraints)).toEqual(expected);
    });

    it('keeps a task pending when no node satisfies the constraints, saying so', () => {
      const { unschedulable } = scheduleTasks(
        nodes,
        [],
        pendingTasks(1, serviceSpec({ constraints: ['node.labels.zone==north'] })),
      );
      expect(unschedulable.get('t00001')).toBe(
        'no suitable node (scheduling constraints not satisfied on 3 nodes)',
      );
    });

    it('refuses to place a task whose stored constraint cannot be parsed', () => {
      const { unschedulable } = scheduleTasks(
        nodes,
        [],
        pendingTasks(1, serviceSpec({ constraints: ['zone=east'] })),
      );
      expect(unschedulable.get('t00001')).toMatch(
        /^placement\.constraints\[0\]: invalid constraint "zone=east"/,
      );
    });
  });

  describe('resources', () => {
    it('places a task only where its reservations fit what is left', () => {
      const spec = serviceSpec({ reserveCpus: 2, reserveMemoryBytes: 2 * GiB });
      const nodes = [node('small', { cpus: 1 }), node('full', { cpus: 4 }), node('big', { cpus: 4 })];
      const used = [
        task({ id: 'u', serviceId: 'other', nodeId: 'full', spec: serviceSpec({ reserveCpus: 3 }) }),
      ];
      const { assignments } = scheduleTasks(nodes, used, pendingTasks(1, spec));
      expect([...assignments.values()]).toEqual(['big']);
    });

    it('uses up a node within one batch and leaves the rest pending with the reason', () => {
      const spec = serviceSpec({ reserveMemoryBytes: 3 * GiB });
      const nodes = [node('a', { memoryBytes: 8 * GiB }), node('b', { memoryBytes: 4 * GiB })];
      const { assignments, unschedulable } = scheduleTasks(nodes, [], pendingTasks(5, spec));
      expect(countByNode(assignments)).toEqual({ a: 2, b: 1 });
      expect([...unschedulable.keys()]).toEqual(['t00004', 't00005']);
      expect(unschedulable.get('t00004')).toBe('no suitable node (insufficient resources on 2 nodes)');
    });

    it('frees the resources of terminal tasks', () => {
      const spec = serviceSpec({ reserveCpus: 4 });
      const done = task({ id: 'd', nodeId: 'a', spec, state: 'TASK_STATE_COMPLETE' });
      expect(scheduleTasks([node('a')], [done], pendingTasks(1, spec)).assignments.get('t00001')).toBe('a');
    });

    it('still counts a task being shut down until it has stopped', () => {
      const spec = serviceSpec({ reserveCpus: 4 });
      const stopping = task({ id: 's', nodeId: 'a', spec, desired: 'TASK_STATE_SHUTDOWN' });
      expect(scheduleTasks([node('a')], [stopping], pendingTasks(1, spec)).assignments.size).toBe(0);
    });

    it('lists the reasons most eliminations first', () => {
      const spec = serviceSpec({ reserveCpus: 8, constraints: ['node.labels.zone==east'] });
      const nodes = [
        node('a', { labels: { zone: 'east' }, cpus: 4 }),
        node('b', { labels: { zone: 'west' }, cpus: 16 }),
        node('c', { labels: { zone: 'west' }, cpus: 16 }),
        node('d', { cpus: 16 }),
      ];
      expect(scheduleTasks(nodes, [], pendingTasks(1, spec)).unschedulable.get('t00001')).toBe(
        'no suitable node (scheduling constraints not satisfied on 3 nodes; insufficient resources on 1 node)',
      );
    });
  });

  describe('max replicas per node', () => {
    it('puts at most that many tasks of the service on a node', () => {
      const spec = serviceSpec({ maxReplicasPerNode: 2 });
      const nodes = [node('a'), node('b')];
      const existing = [task({ id: 'e1', nodeId: 'a', spec }), task({ id: 'e2', nodeId: 'a', spec })];
      const { assignments, unschedulable } = scheduleTasks(nodes, existing, pendingTasks(3, spec));
      expect(countByNode(assignments)).toEqual({ b: 2 });
      expect(unschedulable.get('t00003')).toBe('no suitable node (max replicas per node reached on 2 nodes)');
    });
  });

  describe('host-mode ports', () => {
    it('never puts two tasks publishing the same host port on one node', () => {
      const web = serviceSpec({ hostPorts: [8080] });
      const nodes = [node('a'), node('b')];
      const other = task({
        id: 'o',
        serviceId: 'api',
        nodeId: 'a',
        spec: serviceSpec({ hostPorts: [8080] }),
      });
      const { assignments, unschedulable } = scheduleTasks(nodes, [other], pendingTasks(2, web));
      expect(countByNode(assignments)).toEqual({ b: 1 });
      expect(unschedulable.get('t00002')).toBe('no suitable node (host-mode port already in use on 2 nodes)');
    });

    it('lets different ports share a node', () => {
      const nodes = [node('a')];
      const other = task({
        id: 'o',
        serviceId: 'api',
        nodeId: 'a',
        spec: serviceSpec({ hostPorts: [9090] }),
      });
      expect(
        scheduleTasks(nodes, [other], pendingTasks(1, serviceSpec({ hostPorts: [8080] }))).assignments.size,
      ).toBe(1);
    });
  });

  describe('tasks bound to a node (global services)', () => {
    it('assigns a task to its node when the node passes the filters, and explains when not', () => {
      const spec = serviceSpec({ global: true, reserveCpus: 2 });
      const nodes = [node('a'), node('b', { cpus: 1 }), node('c', { availability: 'pause' })];
      const tasks = ['a', 'b', 'c', 'x'].map((id) =>
        task({ id: `g-${id}`, nodeId: id, spec, state: 'TASK_STATE_PENDING' }),
      );
      const { assignments, unschedulable } = scheduleTasks(nodes, [], tasks);
      expect([...assignments]).toEqual([['g-a', 'a']]);
      expect(unschedulable.get('g-b')).toBe('no suitable node (insufficient resources on 1 node)');
      expect(unschedulable.get('g-c')).toBe('no suitable node (1 node not available for new tasks)');
      expect(unschedulable.get('g-x')).toBe('no suitable node (node x is not in the cluster)');
    });
  });

  it('does not count a global task bound to a node until it is assigned', () => {
    const spec = serviceSpec({ global: true, reserveCpus: 4 });
    const waiting = task({ id: 'w', nodeId: 'a', spec, state: 'TASK_STATE_PENDING' });
    const scheduler = new Scheduler();
    scheduler.setNode(node('a'));
    scheduler.setTask(waiting);
    expect(scheduler.nodeInfo('a')?.availableNanoCpus).toBe(4e9);
    expect(scheduler.schedule([waiting]).assignments.get('w')).toBe('a');
    expect(scheduler.nodeInfo('a')?.availableNanoCpus).toBe(0);
  });

  describe('incremental view', () => {
    it('remembers its own placements for the next batch', () => {
      const scheduler = new Scheduler();
      scheduler.setNode(node('a'));
      scheduler.setNode(node('b'));
      const spec = serviceSpec();
      scheduler.schedule(pendingTasks(1, spec, 'svc', 'first'));
      const next = scheduler.schedule(pendingTasks(1, spec, 'svc', 'second'));
      expect([...next.assignments.values()]).toEqual(['b']);
      expect(scheduler.nodeInfo('a')?.activeTasksOf('svc')).toBe(1);
    });

    it('follows task updates and node removal', () => {
      const scheduler = new Scheduler();
      const spec = serviceSpec({ reserveCpus: 4 });
      scheduler.setNode(node('a'));
      scheduler.setTask(task({ id: 'r', nodeId: 'a', spec }));
      expect(scheduler.nodeInfo('a')?.availableNanoCpus).toBe(0);
      scheduler.setTask(task({ id: 'r', nodeId: 'a', spec, state: 'TASK_STATE_FAILED' }));
      expect(scheduler.nodeInfo('a')?.availableNanoCpus).toBe(4e9);
      scheduler.removeNode('a');
      expect(scheduler.schedule(pendingTasks(1, spec)).unschedulable.get('t00001')).toBe('no suitable node');
    });

    it('keeps its placement when a stale version of the task arrives, and takes it back on request', () => {
      const scheduler = new Scheduler();
      const spec = serviceSpec({ reserveCpus: 4 });
      scheduler.setNode(node('a'));
      const pending = {
        ...task({ id: 'p', spec }),
        meta: { id: 'p', version: 7, createdAtMs: 0, updatedAtMs: 0 },
      };
      expect(scheduler.schedule([pending]).assignments.get('p')).toBe('a');
      scheduler.setTask(pending); // an event from before the assignment
      expect(scheduler.nodeInfo('a')?.availableNanoCpus).toBe(0);

      const assigned = {
        ...pending,
        nodeId: 'a',
        meta: { ...pending.meta, version: 8 },
        status: { ...pending.status!, state: 'TASK_STATE_ASSIGNED' as const },
      };
      scheduler.setTask(assigned); // the assignment, confirmed
      expect(scheduler.nodeInfo('a')?.availableNanoCpus).toBe(0);
      scheduler.revertPlacement('p'); // confirmed: nothing to take back
      expect(scheduler.nodeInfo('a')?.availableNanoCpus).toBe(0);

      const other = {
        ...task({ id: 'q', spec }),
        meta: { id: 'q', version: 9, createdAtMs: 0, updatedAtMs: 0 },
      };
      scheduler.setTask({
        ...assigned,
        status: { ...assigned.status!, state: 'TASK_STATE_COMPLETE' as const },
        meta: { ...assigned.meta, version: 10 },
      });
      expect(scheduler.schedule([other]).assignments.get('q')).toBe('a');
      scheduler.revertPlacement('q'); // its write failed
      expect(scheduler.nodeInfo('a')?.availableNanoCpus).toBe(4e9);
    });

    it('skips tasks that are not desired to run', () => {
      const scheduler = new Scheduler();
      scheduler.setNode(node('a'));
      const result = scheduler.schedule([task({ id: 'x', desired: 'TASK_STATE_SHUTDOWN' })]);
      expect(result.assignments.size + result.unschedulable.size).toBe(0);
    });
  });
});
