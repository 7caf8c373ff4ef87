import {
  ContainerStartError,
  FinalExecutorError,
  ImageNotFoundError,
  TemporaryExecutorError,
} from '../../../src/agent/executor/errors';
import type { ExitStatus, ObservedTask, TaskController } from '../../../src/agent/executor/executor';
import { initialTaskStatus, type TaskStatusLike } from '../../../src/agent/executor/task-spec';
import { runTaskStep } from '../../../src/agent/executor/task-step';
import type { TaskState } from '../../../src/common/task-state';

/** A controller that records its calls and fails where told to. */
class ScriptedController implements TaskController {
  readonly taskId = 't1';
  readonly calls: string[] = [];
  failures: Partial<Record<'prepare' | 'start' | 'wait' | 'shutdown', Error>> = {};
  exit: ExitStatus = { exitCode: 0, oomKilled: false, error: '' };

  private act(name: 'prepare' | 'start' | 'wait' | 'shutdown'): void {
    this.calls.push(name);
    const failure = this.failures[name];
    if (failure) throw failure;
  }

  async prepare() {
    this.act('prepare');
  }
  async start() {
    this.act('start');
  }
  async wait(options: { signal?: AbortSignal } = {}) {
    this.act('wait');
    options.signal?.throwIfAborted();
    return this.exit;
  }
  async shutdown() {
    this.act('shutdown');
  }
  async terminate() {}
  async remove() {}
  async inspect(): Promise<ObservedTask> {
    return {
      taskId: 't1',
      serviceId: 's',
      nodeId: 'n',
      containerId: 'c0ffee',
      state: 'TASK_STATE_RUNNING',
      engineState: 'running',
      exitCode: 0,
      oomKilled: false,
      err: '',
      health: '',
      ports: [{ targetPort: 80, protocol: 'tcp', hostIp: '127.0.0.3', hostPort: 32768 }],
    };
  }
  async *logs() {}
}

function task(state: TaskState, desiredState: TaskState = 'TASK_STATE_RUNNING') {
  return { id: 't1', desiredState, status: { ...initialTaskStatus(), state } as TaskStatusLike };
}

const now = () => 42;

