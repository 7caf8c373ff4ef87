import type { Node__Output } from '../../../src/api/gen/types/orch/objects/Node';
import type { Task__Output } from '../../../src/api/gen/types/orch/objects/Task';
import { type ReconcilePlan, reconcileGlobal, TaskState } from '../../../src/manager/orchestrator';
import { node, type SpecOptions, service, serviceSpec, task } from '../scheduler/cluster-fixtures';
import { reconcileContext } from './orchestrator-fixtures';

function agent(options: SpecOptions = {}) {
  return service('agent', serviceSpec({ name: 'agent', global: true, ...options }));
}

function onNode(
  id: string,
  nodeId: string,
  state: Task__Output['desiredState'] = 'TASK_STATE_RUNNING',
): Task__Output {
  return task({ id, serviceId: 'agent', slot: 0, nodeId, state });
}

/** Applies a plan to a task list, as the store would after the write. */
function apply(tasks: Task__Output[], plan: ReconcilePlan): Task__Output[] {
  const updated = new Map(plan.update.map((t) => [t.meta!.id, t]));
  const deleted = new Set(plan.delete);
  return [
    ...tasks.filter((t) => !deleted.has(t.meta!.id)).map((t) => updated.get(t.meta!.id) ?? t),
    ...plan.create,
  ];
}

const liveNodes = (tasks: Task__Output[]) =>
  tasks
    .filter((t) => t.desiredState === TaskState.Running)
    .map((t) => t.nodeId)
    .sort();

describe('global reconcile', () => {
  it('creates one task per node, bound to the node', () => {
    const plan = reconcileGlobal(agent(), [], [node('b'), node('a')], reconcileContext());
    expect(plan.create.map((t) => [t.nodeId, t.slot, t.desiredState])).toEqual([
      ['a', 0, TaskState.Running],
      ['b', 0, TaskState.Running],
    ]);
  });

  it('follows nodes joining, draining, going down and leaving', () => {
    const ctx = reconcileContext();
    const svc = agent();
    let nodes: Node__Output[] = [node('a'), node('b')];
    let tasks = apply([], reconcileGlobal(svc, [], nodes, ctx));
    expect(liveNodes(tasks)).toEqual(['a', 'b']);

    nodes = [...nodes, node('c')];
    tasks = apply(tasks, reconcileGlobal(svc, tasks, nodes, ctx));
    expect(liveNodes(tasks)).toEqual(['a', 'b', 'c']);

    nodes = [node('a', { availability: 'drain' }), node('b', { state: 'down' }), node('c')];
    const drained = reconcileGlobal(svc, tasks, nodes, ctx);
    expect(drained.create).toEqual([]);
    expect(drained.update.map((t) => [t.nodeId, t.desiredState, t.status?.message])).toEqual([
      ['a', TaskState.Shutdown, 'node is drained'],
      ['b', TaskState.Shutdown, 'node is down'],
    ]);
    tasks = apply(tasks, drained);
    expect(liveNodes(tasks)).toEqual(['c']);

    // a comes back to active; b leaves the cluster for good.
    nodes = [node('a'), node('c')];
    tasks = apply(tasks, reconcileGlobal(svc, tasks, nodes, ctx));
    expect(liveNodes(tasks)).toEqual(['a', 'c']);
  });

  it('applies the constraints, also when node labels change', () => {
    const ctx = reconcileContext();
    const svc = agent({ constraints: ['node.labels.monitor==yes'] });
    const labelled = [node('a', { labels: { monitor: 'yes' } }), node('b')];
    const tasks = apply([], reconcileGlobal(svc, [], labelled, ctx));
    expect(liveNodes(tasks)).toEqual(['a']);
    const relabelled = [node('a'), node('b', { labels: { monitor: 'yes' } })];
    const plan = reconcileGlobal(svc, tasks, relabelled, ctx);
    expect(plan.update.map((t) => [t.nodeId, t.status?.message])).toEqual([
      ['a', 'node no longer satisfies the constraints'],
    ]);
    expect(plan.create.map((t) => t.nodeId)).toEqual(['b']);
  });

  it('creates tasks for paused nodes (the scheduler holds them) and keeps their running tasks', () => {
    const plan = reconcileGlobal(
      agent(),
      [onNode('t1', 'a')],
      [node('a', { availability: 'pause' }), node('b', { availability: 'pause' })],
      reconcileContext(),
    );
    expect(plan.update).toEqual([]);
    expect(plan.create.map((t) => t.nodeId)).toEqual(['b']);
  });

  it('restarts a failed task on the same node per the restart policy', () => {
    const ctx = reconcileContext();
    const failed = task({
      id: 'f',
      serviceId: 'agent',
      nodeId: 'a',
      state: 'TASK_STATE_FAILED',
      timestampMs: ctx.clock.nowMs,
    });
    const plan = reconcileGlobal(agent({ restart: { delayMs: 0 } }), [failed], [node('a')], ctx);
    expect(plan.update.map((t) => t.meta!.id)).toEqual(['f']);
    expect(plan.create.map((t) => t.nodeId)).toEqual(['a']);
    expect(plan.restarts.map((r) => r.slotKey)).toEqual(['a']);
    const none = reconcileGlobal(agent({ restart: { condition: 'none' } }), [failed], [node('a')], ctx);
    expect(none.create).toEqual([]);
  });

  it('deletes the history of a node that left the cluster', () => {
    const old = task({
      id: 'old',
      serviceId: 'agent',
      nodeId: 'gone',
      desired: 'TASK_STATE_SHUTDOWN',
      state: 'TASK_STATE_SHUTDOWN',
    });
    const plan = reconcileGlobal(agent(), [old], [node('a')], reconcileContext());
    expect(plan.delete).toEqual(['old']);
  });
});
