// Drives one assigned task with the executor, one state at a time (runTaskStep), the way
// swarmkit's agent task manager does: report each new status, retry temporary errors with back-off,
// wait when there is nothing to do, and react at once to a new desired state — a shutdown aborts a
// wait on the running container and the next step stops it. When the task is no longer assigned the
// runner stops it if needed and removes its container.
import type { Logger } from 'pino';
import type { TaskState__Output } from '../api/gen/types/orch/objects/TaskState';
import type { TaskStatus } from '../api/gen/types/orch/objects/TaskStatus';
import { Backoff, type BackoffOptions } from './backoff';
import {
  type BoundPort,
  boundPortsToProto,
  type ExecutorTask,
  isTerminal,
  runTaskStep,
  type TaskController,
  taskStateRank,
} from './executor';

export interface TaskRunnerOptions {
  task: ExecutorTask;
  controller: TaskController;
  report: (taskId: string, status: TaskStatus) => void;
  logger: Logger;
  retryBackoff?: BackoffOptions;
  now?: () => number;
}

/** Why a pending step was interrupted (the step is simply run again with the new desired state). */
class DesiredStateChanged extends Error {
  override name = 'DesiredStateChanged';
}

export class TaskRunner {
  readonly id: string;
  private task: ExecutorTask;
  readonly controller: TaskController;
  private ports: BoundPort[] = [];
  private stepAbort: AbortController | undefined;
  private wake: (() => void) | undefined;
  private readonly closing = new AbortController();
  private loop: Promise<void> | undefined;
  private readonly backoff: Backoff;

  constructor(private readonly options: TaskRunnerOptions) {
    this.task = options.task;
    this.id = options.task.id;
    this.controller = options.controller;
    this.backoff = new Backoff({ initialMs: 100, maxMs: 10_000, ...options.retryBackoff });
  }

  get desiredState(): TaskState__Output {
    return this.task.desiredState;
  }

  get observedState(): TaskState__Output {
    return this.task.status.state;
  }

  get serviceId(): string {
    return this.task.serviceId;
  }

  /** Starts the loop (once). */
  start(): void {
    this.loop ??= this.run();
  }

  /**
   * A new version of the task from the manager. Only a desired state further along matters (specs
   * do not change; a restart is a new task): it interrupts whatever step is waiting.
   */
  update(desiredState: TaskState__Output): void {
    if (taskStateRank(desiredState) <= taskStateRank(this.task.desiredState)) return;
    this.task = { ...this.task, desiredState };
    this.stepAbort?.abort(new DesiredStateChanged());
    this.kick();
  }

  /** Marks the task rejected before it ever ran (e.g. a secret the node could not get) and reports it. */
  reject(message: string): void {
    this.setStatus({
      ...this.task.status,
      state: 'TASK_STATE_REJECTED',
      message,
      err: message,
      timestampMs: this.now(),
    });
  }

  /** Stops driving the task; the container is left as it is (an agent restart adopts it). */
  async stop(): Promise<void> {
    this.closing.abort();
    this.stepAbort?.abort(new DesiredStateChanged());
    this.kick();
    await this.loop;
  }

  /** The task is no longer assigned: stop driving it, stop its container if still running, and remove it. */
  async retire(): Promise<void> {
    await this.stop();
    try {
      if (!isTerminal(this.task.status.state)) await this.controller.shutdown();
      await this.controller.remove();
    } catch (err) {
      this.options.logger.warn({ task: this.id, err }, 'removing an unassigned task failed');
    }
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  private kick(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  private setStatus(status: ExecutorTask['status'], ports?: BoundPort[]): void {
    if (ports !== undefined) this.ports = ports;
    this.task = { ...this.task, status };
    this.options.report(this.id, {
      state: status.state,
      message: status.message,
      err: status.err,
      exitCode: status.exitCode,
      containerId: status.containerId,
      timestampMs: status.timestampMs,
      ports: boundPortsToProto(this.ports),
    });
  }

  /** Waits until update() or stop() calls, or `ms` elapse. */
  private idle(ms?: number): Promise<void> {
    if (this.closing.signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      this.wake = () => {
        if (timer !== undefined) clearTimeout(timer);
        resolve();
      };
      if (ms !== undefined) {
        timer = setTimeout(() => this.kick(), ms);
        timer.unref();
      }
    });
  }

  private async run(): Promise<void> {
    const { logger } = this.options;
    while (!this.closing.signal.aborted) {
      const abort = new AbortController();
      this.stepAbort = abort;
      let result: Awaited<ReturnType<typeof runTaskStep>>;
      try {
        result = await runTaskStep(this.task, this.controller, {
          signal: abort.signal,
          logger,
          now: () => this.now(),
        });
      } catch (err) {
        if (abort.signal.aborted) continue; // desired state changed, or stopping: step again / leave
        logger.error({ task: this.id, err }, 'task step failed unexpectedly; retrying');
        await this.idle(this.backoff.next());
        continue;
      } finally {
        this.stepAbort = undefined;
      }
      switch (result.outcome) {
        case 'advanced':
          this.backoff.reset();
          this.setStatus(result.status, result.ports);
          break;
        case 'retry':
          await this.idle(this.backoff.next());
          break;
        case 'noop':
          await this.idle();
          break;
        case 'dead':
          // Terminal: nothing will change it; wait only to be stopped or retired.
          await this.idle();
          break;
      }
    }
  }
}
