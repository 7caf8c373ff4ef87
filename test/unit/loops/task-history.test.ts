// The task reaper and the orchestrator keeping task history bounded.

import { TaskState } from '../../../src/manager/orchestrator';
import { live, stateOf, TestLeader } from './loop-harness';

describe('leader loops: task history', () => {
  let leader: TestLeader;
  beforeEach(async () => {
    leader = new TestLeader();
    await leader.addNode('n1');
  });
  afterEach(async () => {
    await leader.close();
  });

  async function failRepeatedly(serviceId: string, times: number): Promise<void> {
    for (let i = 0; i < times; i++) {
      const [current] = live(leader.tasksOf(serviceId));
      await leader.report(current!.meta!.id, TaskState.Failed, 1);
      await leader.converge();
    }
  }

  it('keeps at most 5 finished tasks per slot by default, deleting the oldest', async () => {
    const svc = await leader.createService({ name: 'web', replicas: 2 });
    const id = svc.meta!.id;
    await leader.converge();
    const firstFailures: string[] = [];
    for (let i = 0; i < 8; i++) {
      const current = live(leader.tasksOf(id)).find((t) => t.slot === 1)!;
      if (i < 3) firstFailures.push(current.meta!.id);
      await leader.report(current.meta!.id, TaskState.Failed, 1);
      await leader.converge();
    }
    const slot1 = leader.tasksOf(id).filter((t) => t.slot === 1);
    expect(live(slot1).map(stateOf)).toEqual([TaskState.Running]);
    const history = slot1.filter((t) => t.desiredState !== TaskState.Running);
    expect(history).toHaveLength(5);
    expect(history.every((t) => stateOf(t) === TaskState.Failed)).toBe(true);
    // The three oldest failures are gone.
    for (const gone of firstFailures) expect(history.some((t) => t.meta!.id === gone)).toBe(false);
    // The other slot is untouched.
    expect(leader.tasksOf(id).filter((t) => t.slot === 2)).toHaveLength(1);
  });

  it("follows the cluster's task history limit when it changes", async () => {
    const svc = await leader.createService({ name: 'web', replicas: 1 });
    const id = svc.meta!.id;
    await leader.converge();
    await failRepeatedly(id, 4);
    expect(leader.tasksOf(id)).toHaveLength(5);

    await leader.setHistoryLimit(2);
    await leader.settle();
    expect(leader.tasksOf(id)).toHaveLength(3);
    expect(live(leader.tasksOf(id)).map(stateOf)).toEqual([TaskState.Running]);
  });

  it('deletes finished tasks left by a service removed while no leader ran', async () => {
    await leader.loops.stop();
    const svc = await leader.createService({ name: 'web', replicas: 1 });
    const id = svc.meta!.id;
    await leader.store.update((tx) =>
      tx.tasks.create({
        serviceId: id,
        slot: 1,
        desiredState: TaskState.Shutdown,
        status: { state: TaskState.Failed },
      }),
    );
    await leader.removeService(id);
    leader.start();
    await leader.settle();
    expect(leader.tasksOf(id)).toEqual([]);
  });
});
