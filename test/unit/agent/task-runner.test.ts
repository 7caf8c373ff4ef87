import { TaskRunner } from '../../../src/agent';
import {
  defaultTaskRunSpec,
  type ExecutorTask,
  type ExitStatus,
  type TaskController,
  TemporaryExecutorError,
  type Waitable,
} from '../../../src/agent/executor';
import type { TaskStatus } from '../../../src/api/gen/types/orch/objects/TaskStatus';
import { silentLogger } from '../../../src/common/logger';

/** A controller whose prepare fails `temporaryFailures` times and whose wait lasts until aborted. */
class ScriptedController implements TaskController {
  readonly taskId = 't-1';
  readonly calls: string[] = [];
  constructor(private temporaryFailures = 0) {}
  async prepare(): Promise<void> {
    this.calls.push('prepare');
    if (this.temporaryFailures-- > 0) throw new TemporaryExecutorError('engine did not answer');
  }
  async start(): Promise<void> {
    this.calls.push('start');
  }
  wait(options: Waitable = {}): Promise<ExitStatus> {
    this.calls.push('wait');
    return new Promise((_resolve, reject) =>
      options.signal?.addEventListener('abort', () => reject(options.signal!.reason), { once: true }),
    );
  }
  async shutdown(): Promise<void> {
    this.calls.push('shutdown');
  }
  async terminate(): Promise<void> {
    this.calls.push('terminate');
  }
  async remove(): Promise<void> {
    this.calls.push('remove');
  }
  async inspect() {
    return undefined;
  }
  async *logs() {}
}

function task(): ExecutorTask {
  return {
    id: 't-1',
    serviceId: 's',
    serviceName: 'web',
    slot: 1,
    nodeId: 'n',
    desiredState: 'TASK_STATE_RUNNING',
    status: {
      state: 'TASK_STATE_ASSIGNED',
      message: '',
      err: '',
      exitCode: 0,
      containerId: '',
      timestampMs: 0,
    },
    spec: defaultTaskRunSpec('x'),
  };
}

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 2_000 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 2));
  expect(check()).toBe(true);
}

describe('task runner', () => {
  it('retries a temporary executor error with back-off, then carries on to running', async () => {
    const controller = new ScriptedController(2);
    const reported: TaskStatus[] = [];
    const runner = new TaskRunner({
      task: task(),
      controller,
      report: (_id, status) => reported.push(status),
      logger: silentLogger(),
      retryBackoff: { initialMs: 1, maxMs: 2 },
    });
    runner.start();
    await until(() => reported.at(-1)?.state === 'TASK_STATE_RUNNING');
    expect(controller.calls.filter((c) => c === 'prepare')).toHaveLength(3);
    expect(reported.map((r) => r.state)).toEqual([
      'TASK_STATE_ACCEPTED',
      'TASK_STATE_PREPARING',
      'TASK_STATE_STARTING',
      'TASK_STATE_RUNNING',
    ]);
    await runner.stop();
  });

  it('interrupts the wait on a running task when the desired state becomes shutdown', async () => {
    const controller = new ScriptedController();
    const reported: TaskStatus[] = [];
    const runner = new TaskRunner({
      task: task(),
      controller,
      report: (_id, status) => reported.push(status),
      logger: silentLogger(),
    });
    runner.start();
    await until(() => controller.calls.includes('wait'));
    runner.update('TASK_STATE_SHUTDOWN');
    await until(() => reported.at(-1)?.state === 'TASK_STATE_SHUTDOWN');
    expect(controller.calls.at(-1)).toBe('shutdown');
    // A desired state never goes back: an older version of the task changes nothing.
    runner.update('TASK_STATE_RUNNING');
    expect(runner.desiredState).toBe('TASK_STATE_SHUTDOWN');
    await runner.retire();
    expect(controller.calls.at(-1)).toBe('remove');
  });

  it('stops driving without touching the container when the agent closes', async () => {
    const controller = new ScriptedController();
    const runner = new TaskRunner({ task: task(), controller, report: () => {}, logger: silentLogger() });
    runner.start();
    await until(() => controller.calls.includes('wait'));
    await runner.stop();
    expect(controller.calls).not.toContain('shutdown');
    expect(controller.calls).not.toContain('remove');
  });
});
