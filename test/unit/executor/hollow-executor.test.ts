import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { TaskController } from '../../../src/agent/executor/executor';
import { HollowExecutor } from '../../../src/agent/executor/hollow';
import { type HollowBehaviour, HollowEngine, hollowRandom } from '../../../src/agent/executor/hollow-engine';
import { HollowScheduler } from '../../../src/agent/executor/hollow-scheduler';
import {
  defaultTaskRunSpec,
  type ExecutorTask,
  initialTaskStatus,
  type TaskRunSpec,
} from '../../../src/agent/executor/task-spec';
import { runTaskStep } from '../../../src/agent/executor/task-step';
import type { TaskState } from '../../../src/common/task-state';
import { trackLiveTimers } from './live-timers';

function makeTask(id: string, nodeId: string, spec: Partial<TaskRunSpec> = {}): ExecutorTask {
  return {
    id,
    serviceId: 'svc',
    serviceName: 'web',
    slot: 1,
    nodeId,
    desiredState: 'TASK_STATE_RUNNING',
    status: initialTaskStatus(),
    spec: defaultTaskRunSpec('busybox:local', { stopGracePeriodMs: 1000, ...spec }),
  };
}

describe('hollow executor', () => {
  let scheduler: HollowScheduler;
  let engine: HollowEngine;

  beforeEach(() => {
    scheduler = new HollowScheduler({ manual: true, startMs: 1_000_000 });
    engine = new HollowEngine({ scheduler });
  });

  afterEach(() => engine.close());

  function executor(
    behaviour: Partial<HollowBehaviour> = {},
    nodeId = 'node-1',
    missingImages: string[] = [],
  ) {
    return new HollowExecutor({ nodeId, engine, behaviour, missingImages });
  }

  /**
   * Steps `task` until it stops advancing, reaches `until`, or blocks with nothing scheduled that
   * could unblock it (a task running forever). Fake time jumps straight to each next deadline.
   */
  async function drive(task: ExecutorTask, controller: TaskController, until?: TaskState) {
    const states: TaskState[] = [];
    while (task.status.state !== until) {
      const abort = new AbortController();
      const pending = runTaskStep(task, controller, { now: () => scheduler.now(), signal: abort.signal });
      let settled = false;
      pending.then(
        () => {
          settled = true;
        },
        () => {
          settled = true;
        },
      );
      await scheduler.advance(0);
      while (!settled) {
        const due = scheduler.nextDueMs();
        if (due === undefined) break;
        await scheduler.advance(due - scheduler.now());
      }
      if (!settled) {
        abort.abort(new Error('blocked'));
        await pending.catch(() => undefined);
        break;
      }
      const result = await pending;
      if (result.outcome !== 'advanced') break;
      task.status = result.status;
      states.push(result.status.state);
    }
    return states;
  }

  it('moves a task through every state, taking the start delay and run duration in scheduler time', async () => {
    const hollow = executor({ startDelayMs: 100, runDurationMs: 1000 });
    const task = makeTask('t1', 'node-1');
    const controller = hollow.controller(task);

    const states = await drive(task, controller, 'TASK_STATE_RUNNING');
    expect(states).toEqual([
      'TASK_STATE_ACCEPTED',
      'TASK_STATE_PREPARING',
      'TASK_STATE_STARTING',
      'TASK_STATE_RUNNING',
    ]);
    expect(task.status.timestampMs).toBe(1_000_100);
    expect(task.status.containerId).toMatch(/^[0-9a-f]{12}$/);

    expect(await drive(task, controller)).toEqual(['TASK_STATE_COMPLETE']);
    expect(task.status).toMatchObject({ message: 'finished', exitCode: 0, timestampMs: 1_001_100 });
    const seen = await controller.inspect();
    expect(seen).toMatchObject({ state: 'TASK_STATE_COMPLETE', engineState: 'exited' });
    expect(seen?.finishedAt?.getTime()).toBe(1_001_100);
  });

  it('runs forever by default and holds no scheduler entry while it does', async () => {
    const task = makeTask('t1', 'node-1');
    const controller = executor().controller(task);
    await drive(task, controller, 'TASK_STATE_RUNNING');
    expect(scheduler.pending).toBe(0);
    const waiting = controller.wait();
    await scheduler.advance(24 * 3600 * 1000);
    expect((await controller.inspect())?.state).toBe('TASK_STATE_RUNNING');
    await controller.terminate();
    await expect(waiting).resolves.toEqual({ exitCode: 137, oomKilled: false, error: '' });
  });

  it('fails a task that exits non-zero with its code', async () => {
    const task = makeTask('t1', 'node-1');
    await drive(task, executor({ runDurationMs: 50, exitCode: 3 }).controller(task));
    expect(task.status).toMatchObject({
      state: 'TASK_STATE_FAILED',
      err: 'task: non-zero exit (3)',
      exitCode: 3,
    });
  });

  it('rejects a task whose image is missing', async () => {
    const task = makeTask('t1', 'node-1', { image: 'orch/nope:1', pullPolicy: 'never' });
    const states = await drive(task, executor({}, 'node-1', ['orch/nope:1']).controller(task));
    expect(states).toEqual(['TASK_STATE_ACCEPTED', 'TASK_STATE_PREPARING', 'TASK_STATE_REJECTED']);
    expect(task.status.err).toBe('image not found: orch/nope:1');
  });

  it('fails a task whose simulated start fails', async () => {
    const task = makeTask('t1', 'node-1');
    await drive(task, executor({ failureRate: 1, failureMode: 'start' }).controller(task));
    expect(task.status).toMatchObject({
      state: 'TASK_STATE_FAILED',
      err: 'starting container failed: hollow: simulated start failure',
    });
  });

  it('shuts a task down on its stop signal, or kills it once the grace period is over', async () => {
    const graceful = makeTask('graceful', 'node-1');
    const stubborn = makeTask('stubborn', 'node-2');
    const quick = executor({ stopDelayMs: 500 }, 'node-1');
    const slow = executor({ stopDelayMs: 5000 }, 'node-2');
    const controllers = [quick.controller(graceful), slow.controller(stubborn)];
    await drive(graceful, controllers[0], 'TASK_STATE_RUNNING');
    await drive(stubborn, controllers[1], 'TASK_STATE_RUNNING');

    const started = scheduler.now();
    for (const task of [graceful, stubborn]) task.desiredState = 'TASK_STATE_SHUTDOWN';
    expect(await drive(graceful, controllers[0])).toEqual(['TASK_STATE_SHUTDOWN']);
    expect(await drive(stubborn, controllers[1])).toEqual(['TASK_STATE_SHUTDOWN']);

    const [a, b] = await Promise.all(controllers.map((c) => c.inspect()));
    expect(a).toMatchObject({ exitCode: 0 });
    expect(a!.finishedAt!.getTime() - started).toBe(500);
    expect(b).toMatchObject({ exitCode: 137 });
    expect(b!.finishedAt!.getTime() - started).toBe(1000 + 500); // grace, counted from its own stop
  });

  it('chooses the failing tasks by seed, whatever the order they run in', async () => {
    const ids = Array.from({ length: 1000 }, (_, i) => `task-${i}`);
    async function failedIds(seed: number, order: string[]): Promise<string[]> {
      const hollow = executor({ failureRate: 0.25, seed, failAfterMs: 5 }, `node-${seed}-${order[0]}`);
      for (const id of order) {
        const task = makeTask(id, hollow.nodeId);
        await drive(task, hollow.controller(task), 'TASK_STATE_RUNNING');
      }
      await scheduler.advance(5);
      const observed = await hollow.listTasks();
      expect(observed).toHaveLength(order.length);
      return observed
        .filter((t) => t.state === 'TASK_STATE_FAILED')
        .map((t) => t.taskId)
        .sort();
    }
    const forward = await failedIds(42, ids);
    const backward = await failedIds(42, [...ids].reverse());
    const otherSeed = await failedIds(7, ids);
    expect(backward).toEqual(forward);
    expect(otherSeed).not.toEqual(forward);
    expect(forward.length).toBeGreaterThan(200);
    expect(forward.length).toBeLessThan(300);
  });

  it('spreads its seeded draws uniformly', () => {
    const buckets = new Array(10).fill(0);
    for (let i = 0; i < 20_000; i++) buckets[Math.floor(hollowRandom(3, `t${i}`) * 10)]++;
    for (const count of buckets) expect(Math.abs(count - 2_000)).toBeLessThan(250);
  });

  it('lets a second executor for the same node adopt its tasks, and remove the unassigned ones', async () => {
    const first = executor();
    const kept = makeTask('kept', 'node-1');
    const dropped = makeTask('dropped', 'node-1');
    await drive(kept, first.controller(kept), 'TASK_STATE_RUNNING');
    await drive(dropped, first.controller(dropped), 'TASK_STATE_RUNNING');

    const restarted = executor();
    const listed = await restarted.listTasks();
    expect(listed.map((t) => [t.taskId, t.state]).sort()).toEqual([
      ['dropped', 'TASK_STATE_RUNNING'],
      ['kept', 'TASK_STATE_RUNNING'],
    ]);
    expect(await executor({}, 'node-2').listTasks()).toEqual([]);

    const adopted = restarted.controller(kept);
    await adopted.prepare();
    await adopted.start();
    expect((await adopted.inspect())?.containerId).toBe(kept.status.containerId);

    await restarted.removeTask('dropped');
    expect((await restarted.listTasks()).map((t) => t.taskId)).toEqual(['kept']);
  });

  it('refuses a task assigned to another node', () => {
    expect(() => executor().controller(makeTask('t', 'node-9'))).toThrow(/assigned to node node-9/);
  });

  it('reports dynamic host ports for published ports', async () => {
    const task = makeTask('t1', 'node-1', { ports: [{ targetPort: 80, hostIp: '127.0.0.3', hostPort: 0 }] });
    const controller = executor().controller(task);
    await drive(task, controller, 'TASK_STATE_RUNNING');
    expect((await controller.inspect())?.ports).toEqual([
      { targetPort: 80, protocol: 'tcp', hostIp: '127.0.0.3', hostPort: 30_000 },
    ]);
  });

  it('generates logs with tail, timestamps and follow', async () => {
    const task = makeTask('t1', 'node-1');
    const controller = executor({ runDurationMs: 1000, exitCode: 2 }).controller(task);
    await drive(task, controller, 'TASK_STATE_RUNNING');

    const followed: Array<[string, string]> = [];
    const following = (async () => {
      for await (const entry of controller.logs({ follow: true })) followed.push([entry.stream, entry.line]);
    })();
    await scheduler.advance(1000);
    await following;
    expect(followed).toEqual([
      ['stdout', 'hollow task t1 started from busybox:local'],
      ['stderr', 'hollow task t1 exited with code 2'],
    ]);

    const tail = [];
    for await (const entry of controller.logs({ tail: 1, timestamps: true })) tail.push(entry);
    expect(tail).toEqual([
      { stream: 'stderr', line: 'hollow task t1 exited with code 2', time: new Date(1_001_000) },
    ]);
  });

  it('stops waiting when the signal aborts', async () => {
    const task = makeTask('t1', 'node-1');
    const controller = executor().controller(task);
    await drive(task, controller, 'TASK_STATE_RUNNING');
    const abort = new AbortController();
    const waiting = controller.wait({ signal: abort.signal });
    abort.abort(new Error('desired state changed'));
    await expect(waiting).rejects.toThrow('desired state changed');
  });
});

