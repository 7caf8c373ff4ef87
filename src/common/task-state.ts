// The Swarm task lifecycle, shared by managers and agents: the order of task states, which are terminal, which moves are allowed,
// and who may write what. A task has two state fields kept apart on purpose:
//  - desired state (Task.desired_state) is written by managers only: what the cluster wants
//    (running, or shut down), and it only ever moves forward;
//  - observed state (Task.status.state) is what happened: managers write the states before a task
//    reaches a worker (new → pending → assigned) and orphaned (its node is gone for good, so no
//    agent will ever report); the agent writes everything from accepted on.
// A state never goes backwards: a restart is a new task in the same slot.

import type { TaskState__Output } from '../api/gen/types/orch/objects/TaskState';

export type TaskStateValue = TaskState__Output;
/** `TaskState` is also the type of a state value, so `state: TaskState` reads naturally. */
export type TaskState = TaskStateValue;

/** The proto enum's values under readable names: `TaskState.Running`. */
export const TaskState = {
  New: 'TASK_STATE_NEW',
  Pending: 'TASK_STATE_PENDING',
  Assigned: 'TASK_STATE_ASSIGNED',
  Accepted: 'TASK_STATE_ACCEPTED',
  Preparing: 'TASK_STATE_PREPARING',
  Starting: 'TASK_STATE_STARTING',
  Running: 'TASK_STATE_RUNNING',
  Complete: 'TASK_STATE_COMPLETE',
  Shutdown: 'TASK_STATE_SHUTDOWN',
  Failed: 'TASK_STATE_FAILED',
  Rejected: 'TASK_STATE_REJECTED',
  Orphaned: 'TASK_STATE_ORPHANED',
} as const satisfies Record<string, TaskStateValue>;

const RANK: Record<TaskStateValue, number> = {
  TASK_STATE_NEW: 0,
  TASK_STATE_PENDING: 1,
  TASK_STATE_ASSIGNED: 2,
  TASK_STATE_ACCEPTED: 3,
  TASK_STATE_PREPARING: 4,
  TASK_STATE_STARTING: 5,
  TASK_STATE_RUNNING: 6,
  TASK_STATE_COMPLETE: 7,
  TASK_STATE_SHUTDOWN: 8,
  TASK_STATE_FAILED: 9,
  TASK_STATE_REJECTED: 10,
  TASK_STATE_ORPHANED: 11,
};

/** Position in the lifecycle; unknown values (a newer peer's enum) rank as terminal. */
export function taskStateRank(state: TaskStateValue): number {
  return RANK[state] ?? RANK.TASK_STATE_ORPHANED;
}

/** Complete, shutdown, failed, rejected and orphaned: the task will never run again. */
export function isTerminal(state: TaskStateValue): boolean {
  return taskStateRank(state) >= RANK.TASK_STATE_COMPLETE;
}

/** The observed state is one a task passes through before it runs (new .. starting). */
export function isBeforeRunning(state: TaskStateValue): boolean {
  return taskStateRank(state) < RANK.TASK_STATE_RUNNING;
}

/** Whether `a` comes strictly before `b` in the lifecycle. */
export function isStateBefore(a: TaskStateValue, b: TaskStateValue): boolean {
  return taskStateRank(a) < taskStateRank(b);
}

/** Any forward move is allowed (states may be skipped); nothing leaves a terminal state. */
export function canTransition(from: TaskStateValue, to: TaskStateValue): boolean {
  return !isTerminal(from) && taskStateRank(to) > taskStateRank(from);
}

/** The states a manager may set as a task's desired state. */
export const DESIRED_STATES: readonly TaskStateValue[] = [
  TaskState.Running,
  TaskState.Complete,
  TaskState.Shutdown,
];

export type StateWriter = 'manager' | 'agent';

/** Who may report a task as having reached `state` (its observed state). */
export function observedStateWriter(state: TaskStateValue): StateWriter {
  switch (state) {
    case TaskState.New:
    case TaskState.Pending:
    case TaskState.Assigned:
    case TaskState.Orphaned:
      return 'manager';
    default:
      return 'agent';
  }
}

export class TaskStateError extends Error {
  override name = 'TaskStateError';
  constructor(
    readonly from: TaskStateValue,
    readonly to: TaskStateValue,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(`task state ${formatTaskState(from)} → ${formatTaskState(to)}: ${reason}`, options);
  }
}

/**
 * Checks a change of observed state by `writer`. A manager may additionally shut down a task that
 * never reached an agent (new or pending): nobody else could ever report it.
 */
export function checkObservedTransition(writer: StateWriter, from: TaskStateValue, to: TaskStateValue): void {
  if (!canTransition(from, to)) throw new TaskStateError(from, to, 'a task state never goes backwards');
  const neverAssigned = from === TaskState.New || from === TaskState.Pending;
  if (writer === 'manager' && to === TaskState.Shutdown && neverAssigned) return;
  if (observedStateWriter(to) !== writer) {
    throw new TaskStateError(
      from,
      to,
      `only ${writer === 'agent' ? 'managers' : 'agents'} report this state`,
    );
  }
}

/** Checks a change of desired state (managers only): running → complete/shutdown, never back. */
export function checkDesiredTransition(from: TaskStateValue, to: TaskStateValue): void {
  if (!DESIRED_STATES.includes(to)) throw new TaskStateError(from, to, 'not a desired state');
  if (taskStateRank(to) < taskStateRank(from))
    throw new TaskStateError(from, to, 'a desired state never goes backwards');
}

/** Lower-case name as `orch service ps` prints it: `TASK_STATE_RUNNING` → `running`. */
export function formatTaskState(state: TaskStateValue): string {
  return String(state)
    .replace(/^TASK_STATE_/, '')
    .toLowerCase();
}
