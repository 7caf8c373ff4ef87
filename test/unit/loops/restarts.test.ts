// The leader's loops replacing tasks that stopped, per the service's restart policy.

import { TaskState } from '../../../src/manager/orchestrator';
import { live, stateOf, TestLeader } from './loop-harness';

describe('leader loops: restarts', () => {
  let leader: TestLeader;
  beforeEach(async () => {
    leader = new TestLeader();
    await leader.addNode('n1');
    await leader.addNode('n2');
  });
  afterEach(async () => {
    await leader.close();
  });

  async function oneRunningTask(restart: Parameters<TestLeader['createService']>[0]['restart']) {
    const svc = await leader.createService({ name: 'web', replicas: 1, restart });
    await leader.converge();
    const [task] = live(leader.tasksOf(svc.meta!.id));
    expect(stateOf(task!)).toBe(TaskState.Running);
    return { serviceId: svc.meta!.id, taskId: task!.meta!.id };
  }

  it('replaces a failed task after the restart delay, keeping it in the slot history', async () => {
    const { serviceId, taskId } = await oneRunningTask({ condition: 'any', delayMs: 5_000 });
    await leader.report(taskId, TaskState.Failed, 1);
    await leader.advance(4_000);
    // Within the delay the failed task is still the slot's task, and nothing replaced it.
    expect(leader.tasksOf(serviceId).map((t) => t.meta!.id)).toEqual([taskId]);

    await leader.advance(1_500);
    await leader.converge();
    const tasks = leader.tasksOf(serviceId);
    expect(tasks).toHaveLength(2);
    const old = tasks.find((t) => t.meta!.id === taskId)!;
    const replacement = tasks.find((t) => t.meta!.id !== taskId)!;
    expect(old.desiredState).toBe(TaskState.Shutdown);
    expect(stateOf(old)).toBe(TaskState.Failed);
    expect(replacement.slot).toBe(old.slot);
    expect(stateOf(replacement)).toBe(TaskState.Running);
  });

  it('does not restart with condition none: the failed task stays', async () => {
    const { serviceId, taskId } = await oneRunningTask({ condition: 'none' });
    await leader.report(taskId, TaskState.Failed, 1);
    await leader.advance(60_000);
    await leader.converge();
    const tasks = leader.tasksOf(serviceId);
    expect(tasks).toHaveLength(1);
    expect(tasks[0]!.desiredState).toBe(TaskState.Running);
    expect(stateOf(tasks[0]!)).toBe(TaskState.Failed);
  });

  it('restarts on failure only with condition on-failure', async () => {
    const first = await oneRunningTask({ condition: 'on-failure' });
    await leader.report(first.taskId, TaskState.Complete, 0);
    await leader.advance(10_000);
    expect(leader.tasksOf(first.serviceId)).toHaveLength(1);

    const svc = await leader.createService({
      name: 'api',
      replicas: 1,
      restart: { condition: 'on-failure' },
    });
    await leader.converge();
    const [task] = leader.tasksOf(svc.meta!.id);
    await leader.report(task!.meta!.id, TaskState.Failed, 2);
    await leader.converge();
    const tasks = leader.tasksOf(svc.meta!.id);
    expect(tasks).toHaveLength(2);
    expect(live(tasks).map(stateOf)).toEqual([TaskState.Running]);
  });

  it('stops restarting a slot after max attempts within the window', async () => {
    const { serviceId } = await oneRunningTask({
      condition: 'any',
      delayMs: 1_000,
      maxAttempts: 2,
      windowMs: 60_000,
    });
    for (let attempt = 0; attempt < 3; attempt++) {
      const [current] = live(leader.tasksOf(serviceId));
      await leader.report(current!.meta!.id, TaskState.Failed, 1);
      await leader.advance(1_500);
      await leader.converge();
    }
    const tasks = leader.tasksOf(serviceId);
    // The first task and two restarts; the third failure is final and stays the slot's task.
    expect(tasks).toHaveLength(3);
    const current = live(tasks);
    expect(current).toHaveLength(1);
    expect(stateOf(current[0]!)).toBe(TaskState.Failed);

    // A service update starts the count afresh, as in Swarm.
    await leader.updateService(serviceId, (spec) => ({ ...spec, labels: { rev: '2' } }));
    await leader.advance(1_500);
    await leader.converge();
    expect(live(leader.tasksOf(serviceId)).map(stateOf)).toEqual([TaskState.Running]);
  });

  it('cancels a pending delayed restart when stopped', async () => {
    const { serviceId, taskId } = await oneRunningTask({ condition: 'any', delayMs: 5_000 });
    await leader.report(taskId, TaskState.Failed, 1);
    await leader.settle();
    expect(leader.clock.pendingTimers).toBeGreaterThan(0);
    await leader.loops.stop();
    expect(leader.clock.pendingTimers).toBe(0);
    expect(leader.tasksOf(serviceId)).toHaveLength(1);
  });
});
