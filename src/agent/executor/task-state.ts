// The order of task states. A task's observed state only ever moves forward along it; everything
// past RUNNING is terminal (a restart is a new task in the same slot).
import type { TaskState__Output } from '../../api/gen/types/orch/objects/TaskState';

export type TaskState = TaskState__Output;

const RANK: Record<TaskState, number> = {
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

/** Position of `state` in the lifecycle; compare ranks, never the strings. */
export function taskStateRank(state: TaskState): number {
  return RANK[state];
}

export function isTerminal(state: TaskState): boolean {
  return RANK[state] > RANK.TASK_STATE_RUNNING;
}

/** Short lower-case name as `orch service ps` shows it: `running`, `failed`... */
export function taskStateName(state: TaskState): string {
  return state.replace(/^TASK_STATE_/, '').toLowerCase();
}
