// The leader's loops together over an in-process store: replicated services from creation to removal.

import { TaskState } from '../../../src/manager/orchestrator';
import { live, stateOf, TestLeader } from './loop-harness';

describe('leader loops: replicated services', () => {
  let leader: TestLeader;
  beforeEach(() => {
    leader = new TestLeader();
  });
  afterEach(async () => {
    await leader.close();
  });

  it('creates 4 replicas over 2 ready nodes and assigns them 2 and 2', async () => {
    await leader.addNode('n1');
    await leader.addNode('n2');
    const svc = await leader.createService({ name: 'web', replicas: 4 });
    await leader.settle();

    const tasks = leader.tasksOf(svc.meta!.id);
    expect(tasks).toHaveLength(4);
    expect(tasks.map(stateOf)).toEqual(Array(4).fill(TaskState.Assigned));
    expect(tasks.map((t) => t.slot).sort()).toEqual([1, 2, 3, 4]);
    expect(leader.liveByNode(svc.meta!.id)).toEqual({ n1: 2, n2: 2 });
    expect(tasks.every((t) => t.status!.message === 'scheduler assigned task to node')).toBe(true);
  });

  it('scales to 0, then to 6, keeping the replicas spread', async () => {
    await leader.addNode('n1');
    await leader.addNode('n2');
    await leader.addNode('n3');
    const svc = await leader.createService({ name: 'web', replicas: 3 });
    await leader.converge();
    expect(live(leader.tasksOf(svc.meta!.id)).map(stateOf)).toEqual(Array(3).fill(TaskState.Running));

    await leader.scale(svc.meta!.id, 0);
    await leader.converge();
    expect(live(leader.tasksOf(svc.meta!.id))).toHaveLength(0);
    // Slots removed by scaling down take their history with them once their tasks have stopped.
    expect(leader.tasksOf(svc.meta!.id)).toEqual([]);

    await leader.scale(svc.meta!.id, 6);
    await leader.converge();
    const running = live(leader.tasksOf(svc.meta!.id));
    expect(running.map(stateOf)).toEqual(Array(6).fill(TaskState.Running));
    expect(running.map((t) => t.slot).sort()).toEqual([1, 2, 3, 4, 5, 6]);
    expect(leader.liveByNode(svc.meta!.id)).toEqual({ n1: 2, n2: 2, n3: 2 });
  });

  it('scales down from the busiest nodes first', async () => {
    await leader.addNode('n1');
    await leader.addNode('n2');
    const svc = await leader.createService({ name: 'web', replicas: 4 });
    await leader.converge();
    await leader.addNode('n3');
    await leader.scale(svc.meta!.id, 5);
    await leader.converge();
    expect(leader.liveByNode(svc.meta!.id)).toEqual({ n1: 2, n2: 2, n3: 1 });

    await leader.scale(svc.meta!.id, 3);
    await leader.converge();
    expect(leader.liveByNode(svc.meta!.id)).toEqual({ n1: 1, n2: 1, n3: 1 });
  });

  it('leaves tasks pending with the reason when no node satisfies the constraints', async () => {
    await leader.addNode('n1', { labels: { zone: 'west' } });
    await leader.addNode('n2', { labels: { zone: 'west' } });
    const svc = await leader.createService({
      name: 'web',
      replicas: 2,
      constraints: ['node.labels.zone==east'],
    });
    await leader.settle();

    const tasks = leader.tasksOf(svc.meta!.id);
    expect(tasks.map(stateOf)).toEqual([TaskState.Pending, TaskState.Pending]);
    expect(tasks[0]!.status!.err).toBe('no suitable node (scheduling constraints not satisfied on 2 nodes)');
    expect(tasks.every((t) => t.nodeId === '')).toBe(true);

    // A node that satisfies them arrives: the tasks are placed there.
    await leader.addNode('n3', { labels: { zone: 'east' } });
    await leader.settle();
    expect(leader.tasksOf(svc.meta!.id).map(stateOf)).toEqual([TaskState.Assigned, TaskState.Assigned]);
    expect(leader.liveByNode(svc.meta!.id)).toEqual({ n3: 2 });
  });

  it('leaves tasks pending when the cluster has no node, and places them once one is ready', async () => {
    const svc = await leader.createService({ name: 'web', replicas: 2 });
    await leader.settle();
    expect(leader.tasksOf(svc.meta!.id).map((t) => t.status!.err)).toEqual([
      'no suitable node',
      'no suitable node',
    ]);
    await leader.addNode('n1');
    await leader.settle();
    expect(leader.liveByNode(svc.meta!.id)).toEqual({ n1: 2 });
  });

  it('shuts down every task of a removed service and then deletes them', async () => {
    await leader.addNode('n1');
    await leader.addNode('n2');
    const svc = await leader.createService({ name: 'web', replicas: 4 });
    await leader.converge();
    expect(leader.tasksOf(svc.meta!.id)).toHaveLength(4);

    await leader.removeService(svc.meta!.id);
    await leader.settle();
    // The agents have not stopped them yet: they are shut down, not deleted.
    const stopping = leader.tasksOf(svc.meta!.id);
    expect(stopping.map((t) => t.desiredState)).toEqual(Array(4).fill(TaskState.Shutdown));

    await leader.converge();
    expect(leader.tasksOf(svc.meta!.id)).toEqual([]);
  });

  it('removes a service whose tasks never left pending at once', async () => {
    const svc = await leader.createService({ name: 'web', replicas: 3 });
    await leader.settle();
    await leader.removeService(svc.meta!.id);
    await leader.settle();
    expect(leader.tasksOf(svc.meta!.id)).toEqual([]);
  });
});
