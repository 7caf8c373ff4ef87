// Rolling updates through the leader's loops: batches, delay, order, failure actions.

import type { ServiceSpec__Output } from '../../../src/api/gen/types/orch/objects/ServiceSpec';
import type { UpdateConfig__Output } from '../../../src/api/gen/types/orch/objects/UpdateConfig';
import { TaskState } from '../../../src/manager/orchestrator';
import type { Task } from '../../../src/store';
import { live, stateOf, TestLeader } from './loop-harness';

const imageOf = (t: Task) => t.spec!.container!.image;

describe('leader loops: rolling updates', () => {
  let leader: TestLeader;
  beforeEach(async () => {
    leader = new TestLeader();
    await leader.addNode('n1');
    await leader.addNode('n2');
  });
  afterEach(async () => {
    await leader.close();
  });

  async function service(replicas: number, update: Partial<UpdateConfig__Output> = {}, rollback = update) {
    const config = (c: Partial<UpdateConfig__Output>): UpdateConfig__Output => ({
      parallelism: 1,
      delayMs: 0,
      failureAction: 'UPDATE_FAILURE_ACTION_PAUSE',
      monitorMs: 0,
      maxFailureRatio: 0,
      order: 'UPDATE_ORDER_STOP_FIRST',
      ...c,
    });
    const svc = await leader.createService({
      name: 'web',
      replicas,
      spec: {
        updateConfig: config(update),
        rollbackConfig: config(rollback),
      } as Partial<ServiceSpec__Output>,
    });
    await leader.converge();
    return svc.meta!.id;
  }

  /** What `orch service update --image` does: a new spec, the old one kept for rollback. */
  async function setImage(id: string, image: string): Promise<void> {
    await leader.store.update((tx) => {
      const s = tx.services.get(id)!;
      tx.services.update({
        ...s,
        previousSpec: s.spec,
        spec: { ...s.spec!, container: { ...s.spec!.container!, image } },
      });
    });
  }

  /** One round: the loops act, then every agent moves its tasks one step. */
  async function step(): Promise<void> {
    await leader.settle();
    await leader.runAgents();
    await leader.settle();
  }

  it('replaces the tasks one at a time with the new image and records the update as completed', async () => {
    const id = await service(3);
    await setImage(id, 'web:2');
    let maxStarting = 0;
    for (let i = 0; i < 20; i++) {
      await leader.settle();
      const tasks = live(leader.tasksOf(id));
      maxStarting = Math.max(
        maxStarting,
        tasks.filter((t) => imageOf(t) === 'web:2' && stateOf(t) !== TaskState.Running).length,
      );
      if (
        tasks.length === 3 &&
        tasks.every((t) => imageOf(t) === 'web:2' && stateOf(t) === TaskState.Running)
      )
        break;
      await leader.runAgents();
    }
    expect(maxStarting).toBe(1);
    const tasks = leader.tasksOf(id);
    expect(live(tasks).map(imageOf)).toEqual(['web:2', 'web:2', 'web:2']);
    expect(
      live(tasks)
        .map((t) => t.slot)
        .sort(),
    ).toEqual([1, 2, 3]);
    expect(tasks.filter((t) => imageOf(t) === 'orch/busybox:latest').map(stateOf)).toEqual(
      Array(3).fill(TaskState.Shutdown),
    );
    expect(leader.service(id)!.updateStatus!.state).toBe('UPDATE_STATE_COMPLETED');
    expect(leader.service(id)!.updateStatus!.message).toBe('update completed');
  });

  it('waits the update delay between batches', async () => {
    const id = await service(4, { parallelism: 2, delayMs: 10_000 });
    await setImage(id, 'web:2');
    await step();
    await step();
    const updated = () => live(leader.tasksOf(id)).filter((t) => imageOf(t) === 'web:2').length;
    expect(updated()).toBe(2);
    await leader.advance(5_000);
    await step();
    expect(updated()).toBe(2);
    await leader.advance(5_500);
    await leader.converge();
    expect(updated()).toBe(4);
  });

  it('starts the replacement before stopping the old task with order start-first', async () => {
    const id = await service(1, { order: 'UPDATE_ORDER_START_FIRST' });
    const [old] = live(leader.tasksOf(id));
    await setImage(id, 'web:2');
    await leader.settle();
    const both = live(leader.tasksOf(id));
    expect(both.map(imageOf).sort()).toEqual(['orch/busybox:latest', 'web:2']);
    expect(both.find((t) => t.meta!.id === old!.meta!.id)!.desiredState).toBe(TaskState.Running);
    await leader.converge();
    expect(live(leader.tasksOf(id)).map(imageOf)).toEqual(['web:2']);
    expect(leader.tasks((t) => t.meta!.id === old!.meta!.id)[0]!.desiredState).toBe(TaskState.Shutdown);
  });

  it('pauses when a replacement fails, and resumes with the next spec', async () => {
    const id = await service(3);
    await setImage(id, 'web:broken');
    await leader.settle();
    const [replacement] = live(leader.tasksOf(id)).filter((t) => imageOf(t) === 'web:broken');
    await leader.runAgents();
    await leader.report(replacement!.meta!.id, TaskState.Failed, 1);
    await leader.converge();
    const status = leader.service(id)!.updateStatus!;
    expect(status.state).toBe('UPDATE_STATE_PAUSED');
    expect(status.message).toBe(
      `update paused due to failure or early termination of task ${replacement!.meta!.id}`,
    );
    // The other two slots still run the old image.
    expect(live(leader.tasksOf(id)).filter((t) => imageOf(t) === 'orch/busybox:latest')).toHaveLength(2);

    await setImage(id, 'web:3');
    await leader.converge();
    expect(live(leader.tasksOf(id)).map(imageOf)).toEqual(['web:3', 'web:3', 'web:3']);
    expect(leader.service(id)!.updateStatus!.state).toBe('UPDATE_STATE_COMPLETED');
  });

  it('rolls back to the previous spec when the failure action is rollback', async () => {
    const id = await service(2, { failureAction: 'UPDATE_FAILURE_ACTION_ROLLBACK' });
    await setImage(id, 'web:broken');
    await leader.settle();
    const [replacement] = live(leader.tasksOf(id)).filter((t) => imageOf(t) === 'web:broken');
    await leader.runAgents();
    await leader.report(replacement!.meta!.id, TaskState.Failed, 1);
    await leader.converge();
    const svc = leader.service(id)!;
    expect(svc.spec!.container!.image).toBe('orch/busybox:latest');
    expect(svc.previousSpec!.container!.image).toBe('web:broken');
    expect(svc.updateStatus!.state).toBe('UPDATE_STATE_ROLLBACK_COMPLETED');
    expect(live(leader.tasksOf(id)).map(imageOf)).toEqual(['orch/busybox:latest', 'orch/busybox:latest']);
  });

  it('does not replace tasks when only the replica count or the service labels change', async () => {
    const id = await service(2);
    const before = live(leader.tasksOf(id)).map((t) => t.meta!.id);
    await leader.updateService(id, (spec) => ({ ...spec, labels: { team: 'a' } }));
    await leader.scale(id, 3);
    await leader.converge();
    const after = live(leader.tasksOf(id)).map((t) => t.meta!.id);
    expect(after).toHaveLength(3);
    expect(after).toEqual(expect.arrayContaining(before));
    expect(leader.service(id)!.updateStatus).toBeNull();
  });

  it('redeploys every task when the force-update counter is raised', async () => {
    const id = await service(2);
    const before = live(leader.tasksOf(id)).map((t) => t.meta!.id);
    await leader.updateService(id, (spec) => ({ ...spec, forceUpdate: spec.forceUpdate + 1 }));
    await leader.converge();
    const after = live(leader.tasksOf(id));
    expect(after).toHaveLength(2);
    expect(after.some((t) => before.includes(t.meta!.id))).toBe(false);
    expect(leader.service(id)!.updateStatus!.state).toBe('UPDATE_STATE_COMPLETED');
  });

  it('updates a global service node by node', async () => {
    const svc = await leader.createService({ name: 'agent', global: true });
    const id = svc.meta!.id;
    await leader.converge();
    await setImage(id, 'agent:2');
    await leader.converge();
    expect(
      live(leader.tasksOf(id))
        .map((t) => [t.nodeId, imageOf(t)])
        .sort(),
    ).toEqual([
      ['n1', 'agent:2'],
      ['n2', 'agent:2'],
    ]);
  });
});
