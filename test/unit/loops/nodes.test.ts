// The leader's loops following nodes: global services, nodes going down, drained, removed.

import { TaskState } from '../../../src/manager/orchestrator';
import { flush, live, stateOf, TestLeader } from './loop-harness';

describe('leader loops: nodes', () => {
  let leader: TestLeader;
  beforeEach(() => {
    leader = new TestLeader({ orphanAfterMs: 60_000 });
  });
  afterEach(async () => {
    await leader.close();
  });

  it('runs one task of a global service per eligible node and follows nodes added, drained and removed', async () => {
    await leader.addNode('n1', { labels: { tier: 'edge' } });
    await leader.addNode('n2', { labels: { tier: 'edge' } });
    await leader.addNode('n3', { labels: { tier: 'core' } });
    const svc = await leader.createService({
      name: 'agent',
      global: true,
      constraints: ['node.labels.tier==edge'],
    });
    const id = svc.meta!.id;
    await leader.converge();
    expect(leader.liveByNode(id)).toEqual({ n1: 1, n2: 1 });
    expect(live(leader.tasksOf(id)).map(stateOf)).toEqual([TaskState.Running, TaskState.Running]);

    await leader.addNode('n4', { labels: { tier: 'edge' } });
    await leader.converge();
    expect(leader.liveByNode(id)).toEqual({ n1: 1, n2: 1, n4: 1 });

    await leader.setAvailability('n1', 'drain');
    await leader.converge();
    expect(leader.liveByNode(id)).toEqual({ n2: 1, n4: 1 });
    const drained = leader.tasksOf(id).find((t) => t.nodeId === 'n1')!;
    expect(stateOf(drained)).toBe(TaskState.Shutdown);

    await leader.removeNode('n2');
    await leader.converge();
    expect(leader.liveByNode(id)).toEqual({ n4: 1 });

    await leader.setAvailability('n1', 'active');
    await leader.converge();
    expect(leader.liveByNode(id)).toEqual({ n1: 1, n4: 1 });
  });

  it('replaces the tasks of a node marked down on the other nodes', async () => {
    await leader.addNode('n1');
    await leader.addNode('n2');
    await leader.addNode('n3');
    const svc = await leader.createService({ name: 'web', replicas: 6 });
    const id = svc.meta!.id;
    await leader.converge();
    expect(leader.liveByNode(id)).toEqual({ n1: 2, n2: 2, n3: 2 });
    const onN1 = live(leader.tasksOf(id)).filter((t) => t.nodeId === 'n1');

    const downAtMs = leader.clock.now();
    await leader.setNodeState('n1', 'down');
    await leader.settle();
    // Replacements are placed within a few debounce periods of the leader's clock, so a dead
    // worker's tasks come back within the dispatcher's 3 heartbeat periods plus that.
    expect(leader.liveByNode(id)).toEqual({ n2: 3, n3: 3 });
    expect(leader.clock.now() - downAtMs).toBeLessThanOrEqual(500);
    await leader.converge();
    expect(leader.liveByNode(id)).toEqual({ n2: 3, n3: 3 });
    expect(live(leader.tasksOf(id)).map(stateOf)).toEqual(Array(6).fill(TaskState.Running));
    // The old tasks are shut down (their agent cannot confirm) and their slots refilled.
    for (const old of onN1) {
      const now = leader.tasks((t) => t.meta!.id === old.meta!.id)[0]!;
      expect(now.desiredState).toBe(TaskState.Shutdown);
      expect(stateOf(now)).toBe(TaskState.Running);
      expect(live(leader.tasksOf(id)).some((t) => t.slot === old.slot)).toBe(true);
    }

    // After the orphan delay, what the down node never reported is declared orphaned.
    await leader.advance(61_000);
    for (const old of onN1) {
      const now = leader.tasks((t) => t.meta!.id === old.meta!.id)[0]!;
      expect(stateOf(now)).toBe(TaskState.Orphaned);
    }
  });

  it('moves tasks off a drained node', async () => {
    await leader.addNode('n1');
    await leader.addNode('n2');
    const svc = await leader.createService({ name: 'web', replicas: 4 });
    const id = svc.meta!.id;
    await leader.converge();
    await leader.setAvailability('n2', 'drain');
    await leader.converge();
    expect(leader.liveByNode(id)).toEqual({ n1: 4 });
    expect(
      leader
        .tasksOf(id)
        .filter((t) => t.nodeId === 'n2')
        .map(stateOf),
    ).toEqual([TaskState.Shutdown, TaskState.Shutdown]);
  });

  it('keeps the tasks of a paused node but places new ones elsewhere', async () => {
    await leader.addNode('n1');
    await leader.addNode('n2');
    const svc = await leader.createService({ name: 'web', replicas: 2 });
    const id = svc.meta!.id;
    await leader.converge();
    await leader.setAvailability('n2', 'pause');
    await leader.scale(id, 4);
    await leader.converge();
    expect(leader.liveByNode(id)).toEqual({ n1: 3, n2: 1 });
  });

  it('orphans at once the unfinished tasks of a node removed from the cluster', async () => {
    await leader.addNode('n1');
    await leader.addNode('n2');
    const svc = await leader.createService({ name: 'web', replicas: 2 });
    const id = svc.meta!.id;
    await leader.converge();
    const onN2 = live(leader.tasksOf(id)).find((t) => t.nodeId === 'n2')!;
    await leader.removeNode('n2');
    await leader.converge();
    expect(leader.liveByNode(id)).toEqual({ n1: 2 });
    // It stays as history of its slot, which a task on n1 now fills.
    const old = leader.tasks((t) => t.meta!.id === onN2.meta!.id)[0]!;
    expect(stateOf(old)).toBe(TaskState.Orphaned);
    expect(old.desiredState).toBe(TaskState.Shutdown);
    expect(live(leader.tasksOf(id)).find((t) => t.slot === onN2.slot)!.nodeId).toBe('n1');
  });

  it('is not woken by node updates that change nothing it acts on, such as a heartbeat time', async () => {
    await leader.addNode('n1');
    await leader.createService({ name: 'web', replicas: 2 });
    await leader.converge();
    const applied = leader.store.appliedIndex;
    await leader.updateNode('n1', (n) => ({
      ...n,
      status: { ...n.status!, lastHeartbeatMs: leader.clock.now() },
    }));
    await flush();
    expect(leader.loops.isBusy).toBe(false);
    await leader.settle();
    expect(leader.store.appliedIndex).toBe(applied + 1);
  });

  it('counts the orphan delay from when the node was seen down when it has no heartbeat time', async () => {
    await leader.addNode('n1');
    await leader.addNode('n2');
    const svc = await leader.createService({ name: 'web', replicas: 2 });
    await leader.converge();
    const onN1 = live(leader.tasksOf(svc.meta!.id)).find((t) => t.nodeId === 'n1')!;
    await leader.updateNode('n1', (n) => ({
      ...n,
      status: { ...n.status!, state: 'NODE_STATE_DOWN', lastHeartbeatMs: 0 },
    }));
    await leader.converge();
    const shutDown = leader.tasks((t) => t.meta!.id === onN1.meta!.id)[0]!;
    expect(shutDown.desiredState).toBe(TaskState.Shutdown);
    expect(stateOf(shutDown)).toBe(TaskState.Running);
    await leader.advance(61_000);
    expect(stateOf(leader.tasks((t) => t.meta!.id === onN1.meta!.id)[0]!)).toBe(TaskState.Orphaned);
  });
});