describe('hollow executor at scale', () => {
  function collectGarbage(): void {
    setFlagsFromString('--expose-gc');
    (runInNewContext('gc') as () => void)();
  }

  it('starts and stops 10,000 tasks on 100 nodes with a small, bounded footprint and no timer', async () => {
    const timers = trackLiveTimers();
    const engine = new HollowEngine(); // real time: the single-timer path
    try {
      const nodes = Array.from({ length: 100 }, (_, i) => new HollowExecutor({ nodeId: `n${i}`, engine }));
      const tasks: ExecutorTask[] = [];
      const controllers: TaskController[] = [];
      collectGarbage();
      const heapBefore = process.memoryUsage().heapUsed;

      for (let i = 0; i < 10_000; i++) {
        const node = nodes[i % nodes.length];
        const task = makeTask(`task-${i}`, node.nodeId);
        tasks.push(task);
        controllers.push(node.controller(task));
      }
      for (let i = 0; i < tasks.length; i++) {
        while (tasks[i].status.state !== 'TASK_STATE_RUNNING') {
          tasks[i].status = (await runTaskStep(tasks[i], controllers[i])).status;
        }
      }
      expect(engine.size).toBe(10_000);
      expect(engine.scheduler.pending).toBe(0);
      expect(timers.peak).toBe(0); // nothing to wait for: no timer at all
      collectGarbage();
      const bytesPerTask = (process.memoryUsage().heapUsed - heapBefore) / tasks.length;
      // Task objects, their specs and controllers included: the simulation must fit 50,000 tasks easily.
      expect(bytesPerTask).toBeLessThan(4096);
      if (process.env.ORCH_HOLLOW_REPORT)
        console.log(`hollow: ${Math.round(bytesPerTask)} heap bytes per running task`);

      for (const task of tasks) task.desiredState = 'TASK_STATE_SHUTDOWN';
      for (let i = 0; i < tasks.length; i++)
        tasks[i].status = (await runTaskStep(tasks[i], controllers[i])).status;
      expect(tasks.every((t) => t.status.state === 'TASK_STATE_SHUTDOWN')).toBe(true);
      await Promise.all(controllers.map((c) => c.remove()));
      expect(engine.size).toBe(0);
    } finally {
      engine.close();
      timers.restore();
    }
  });

  it('runs 10,000 tasks with deadlines to completion in real time on one timer', async () => {
    const timers = trackLiveTimers();
    const engine = new HollowEngine();
    try {
      const node = new HollowExecutor({
        nodeId: 'n0',
        engine,
        behaviour: { startDelayMs: 5, runDurationMs: 20 },
      });
      const outcomes = await Promise.all(
        Array.from({ length: 10_000 }, async (_, i) => {
          const task = makeTask(`job-${i}`, 'n0');
          task.desiredState = 'TASK_STATE_COMPLETE';
          const controller = node.controller(task);
          for (;;) {
            const result = await runTaskStep(task, controller);
            if (result.outcome !== 'advanced') return task.status.state;
            task.status = result.status;
          }
        }),
      );
      expect(outcomes.every((state) => state === 'TASK_STATE_COMPLETE')).toBe(true);
      expect(timers.peak).toBe(1);
      expect(engine.scheduler.pending).toBe(0);
    } finally {
      engine.close();
      timers.restore();
    }
  });
});
