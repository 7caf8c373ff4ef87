// Making and changing task objects the way managers may: new tasks start observed `new` and desired
// `running`; later versions only move desired state forward, or shut down a task no agent ever saw.
// Every function returns a new object; nothing is mutated.

import type { Service__Output } from '../../api/gen/types/orch/objects/Service';
import type { Task__Output } from '../../api/gen/types/orch/objects/Task';
import { isTerminal, TaskState, type TaskStateValue, taskStateRank } from '../../common/task-state';

export interface NewTaskOptions {
  readonly id: string;
  readonly nowMs: number;
  /** Replicated services: 1-based slot. Global services: 0, with nodeId set. */
  readonly slot: number;
  /** Global services: the node the task belongs to. */
  readonly nodeId?: string;
  /** Jobs: which run of the job the task belongs to. */
  readonly jobIteration?: number;
}

/** A new task of `service`, carrying a copy of its current spec and endpoint. */
export function newTask(service: Service__Output, options: NewTaskOptions): Task__Output {
  return {
    meta: { id: options.id, version: 0, createdAtMs: options.nowMs, updatedAtMs: options.nowMs },
    serviceId: service.meta?.id ?? '',
    slot: options.slot,
    nodeId: options.nodeId ?? '',
    spec: service.spec,
    desiredState: TaskState.Running,
    status: { ...emptyStatus(), state: TaskState.New, message: 'created', timestampMs: options.nowMs },
    endpoint: service.endpoint,
    networks: [],
    jobIteration: options.jobIteration ?? 0,
  };
}

/** The tasks of `service` among `tasks`: reconcilers ignore anything else they are handed. */
export function tasksOf(service: Service__Output, tasks: readonly Task__Output[]): Task__Output[] {
  const id = service.meta?.id ?? '';
  return tasks.filter((task) => task.serviceId === id);
}

/** Whether the task is meant to run (desired state running or before). */
export function isLive(task: Task__Output): boolean {
  return taskStateRank(task.desiredState) <= taskStateRank(TaskState.Running);
}

/** The observed state, `new` when the task has no status yet. */
export function observedState(task: Task__Output): TaskStateValue {
  return task.status?.state ?? TaskState.New;
}

/**
 * The task asked to stop: desired state shutdown. A task that never reached an agent (new or
 * pending) is also marked shut down, since no agent will ever report on it.
 */
export function shutDownTask(
  task: Task__Output,
  nowMs: number,
  message = 'shutdown requested',
): Task__Output {
  const state = observedState(task);
  const neverAssigned = state === TaskState.New || state === TaskState.Pending;
  return {
    ...task,
    meta: task.meta && { ...task.meta, updatedAtMs: nowMs },
    desiredState: TaskState.Shutdown,
    status: neverAssigned
      ? { ...emptyStatus(), ...task.status, state: TaskState.Shutdown, message, timestampMs: nowMs }
      : task.status,
  };
}

/** The task marked orphaned: its node is gone, so the manager reports what no agent can. */
export function orphanTask(task: Task__Output, nowMs: number, message: string): Task__Output {
  if (isTerminal(observedState(task))) return task;
  return {
    ...task,
    meta: task.meta && { ...task.meta, updatedAtMs: nowMs },
    desiredState: isLive(task) ? TaskState.Shutdown : task.desiredState,
    status: { ...emptyStatus(), ...task.status, state: TaskState.Orphaned, message, timestampMs: nowMs },
  };
}

function emptyStatus(): NonNullable<Task__Output['status']> {
  return {
    state: TaskState.New,
    message: '',
    err: '',
    exitCode: 0,
    containerId: '',
    timestampMs: 0,
    ports: [],
  };
}
