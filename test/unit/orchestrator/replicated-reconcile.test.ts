import type { Task__Output } from '../../../src/api/gen/types/orch/objects/Task';
import {
  planServiceRemoval,
  reconcileReplicated,
  reconcileService,
  TaskState,
} from '../../../src/manager/orchestrator';
import { node, type SpecOptions, service, serviceSpec, task } from '../scheduler/cluster-fixtures';
import { reconcileContext } from './orchestrator-fixtures';

const nodes = [node('a'), node('b'), node('c')];

function web(options: SpecOptions = {}) {
  return service('svc', serviceSpec({ replicas: 3, ...options }));
}

function running(id: string, slot: number, nodeId: string): Task__Output {
  return task({ id, slot, nodeId, state: 'TASK_STATE_RUNNING' });
}

const ids = (tasks: readonly Task__Output[]) => tasks.map((t) => t.meta!.id);
const slots = (tasks: readonly Task__Output[]) => tasks.map((t) => t.slot).sort((x, y) => x - y);

describe('replicated reconcile', () => {
  it('creates a task for every missing slot 1..replicas', () => {
    const ctx = reconcileContext();
    const svc = web();
    const plan = reconcileReplicated(svc, [], nodes, ctx);
    expect(slots(plan.create)).toEqual([1, 2, 3]);
    expect(ids(plan.create)).toEqual(['new-1', 'new-2', 'new-3']);
    for (const t of plan.create) {
      expect(t).toMatchObject({
        serviceId: 'svc',
        nodeId: '',
        desiredState: TaskState.Running,
        spec: svc.spec,
      });
      expect(t.status).toMatchObject({ state: TaskState.New, timestampMs: ctx.clock.nowMs });
    }
    expect(plan.update).toEqual([]);
  });

  it('changes nothing when every slot holds a live task', () => {
    const plan = reconcileReplicated(
      web(),
      [running('t1', 1, 'a'), running('t2', 2, 'b'), running('t3', 3, 'c')],
      nodes,
      reconcileContext(),
    );
    expect(plan).toEqual({ create: [], update: [], delete: [], restarts: [] });
  });

  it('fills the lowest free slot numbers first', () => {
    const plan = reconcileReplicated(
      web({ replicas: 4 }),
      [running('t1', 1, 'a'), running('t4', 4, 'b')],
      nodes,
      reconcileContext(),
    );
    expect(slots(plan.create)).toEqual([2, 3]);
  });

  describe('scaling down', () => {
    it('removes slots from the busiest nodes first', () => {
      const tasks = [
        running('t1', 1, 'a'),
        running('t2', 2, 'a'),
        running('t3', 3, 'a'),
        running('t4', 4, 'b'),
        running('t5', 5, 'b'),
        running('t6', 6, 'c'),
      ];
      const plan = reconcileReplicated(web({ replicas: 3 }), tasks, nodes, reconcileContext());
      expect(plan.create).toEqual([]);
      expect(slots(plan.update)).toEqual([2, 3, 5]);
      for (const t of plan.update) expect(t.desiredState).toBe(TaskState.Shutdown);
      const removed = new Set(ids(plan.update));
      expect(tasks.filter((t) => !removed.has(t.meta!.id)).map((t) => t.nodeId)).toEqual(['a', 'b', 'c']);
    });

    it('removes slots with nothing running first', () => {
      const tasks = [
        running('t1', 1, 'a'),
        running('t2', 2, 'a'),
        task({ id: 'p3', slot: 3 }), // pending, no node
        task({ id: 'f4', slot: 4, nodeId: 'b', state: 'TASK_STATE_FAILED', timestampMs: 1 }),
      ];
      const ctx = reconcileContext();
      const svc = web({ replicas: 2, restart: { condition: 'none' } });
      const plan = reconcileReplicated(svc, tasks, nodes, ctx);
      expect(ids(plan.update).sort()).toEqual(['f4', 'p3']);
    });

    it('marks a task that never reached a node as shut down outright', () => {
      const plan = reconcileReplicated(
        web({ replicas: 0 }),
        [task({ id: 'p1', slot: 1 })],
        nodes,
        reconcileContext(),
      );
      expect(plan.update[0]).toMatchObject({
        desiredState: TaskState.Shutdown,
        status: { state: TaskState.Shutdown, message: 'service scaled down' },
      });
    });

    it('does not create a replacement only to remove it when scaling down at the same time', () => {
      const down = [node('a', { state: 'down' }), node('b'), node('c')];
      const tasks = [running('t1', 1, 'a'), running('t2', 2, 'b'), running('t3', 3, 'c')];
      const plan = reconcileReplicated(web({ replicas: 2 }), tasks, down, reconcileContext());
      expect(plan.create).toEqual([]);
      expect(plan.update.map((t) => [t.meta!.id, t.desiredState])).toEqual([['t1', TaskState.Shutdown]]);
    });

    it('does not restart a failed slot that scaling down removes', () => {
      const failed = task({ id: 'f3', slot: 3, nodeId: 'c', state: 'TASK_STATE_FAILED', timestampMs: 1 });
      const plan = reconcileReplicated(
        web({ replicas: 2 }),
        [running('t1', 1, 'a'), running('t2', 2, 'b'), failed],
        nodes,
        reconcileContext(),
      );
      expect(plan.create).toEqual([]);
      expect(plan.restarts).toEqual([]);
      expect(plan.update.map((t) => [t.meta!.id, t.desiredState])).toEqual([['f3', TaskState.Shutdown]]);
    });

    it('deletes the history of removed slots once their tasks have stopped', () => {
      const svc = web({ replicas: 1 });
      const tasks = [
        running('t1', 1, 'a'),
        task({
          id: 'old2',
          slot: 2,
          nodeId: 'b',
          desired: 'TASK_STATE_SHUTDOWN',
          state: 'TASK_STATE_SHUTDOWN',
        }),
        task({
          id: 'older2',
          slot: 2,
          nodeId: 'b',
          desired: 'TASK_STATE_SHUTDOWN',
          state: 'TASK_STATE_FAILED',
        }),
      ];
      const plan = reconcileReplicated(svc, tasks, nodes, reconcileContext());
      expect(plan.delete).toEqual(['old2', 'older2']);
    });
  });

  describe('node failures', () => {
    it('replaces in the same slot a task whose node is down, without counting a restart', () => {
      const down = [node('a', { state: 'down' }), node('b'), node('c')];
      const plan = reconcileReplicated(
        web(),
        [running('t1', 1, 'a'), running('t2', 2, 'b'), running('t3', 3, 'c')],
        down,
        reconcileContext(),
      );
      expect(ids(plan.update)).toEqual(['t1']);
      expect(plan.update[0]).toMatchObject({
        desiredState: TaskState.Shutdown,
        status: { state: TaskState.Running },
      });
      expect(plan.create.map((t) => [t.slot, t.nodeId])).toEqual([[1, '']]);
      expect(plan.restarts).toEqual([]);
    });

    it('moves tasks off a drained node and off a node that left', () => {
      const drained = [node('a', { availability: 'drain' }), node('b')];
      const plan = reconcileReplicated(
        web(),
        [running('t1', 1, 'a'), running('t2', 2, 'b'), running('t3', 3, 'gone')],
        drained,
        reconcileContext(),
      );
      expect(ids(plan.update)).toEqual(['t1', 't3']);
      expect(plan.update.map((t) => t.status?.state)).toEqual([TaskState.Running, TaskState.Running]);
      expect(slots(plan.create)).toEqual([1, 3]);
    });

    it('leaves tasks on paused and disconnected nodes alone', () => {
      const mixed = [node('a', { availability: 'pause' }), node('b', { state: 'disconnected' }), node('c')];
      const plan = reconcileReplicated(
        web(),
        [running('t1', 1, 'a'), running('t2', 2, 'b'), running('t3', 3, 'c')],
        mixed,
        reconcileContext(),
      );
      expect(plan.update).toEqual([]);
      expect(plan.create).toEqual([]);
    });
  });

  describe('restart policy', () => {
    it('restarts a failed task after the delay, in its slot, and records the attempt', () => {
      const ctx = reconcileContext();
      const svc = web({ replicas: 1, restart: { delayMs: 5_000, maxAttempts: 2 } });
      const stoppedAt = ctx.clock.nowMs;
      const failed = task({
        id: 'f1',
        slot: 1,
        nodeId: 'a',
        state: 'TASK_STATE_FAILED',
        timestampMs: stoppedAt,
        exitCode: 1,
      });

      const early = reconcileReplicated(svc, [failed], nodes, ctx);
      expect(early.create).toEqual([]);
      expect(early.wakeAtMs).toBe(stoppedAt + 5_000);

      ctx.clock.advance(5_000);
      const due = reconcileReplicated(svc, [failed], nodes, ctx);
      expect(due.update).toEqual([
        expect.objectContaining({
          meta: expect.objectContaining({ id: 'f1' }),
          desiredState: TaskState.Shutdown,
        }),
      ]);
      expect(due.create.map((t) => t.slot)).toEqual([1]);
      expect(due.restarts).toEqual([
        { serviceId: 'svc', slotKey: '1', serviceVersion: 1, atMs: stoppedAt + 5_000, maxAttempts: 2 },
      ]);
      ctx.restarts.record(due.restarts);
    });

    it("gives up after max attempts and leaves the failed task as the slot's last word", () => {
      const ctx = reconcileContext();
      const svc = web({ replicas: 1, restart: { maxAttempts: 2 } });
      let current = task({
        id: 'f0',
        slot: 1,
        nodeId: 'a',
        state: 'TASK_STATE_FAILED',
        timestampMs: ctx.clock.nowMs,
      });
      for (let attempt = 1; attempt <= 2; attempt++) {
        const plan = reconcileReplicated(svc, [current], nodes, ctx);
        expect(plan.create).toHaveLength(1);
        ctx.restarts.record(plan.restarts);
        ctx.clock.advance(1_000);
        current = {
          ...plan.create[0]!,
          nodeId: 'a',
          status: { ...plan.create[0]!.status!, state: 'TASK_STATE_FAILED', timestampMs: ctx.clock.nowMs },
        };
      }
      const plan = reconcileReplicated(svc, [current], nodes, ctx);
      expect(plan).toEqual({ create: [], update: [], delete: [], restarts: [] });
    });

    it('with on-failure, leaves a task that exited 0 completed', () => {
      const svc = web({ replicas: 1, restart: { condition: 'on-failure' } });
      const done = task({ id: 'd1', slot: 1, nodeId: 'a', state: 'TASK_STATE_COMPLETE', timestampMs: 1 });
      expect(reconcileReplicated(svc, [done], nodes, reconcileContext()).create).toEqual([]);
      const crashed = task({
        id: 'c1',
        slot: 1,
        nodeId: 'a',
        state: 'TASK_STATE_FAILED',
        timestampMs: 1,
        exitCode: 2,
      });
      expect(reconcileReplicated(svc, [crashed], nodes, reconcileContext()).create).toHaveLength(1);
    });

    it('with none, never replaces a stopped task', () => {
      const svc = web({ replicas: 1, restart: { condition: 'none' } });
      const crashed = task({ id: 'c1', slot: 1, nodeId: 'a', state: 'TASK_STATE_FAILED', timestampMs: 1 });
      expect(reconcileReplicated(svc, [crashed], nodes, reconcileContext()).create).toEqual([]);
    });
  });

  describe('history', () => {
    it('keeps 5 terminal tasks per slot and deletes the older ones', () => {
      const history = Array.from({ length: 8 }, (_, i) =>
        task({
          id: `h${i}`,
          slot: 1,
          nodeId: 'a',
          desired: 'TASK_STATE_SHUTDOWN',
          state: 'TASK_STATE_FAILED',
          timestampMs: 1000 + i,
        }),
      );
      const plan = reconcileReplicated(
        web({ replicas: 1 }),
        [...history, running('t1', 1, 'a')],
        nodes,
        reconcileContext(),
      );
      expect(plan.delete).toEqual(['h0', 'h1', 'h2']);
    });

    it('honours the cluster retention limit', () => {
      const history = Array.from({ length: 3 }, (_, i) =>
        task({
          id: `h${i}`,
          slot: 1,
          nodeId: 'a',
          desired: 'TASK_STATE_SHUTDOWN',
          state: 'TASK_STATE_FAILED',
          timestampMs: 1000 + i,
        }),
      );
      const ctx = { ...reconcileContext(), historyRetention: 1 };
      const plan = reconcileReplicated(web({ replicas: 1 }), [...history, running('t1', 1, 'a')], nodes, ctx);
      expect(plan.delete).toEqual(['h0', 'h1']);
    });
  });

  it('ignores tasks of other services it is handed', () => {
    const stranger = task({ id: 'x', serviceId: 'other', slot: 1, nodeId: 'a' });
    const plan = reconcileReplicated(web({ replicas: 1 }), [stranger], nodes, reconcileContext());
    expect(plan.create.map((t) => [t.serviceId, t.slot])).toEqual([['svc', 1]]);
    expect(plan.update).toEqual([]);
  });

  it('ignores services that are not replicated', () => {
    const global = service('svc', serviceSpec({ global: true }));
    expect(reconcileReplicated(global, [], nodes, reconcileContext()).create).toEqual([]);
  });
});

