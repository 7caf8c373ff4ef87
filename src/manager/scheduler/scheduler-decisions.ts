// Turning the scheduler's decisions into task updates, and which tasks it should be given. Kept
// apart from the scheduler so the loop that writes to the store owns timestamps and messages.

import type { Task__Output } from '../../api/gen/types/orch/objects/Task';
import { TaskState } from '../../common/task-state';

/** A task waits for a node: desired to run and allocated (pending), not yet assigned. */
export function isAwaitingScheduling(task: Task__Output): boolean {
  return task.desiredState === TaskState.Running && task.status?.state === TaskState.Pending;
}

/** The task as assigned to `nodeId`: observed state assigned, written by the scheduler. */
export function assignTask(task: Task__Output, nodeId: string, nowMs: number): Task__Output {
  return {
    ...task,
    nodeId,
    meta: task.meta && { ...task.meta, updatedAtMs: nowMs },
    status: {
      ...emptyStatus(),
      ...task.status,
      state: TaskState.Assigned,
      message: 'scheduler assigned task to node',
      err: '',
      timestampMs: nowMs,
    },
  };
}

/**
 * The task with `reason` shown as why it is still pending, or undefined when it already says so
 * (so the loop does not rewrite the store on every pass).
 */
export function markUnschedulable(
  task: Task__Output,
  reason: string,
  nowMs: number,
): Task__Output | undefined {
  if (task.status?.err === reason) return undefined;
  return {
    ...task,
    meta: task.meta && { ...task.meta, updatedAtMs: nowMs },
    status: { ...emptyStatus(), ...task.status, err: reason, timestampMs: nowMs },
  };
}

function emptyStatus(): NonNullable<Task__Output['status']> {
  return {
    state: TaskState.Pending,
    message: '',
    err: '',
    exitCode: 0,
    containerId: '',
    timestampMs: 0,
    ports: [],
  };
}
