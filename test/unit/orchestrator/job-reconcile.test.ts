import type { ServiceSpec__Output } from '../../../src/api/gen/types/orch/objects/ServiceSpec';
import type { Task__Output } from '../../../src/api/gen/types/orch/objects/Task';
import {
  type ReconcilePlan,
  reconcileGlobalJob,
  reconcileReplicatedJob,
  TaskState,
  type TaskStateValue,
} from '../../../src/manager/orchestrator';
import { node, type SpecOptions, service, serviceSpec } from '../scheduler/cluster-fixtures';
import { reconcileContext } from './orchestrator-fixtures';

function replicatedJob(totalCompletions: number, maxConcurrent: number, options: SpecOptions = {}) {
  const spec = serviceSpec({ name: 'migrate', restart: { condition: 'on-failure' }, ...options });
  const { replicated: _replicated, ...rest } = spec;
  return service('job', {
    ...rest,
    mode: 'replicatedJob',
    replicatedJob: { totalCompletions, maxConcurrent },
  } as ServiceSpec__Output);
}

function globalJob(options: SpecOptions = {}) {
  const spec = serviceSpec({ name: 'prune', restart: { condition: 'on-failure' }, ...options });
  const { replicated: _replicated, ...rest } = spec;
  return service('job', { ...rest, mode: 'globalJob', globalJob: {} } as ServiceSpec__Output);
}

/** Applies a plan as the store would, then lets every created task reach `state` on node `a`. */
function apply(tasks: Task__Output[], plan: ReconcilePlan): Task__Output[] {
  const updated = new Map(plan.update.map((t) => [t.meta!.id, t]));
  const deleted = new Set(plan.delete);
  return [
    ...tasks.filter((t) => !deleted.has(t.meta!.id)).map((t) => updated.get(t.meta!.id) ?? t),
    ...plan.create,
  ];
}

function finish(tasks: Task__Output[], state: TaskStateValue, nowMs: number): Task__Output[] {
  return tasks.map((t) =>
    t.desiredState === TaskState.Running && t.status!.state === TaskState.New
      ? { ...t, nodeId: t.nodeId || 'a', status: { ...t.status!, state, timestampMs: nowMs } }
      : t,
  );
}

const nodes = [node('a'), node('b')];

describe('replicated job', () => {
  it('runs total-completions tasks, at most max-concurrent at a time, then stops', () => {
    const ctx = reconcileContext();
    const svc = replicatedJob(5, 2);
    let tasks: Task__Output[] = [];
    const waves: number[][] = [];
    for (let round = 0; round < 5; round++) {
      const plan = reconcileReplicatedJob(svc, tasks, nodes, ctx);
      waves.push(plan.create.map((t) => t.slot));
      tasks = finish(apply(tasks, plan), TaskState.Complete, ctx.clock.nowMs);
    }
    expect(waves).toEqual([[1, 2], [3, 4], [5], [], []]);
    expect(tasks.filter((t) => t.status!.state === TaskState.Complete)).toHaveLength(5);
  });

  it('runs everything at once when max-concurrent is 0', () => {
    const plan = reconcileReplicatedJob(replicatedJob(3, 0), [], nodes, reconcileContext());
    expect(plan.create.map((t) => t.slot)).toEqual([1, 2, 3]);
  });

  it('retries a failed task in its slot per the restart policy and never re-runs a completed one', () => {
    const ctx = reconcileContext();
    const svc = replicatedJob(2, 2, { restart: { condition: 'any', maxAttempts: 1 } });
    let tasks = apply([], reconcileReplicatedJob(svc, [], nodes, ctx));
    tasks = tasks.map((t) => ({
      ...t,
      nodeId: 'a',
      status: {
        ...t.status!,
        state: t.slot === 1 ? TaskState.Complete : TaskState.Failed,
        timestampMs: ctx.clock.nowMs,
      },
    }));
    const retry = reconcileReplicatedJob(svc, tasks, nodes, ctx);
    expect(retry.create.map((t) => t.slot)).toEqual([2]);
    expect(retry.update.map((t) => [t.slot, t.desiredState])).toEqual([[2, TaskState.Shutdown]]);
    ctx.restarts.record(retry.restarts);

    tasks = finish(apply(tasks, retry), TaskState.Failed, ctx.clock.nowMs);
    // Max attempts reached: slot 2 stays failed, slot 1 stays complete.
    expect(reconcileReplicatedJob(svc, tasks, nodes, ctx)).toEqual({
      create: [],
      update: [],
      delete: [],
      restarts: [],
    });
  });

  it('shuts down the tasks of an older iteration and starts the new one', () => {
    const ctx = reconcileContext();
    const svc = replicatedJob(2, 2);
    let tasks = finish(
      apply([], reconcileReplicatedJob(svc, [], nodes, ctx)),
      TaskState.Running,
      ctx.clock.nowMs,
    );
    const rerun = reconcileReplicatedJob(svc, tasks, nodes, ctx, { jobIteration: 1 });
    // The agents stop them and report; the observed state stays theirs to write.
    expect(rerun.update.map((t) => [t.slot, t.desiredState, t.status?.state])).toEqual([
      [1, TaskState.Shutdown, TaskState.Running],
      [2, TaskState.Shutdown, TaskState.Running],
    ]);
    expect(rerun.create.map((t) => [t.slot, t.jobIteration])).toEqual([
      [1, 1],
      [2, 1],
    ]);
    tasks = apply(tasks, rerun);
    // Without an explicit iteration, the highest one found is the current one.
    expect(reconcileReplicatedJob(svc, tasks, nodes, ctx).create).toEqual([]);
  });
});

describe('global job', () => {
  it('runs once on every eligible node, and on nodes that join later', () => {
    const ctx = reconcileContext();
    const svc = globalJob({ constraints: ['node.role==worker'] });
    const cluster = [
      node('a'),
      node('b'),
      node('m', { role: 'manager' }),
      node('d', { availability: 'drain' }),
    ];
    const first = reconcileGlobalJob(svc, [], cluster, ctx);
    expect(first.create.map((t) => [t.nodeId, t.slot])).toEqual([
      ['a', 0],
      ['b', 0],
    ]);
    let tasks: Task__Output[] = apply([], first).map((t) => ({
      ...t,
      status: { ...t.status!, state: TaskState.Complete },
    }));
    expect(reconcileGlobalJob(svc, tasks, cluster, ctx).create).toEqual([]);

    const joined = [...cluster, node('c')];
    const later = reconcileGlobalJob(svc, tasks, joined, ctx);
    expect(later.create.map((t) => t.nodeId)).toEqual(['c']);
    tasks = apply(tasks, later);
    expect(tasks).toHaveLength(3);
  });

  it('stops a task whose node is drained before it completes', () => {
    const ctx = reconcileContext();
    const svc = globalJob();
    const tasks = apply([], reconcileGlobalJob(svc, [], [node('a')], ctx)).map((t) => ({
      ...t,
      status: { ...t.status!, state: TaskState.Running },
    }));
    const plan = reconcileGlobalJob(svc, tasks, [node('a', { availability: 'drain' })], ctx);
    expect(plan.update.map((t) => [t.nodeId, t.desiredState])).toEqual([['a', TaskState.Shutdown]]);
    expect(plan.create).toEqual([]);
  });
});
