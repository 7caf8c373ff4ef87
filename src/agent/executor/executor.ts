// The contract between the agent and whatever runs its tasks (the Docker engine, or the hollow
// simulator). The agent owns task bookkeeping and reporting; an executor only turns one task into
// one container and back, and tells what it finds on the node. Implementations must be idempotent
// per task: prepare on a task that already has a container, start on a running one, and shutdown or
// remove on one that is gone all succeed, so an agent that restarts can simply step its tasks again.

import type { TaskState } from '../../common/task-state';
import type { BoundPort, ExecutorTask } from './task-spec';

export interface Waitable {
  signal?: AbortSignal;
}

/** The node as the executor sees it; field names match proto NodeDescription. */
export interface NodeDescriptionInfo {
  hostname: string;
  os: string;
  architecture: string;
  nanoCpus: number;
  memoryBytes: number;
  engineVersion: string;
}

/** How a task's process ended. */
export interface ExitStatus {
  exitCode: number;
  oomKilled: boolean;
  /** The engine's error for the container, if any (e.g. a failed start). */
  error: string;
}

/** What the executor sees of a task's container right now. */
export interface ObservedTask {
  taskId: string;
  serviceId: string;
  nodeId: string;
  containerId: string;
  /** The container's state mapped onto the task lifecycle (created → STARTING, exited 0 → COMPLETE...). */
  state: TaskState;
  /** The engine's own word for it (`created`, `running`, `exited`...). */
  engineState: string;
  exitCode: number;
  oomKilled: boolean;
  /** One line describing a failure (non-zero exit, OOM, engine error); empty otherwise. */
  err: string;
  /** Health-check status (`starting`, `healthy`, `unhealthy`); empty without a health check. */
  health: string;
  ports: BoundPort[];
  startedAt?: Date;
  finishedAt?: Date;
}

export interface LogOptions extends Waitable {
  /** Keep the iterator open and yield lines as they are written, until the task stops or `signal` aborts. */
  follow?: boolean;
  /** Only the last `tail` lines already written. */
  tail?: number;
  since?: Date;
  /** Fill each entry's `time`. */
  timestamps?: boolean;
}

export interface LogEntry {
  stream: 'stdout' | 'stderr';
  /** One line without its trailing newline. */
  line: string;
  time?: Date;
}

/**
 * Drives one task's container. Each method does one thing and is idempotent; `runTaskStep` decides
 * which to call. Errors are ExecutorErrors: temporary ones are worth retrying, final ones end the task.
 */
export interface TaskController {
  readonly taskId: string;
  /** Makes the task ready to start: the image (pulled per policy) and a created container. */
  prepare(options?: Waitable): Promise<void>;
  /**
   * Starts the prepared container; a container that already ran is left as it is. With a health
   * check, resolves once the task is healthy (and fails, stopping it, when it turns unhealthy).
   */
  start(options?: Waitable): Promise<void>;
  /** Resolves when the task's process has ended (at once if it already has). */
  wait(options?: Waitable): Promise<ExitStatus>;
  /** Sends the stop signal, waits up to the stop grace period, then kills. */
  shutdown(options?: Waitable): Promise<void>;
  /** Kills at once. */
  terminate(options?: Waitable): Promise<void>;
  /** Removes the container and its anonymous volumes; nothing left is fine. */
  remove(options?: Waitable): Promise<void>;
  /** The container's state, or undefined when the task has none. */
  inspect(options?: Waitable): Promise<ObservedTask | undefined>;
  logs(options?: LogOptions): AsyncIterable<LogEntry>;
}

export interface Executor {
  /** The node this executor runs tasks for (label orch.node.id on everything it creates). */
  readonly nodeId: string;
  describe(options?: Waitable): Promise<NodeDescriptionInfo>;
  /** A controller for `task`; it finds the task's existing container, if any, instead of making another. */
  controller(task: ExecutorTask): TaskController;
  /** Every task container this node has on the engine, running or not: what a restarting agent adopts. */
  listTasks(options?: Waitable): Promise<ObservedTask[]>;
  /** Stops (with the container's own grace period) and removes a task known only by ID, e.g. one no longer assigned. */
  removeTask(taskId: string, options?: Waitable): Promise<void>;
  /** Releases what the executor holds (timers, connections); containers keep running. */
  close(): Promise<void>;
}