describe('runTaskStep', () => {
  it('moves a task forward exactly one state per step, calling the controller between states', async () => {
    const controller = new ScriptedController();
    const t = task('TASK_STATE_ASSIGNED');
    const seen: Array<[TaskState, string, string[]]> = [];
    for (;;) {
      const result = await runTaskStep(t, controller, { now });
      if (result.outcome !== 'advanced') break;
      t.status = result.status;
      seen.push([result.status.state, result.status.message, [...controller.calls]]);
    }
    expect(seen).toEqual([
      ['TASK_STATE_ACCEPTED', 'accepted', []],
      ['TASK_STATE_PREPARING', 'preparing', []],
      ['TASK_STATE_STARTING', 'prepared', ['prepare']],
      ['TASK_STATE_RUNNING', 'started', ['prepare', 'start']],
      ['TASK_STATE_COMPLETE', 'finished', ['prepare', 'start', 'wait']],
    ]);
    expect(t.status).toMatchObject({ containerId: 'c0ffee', timestampMs: 42, exitCode: 0 });
  });

  it('reports the bound ports when the task starts running', async () => {
    const result = await runTaskStep(task('TASK_STATE_STARTING'), new ScriptedController(), { now });
    expect(result.ports).toEqual([{ targetPort: 80, protocol: 'tcp', hostIp: '127.0.0.3', hostPort: 32768 }]);
  });

  it('does not touch the caller status object', async () => {
    const t = task('TASK_STATE_NEW');
    const before = { ...t.status };
    const result = await runTaskStep(t, new ScriptedController(), { now });
    expect(t.status).toEqual(before);
    expect(result.status).not.toBe(t.status);
  });

  it('waits at the desired state instead of going past it', async () => {
    const controller = new ScriptedController();
    const result = await runTaskStep(task('TASK_STATE_STARTING', 'TASK_STATE_STARTING'), controller, { now });
    expect(result.outcome).toBe('noop');
    expect(controller.calls).toEqual([]);
  });

  it('runs a job (desired complete) to its end like a service task', async () => {
    const controller = new ScriptedController();
    const result = await runTaskStep(task('TASK_STATE_RUNNING', 'TASK_STATE_COMPLETE'), controller, { now });
    expect(result.status.state).toBe('TASK_STATE_COMPLETE');
    expect(controller.calls).toEqual(['wait']);
  });

  it.each<TaskState>([
    'TASK_STATE_COMPLETE',
    'TASK_STATE_FAILED',
    'TASK_STATE_SHUTDOWN',
    'TASK_STATE_REJECTED',
  ])('never moves a %s task again, whatever the desired state', async (state) => {
    const controller = new ScriptedController();
    for (const desired of ['TASK_STATE_RUNNING', 'TASK_STATE_SHUTDOWN'] as TaskState[]) {
      const result = await runTaskStep(task(state, desired), controller, { now });
      expect(result.outcome).toBe('dead');
      expect(result.status.state).toBe(state);
    }
    expect(controller.calls).toEqual([]);
  });

  it.each<TaskState>([
    'TASK_STATE_ASSIGNED',
    'TASK_STATE_PREPARING',
    'TASK_STATE_STARTING',
    'TASK_STATE_RUNNING',
  ])('shuts a %s task down once the desired state is shutdown', async (state) => {
    const controller = new ScriptedController();
    const result = await runTaskStep(task(state, 'TASK_STATE_SHUTDOWN'), controller, { now });
    expect(result.status).toMatchObject({ state: 'TASK_STATE_SHUTDOWN', message: 'shutdown' });
    expect(controller.calls).toEqual(['shutdown']);
  });

  it('rejects a task whose preparation fails for good', async () => {
    const controller = new ScriptedController();
    controller.failures.prepare = new ImageNotFoundError('orch/nope:1');
    const result = await runTaskStep(task('TASK_STATE_PREPARING'), controller, { now });
    expect(result.outcome).toBe('advanced');
    expect(result.status).toMatchObject({
      state: 'TASK_STATE_REJECTED',
      message: 'image not found: orch/nope:1',
      err: 'image not found: orch/nope:1',
    });
    expect(result.error).toBeInstanceOf(ImageNotFoundError);
  });

  it('fails a task whose start fails, and one whose process exits non-zero or is OOM killed', async () => {
    const controller = new ScriptedController();
    controller.failures.start = new ContainerStartError('exec: "nope": not found');
    expect((await runTaskStep(task('TASK_STATE_STARTING'), controller, { now })).status).toMatchObject({
      state: 'TASK_STATE_FAILED',
      err: 'starting container failed: exec: "nope": not found',
    });

    controller.exit = { exitCode: 1, oomKilled: false, error: '' };
    expect((await runTaskStep(task('TASK_STATE_RUNNING'), controller, { now })).status).toMatchObject({
      state: 'TASK_STATE_FAILED',
      message: 'task: non-zero exit (1)',
      exitCode: 1,
    });

    controller.exit = { exitCode: 137, oomKilled: true, error: '' };
    expect((await runTaskStep(task('TASK_STATE_RUNNING'), controller, { now })).status).toMatchObject({
      state: 'TASK_STATE_FAILED',
      err: 'task: non-zero exit (137): OOM killed',
      exitCode: 137,
    });
  });

  it('asks for a retry on a temporary error and leaves the status as it was', async () => {
    const controller = new ScriptedController();
    controller.failures.prepare = new TemporaryExecutorError('docker engine unreachable');
    const t = task('TASK_STATE_PREPARING');
    const result = await runTaskStep(t, controller, { now });
    expect(result.outcome).toBe('retry');
    expect(result.status).toBe(t.status);
    expect(result.error?.message).toBe('docker engine unreachable');
  });

  it('treats an error it does not know as final', async () => {
    const controller = new ScriptedController();
    controller.failures.start = new Error('surprise');
    const result = await runTaskStep(task('TASK_STATE_STARTING'), controller, { now });
    expect(result.status).toMatchObject({ state: 'TASK_STATE_FAILED', err: 'surprise' });
    expect(result.error).toBeInstanceOf(FinalExecutorError);
  });

  it('rejects with the abort reason when the signal aborts a wait', async () => {
    const abort = new AbortController();
    abort.abort(new Error('desired state changed'));
    await expect(
      runTaskStep(task('TASK_STATE_RUNNING'), new ScriptedController(), { now, signal: abort.signal }),
    ).rejects.toThrow('desired state changed');
  });
});
