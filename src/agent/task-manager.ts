// The agent's set of assigned tasks, as swarmkit's agent worker keeps it: it applies the
// dispatcher's COMPLETE and INCREMENTAL assignment sets, keeps one TaskRunner per task and the
// secrets and configs the tasks reference, and removes what is no longer assigned. On start it
// adopts the containers the node already has: a runner built for an assigned task finds its
// container through the executor (controllers are idempotent), and once the first COMPLETE set has
// arrived, containers of tasks that are not in it are removed.
import type { Logger } from 'pino';
import type { Config__Output } from '../api/gen/types/orch/objects/Config';
import type { Secret__Output } from '../api/gen/types/orch/objects/Secret';
import type { Task__Output } from '../api/gen/types/orch/objects/Task';
import type { TaskStatus } from '../api/gen/types/orch/objects/TaskStatus';
import type { AssignmentsMessage__Output } from '../manager/dispatcher/dispatcher-grpc';
import type { BackoffOptions } from './backoff';
import {
  type Executor,
  type ExecutorTask,
  executorTaskFromProto,
  type ObservedTask,
  type TaskFile,
  taskFilesFromProto,
} from './executor';
import { TaskRunner } from './task-runner';

export interface TaskManagerOptions {
  executor: Executor;
  report: (taskId: string, status: TaskStatus) => void;
  /** A task no longer assigned: its unsent reports are pointless. */
  forget?: (taskId: string) => void;
  logger: Logger;
  /** Where ingress-mode ports are bound for the routing mesh (see executorTaskFromProto). */
  ingressHostIp?: string;
  retryBackoff?: BackoffOptions;
  now?: () => number;
}

export class TaskManager {
  private readonly runners = new Map<string, TaskRunner>();
  private readonly secrets = new Map<string, Secret__Output>();
  private readonly configs = new Map<string, Config__Output>();
  /** Containers found on the node at start, until the first COMPLETE set says which to keep. */
  private adopted: ObservedTask[] | undefined;
  private completeSeen = false;
  private readonly retiring = new Set<Promise<void>>();
  private partialComplete: AssignmentsMessage__Output['changes'] = [];
  private closed = false;

  constructor(private readonly options: TaskManagerOptions) {}

  get taskIds(): string[] {
    return [...this.runners.keys()];
  }

  runner(taskId: string): TaskRunner | undefined {
    return this.runners.get(taskId);
  }

  /** The containers found on the node before any assignment (what adoption will sort out). */
  setAdopted(observed: ObservedTask[]): void {
    if (!this.completeSeen) this.adopted = observed;
  }

  /**
   * Applies one assignments message. The parts of a COMPLETE set split over several messages
   * (`more`) are gathered and applied together with the last one.
   */
  apply(message: AssignmentsMessage__Output): void {
    if (this.closed) return;
    if (message.type === 'ASSIGNMENTS_TYPE_COMPLETE') {
      this.partialComplete.push(...message.changes);
      if (message.more) return;
      const changes = this.partialComplete;
      this.partialComplete = [];
      this.applyChanges(true, changes);
      return;
    }
    this.applyChanges(false, message.changes);
  }

  /** A new session starts from a fresh COMPLETE set: drop the parts of one that was cut short. */
  sessionEnded(): void {
    this.partialComplete = [];
  }

  private applyChanges(complete: boolean, changes: AssignmentsMessage__Output['changes']): void {
    const tasks: Task__Output[] = [];
    const removed: string[] = [];
    if (complete) {
      this.secrets.clear();
      this.configs.clear();
    }
    for (const change of changes) {
      const remove = change.action === 'ASSIGNMENT_ACTION_REMOVE';
      if (change.secret) {
        if (remove) this.secrets.delete(change.secret.meta?.id ?? '');
        else this.secrets.set(change.secret.meta!.id, change.secret);
      } else if (change.config) {
        if (remove) this.configs.delete(change.config.meta?.id ?? '');
        else this.configs.set(change.config.meta!.id, change.config);
      } else if (change.task) {
        if (remove) removed.push(change.task.meta?.id ?? '');
        else tasks.push(change.task);
      }
    }
    if (complete) {
      const keep = new Set(tasks.map((t) => t.meta!.id));
      for (const id of this.runners.keys()) if (!keep.has(id)) removed.push(id);
    }
    for (const id of removed) this.retire(id);
    for (const task of tasks) this.upsert(task);
    if (complete && !this.completeSeen) {
      this.completeSeen = true;
      this.removeUnassignedContainers();
    }
  }

  /** Stops every runner (containers keep running) and waits for retirements in progress. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.runners.values()].map((r) => r.stop()));
    this.runners.clear();
    await Promise.all(this.retiring);
  }

  /** Resolves when no removal is in progress (for tests). */
  async settled(): Promise<void> {
    while (this.retiring.size > 0) await Promise.all(this.retiring);
  }

  private upsert(task: Task__Output): void {
    const id = task.meta!.id;
    const existing = this.runners.get(id);
    if (existing !== undefined) {
      existing.update(task.desiredState);
      return;
    }
    const { logger, executor } = this.options;
    let files: TaskFile[] = [];
    let rejection: string | undefined;
    try {
      files = taskFilesFromProto(task.spec?.container ?? { secrets: [], configs: [] }, (ref) =>
        ref.kind === 'secret' ? this.secrets.get(ref.id)?.spec?.data : this.configs.get(ref.id)?.spec?.data,
      );
    } catch (err) {
      rejection = (err as Error).message;
    }
    const executorTask: ExecutorTask = executorTaskFromProto(task, {
      ingressHostIp: this.options.ingressHostIp,
      extra: { files },
    });
    const runner = new TaskRunner({
      task: executorTask,
      controller: executor.controller(executorTask),
      report: this.options.report,
      logger: logger.child({ task: id }),
      retryBackoff: this.options.retryBackoff,
      now: this.options.now,
    });
    this.runners.set(id, runner);
    if (rejection !== undefined) runner.reject(rejection);
    runner.start();
  }

  private retire(id: string): void {
    const runner = this.runners.get(id);
    this.options.forget?.(id);
    if (runner === undefined) return;
    this.runners.delete(id);
    this.track(runner.retire());
  }

  private removeUnassignedContainers(): void {
    const adopted = this.adopted ?? [];
    this.adopted = undefined;
    for (const observed of adopted) {
      if (this.runners.has(observed.taskId)) continue;
      this.options.logger.info(
        { task: observed.taskId },
        'removing the container of a task no longer assigned',
      );
      this.track(
        this.options.executor.removeTask(observed.taskId).catch((err) => {
          this.options.logger.warn({ task: observed.taskId, err }, 'removing an unassigned container failed');
        }),
      );
    }
  }

  private track(work: Promise<void>): void {
    const tracked = work.finally(() => this.retiring.delete(tracked));
    this.retiring.add(tracked);
  }
}