describe('service removal', () => {
  it('shuts down live tasks and deletes stopped ones until nothing is left', () => {
    const tasks = [
      running('r1', 1, 'a'),
      task({ id: 'p2', slot: 2 }),
      task({ id: 'h1', slot: 1, nodeId: 'a', desired: 'TASK_STATE_SHUTDOWN', state: 'TASK_STATE_FAILED' }),
      task({ id: 'other', serviceId: 'keep', slot: 1, nodeId: 'a' }),
    ];
    const plan = planServiceRemoval('svc', tasks, 5);
    expect(plan.update.map((t) => [t.meta!.id, t.desiredState, t.status?.state])).toEqual([
      ['r1', TaskState.Shutdown, TaskState.Running],
      ['p2', TaskState.Shutdown, TaskState.Shutdown],
    ]);
    // The pending task never reached an agent: it goes at once, with the stopped history.
    expect(plan.delete).toEqual(['h1', 'p2']);
  });
});

describe('reconcileService', () => {
  it('picks the reconciler of the service mode', () => {
    const ctx = reconcileContext();
    expect(reconcileService(web({ replicas: 2 }), [], nodes, ctx).create.map((t) => t.slot)).toEqual([1, 2]);
    const global = service('svc', serviceSpec({ global: true }));
    expect(reconcileService(global, [], nodes, ctx).create.map((t) => t.nodeId)).toEqual(['a', 'b', 'c']);
  });
});
