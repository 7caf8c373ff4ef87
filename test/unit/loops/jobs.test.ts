// Jobs through the leader's loops: tasks run to completion and are not restarted once complete.

import { TaskState } from '../../../src/manager/orchestrator';
import { live, stateOf, TestLeader } from './loop-harness';

describe('leader loops: jobs', () => {
  let leader: TestLeader;
  beforeEach(async () => {
    leader = new TestLeader();
    await leader.addNode('n1');
    await leader.addNode('n2');
  });
  afterEach(async () => {
    await leader.close();
  });

  it('runs a replicated job to its total completions, at most max-concurrent at a time', async () => {
    const svc = await leader.createService({
      name: 'batch',
      spec: { mode: 'replicatedJob', replicatedJob: { maxConcurrent: 2, totalCompletions: 5 } } as never,
    });
    const id = svc.meta!.id;
    for (let round = 0; round < 10; round++) {
      await leader.converge();
      const running = live(leader.tasksOf(id)).filter((t) => stateOf(t) === TaskState.Running);
      expect(running.length).toBeLessThanOrEqual(2);
      if (running.length === 0) break;
      for (const task of running) await leader.report(task.meta!.id, TaskState.Complete, 0);
    }
    const tasks = leader.tasksOf(id);
    expect(tasks.filter((t) => stateOf(t) === TaskState.Complete)).toHaveLength(5);
    expect(tasks.filter((t) => stateOf(t) !== TaskState.Complete)).toEqual([]);
  });

  it('runs a global job once on every node, and on a node that joins later', async () => {
    const svc = await leader.createService({
      name: 'once',
      spec: { mode: 'globalJob', globalJob: {} } as never,
    });
    const id = svc.meta!.id;
    await leader.converge();
    for (const task of live(leader.tasksOf(id))) await leader.report(task.meta!.id, TaskState.Complete, 0);
    await leader.converge();
    expect(leader.tasksOf(id).map(stateOf)).toEqual([TaskState.Complete, TaskState.Complete]);

    await leader.addNode('n3');
    await leader.converge();
    const onN3 = leader.tasksOf(id).filter((t) => t.nodeId === 'n3');
    expect(onN3.map(stateOf)).toEqual([TaskState.Running]);
    expect(leader.tasksOf(id)).toHaveLength(3);
  });
});
