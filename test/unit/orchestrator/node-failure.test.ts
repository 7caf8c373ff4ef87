import {
  DEFAULT_ORPHAN_AFTER_MS,
  nodeCondition,
  planNodeFailures,
  TaskState,
} from '../../../src/manager/orchestrator';
import { node, task } from '../scheduler/cluster-fixtures';

const NOW = 10 * DEFAULT_ORPHAN_AFTER_MS;

describe('node failure handling', () => {
  it('classifies nodes the way the reconcilers act on them', () => {
    expect(nodeCondition(node('a'))).toBe('available');
    expect(nodeCondition(node('a', { availability: 'pause' }))).toBe('paused');
    expect(nodeCondition(node('a', { availability: 'drain', state: 'down' }))).toBe('draining');
    expect(nodeCondition(node('a', { state: 'down' }))).toBe('down');
    expect(nodeCondition(node('a', { state: 'disconnected' }))).toBe('unsettled');
    expect(nodeCondition(undefined)).toBe('removed');
  });

  it('shuts down the live tasks of a down or drained node and names the slots to refill', () => {
    const nodes = [
      node('down', { state: 'down', lastHeartbeatMs: NOW - 60_000 }),
      node('drained', { availability: 'drain' }),
      node('ok'),
    ];
    const tasks = [
      task({ id: 'r1', serviceId: 'web', slot: 1, nodeId: 'down' }),
      task({ id: 'r2', serviceId: 'web', slot: 2, nodeId: 'drained' }),
      task({ id: 'r3', serviceId: 'web', slot: 3, nodeId: 'ok' }),
      task({ id: 'g1', serviceId: 'agent', slot: 0, nodeId: 'down' }),
    ];
    const plan = planNodeFailures(nodes, tasks, { nowMs: NOW });
    expect(plan.update.map((t) => [t.meta!.id, t.desiredState, t.status?.state])).toEqual([
      ['r1', TaskState.Shutdown, TaskState.Running],
      ['r2', TaskState.Shutdown, TaskState.Running],
      ['g1', TaskState.Shutdown, TaskState.Running],
    ]);
    expect(plan.replaceSlots).toEqual(['web/1', 'web/2']);
    expect(plan.affectedServiceIds).toEqual(['agent', 'web']);
  });

  it('orphans the unfinished tasks of a node down for longer than the orphan delay', () => {
    const nodes = [node('long-gone', { state: 'down', lastHeartbeatMs: NOW - DEFAULT_ORPHAN_AFTER_MS })];
    const tasks = [
      task({ id: 'running', nodeId: 'long-gone', desired: 'TASK_STATE_SHUTDOWN' }),
      task({ id: 'done', nodeId: 'long-gone', desired: 'TASK_STATE_SHUTDOWN', state: 'TASK_STATE_COMPLETE' }),
    ];
    const plan = planNodeFailures(nodes, tasks, { nowMs: NOW });
    expect(plan.update.map((t) => [t.meta!.id, t.status?.state, t.status?.message])).toEqual([
      ['running', TaskState.Orphaned, 'node is down: task orphaned'],
    ]);
  });

  it('orphans at once the tasks of a node removed from the cluster', () => {
    const plan = planNodeFailures([], [task({ id: 't', slot: 4, nodeId: 'removed' })], { nowMs: NOW });
    expect(plan.update[0]).toMatchObject({
      desiredState: TaskState.Shutdown,
      status: { state: TaskState.Orphaned },
    });
    expect(plan.replaceSlots).toEqual(['svc/4']);
  });

  it('leaves paused and disconnected nodes alone', () => {
    const nodes = [node('p', { availability: 'pause' }), node('d', { state: 'disconnected' })];
    const plan = planNodeFailures(nodes, [task({ id: 'a', nodeId: 'p' }), task({ id: 'b', nodeId: 'd' })], {
      nowMs: NOW,
    });
    expect(plan.update).toEqual([]);
  });
});
