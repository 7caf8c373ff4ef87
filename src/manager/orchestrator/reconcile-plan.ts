// What a reconcile decided, for the caller to write in one store transaction: tasks to create, tasks
// to update (whole new versions, desired state changed), tasks to delete, restarts to record with
// the restart supervisor once the write succeeded, and when to run again for a delayed restart.

import type { Task__Output } from '../../api/gen/types/orch/objects/Task';
import type { RestartRecord } from './restart-supervisor';

export interface ReconcilePlan {
  readonly create: Task__Output[];
  /** New versions of existing tasks (same meta.id); write them with the version they were read at. */
  readonly update: Task__Output[];
  /** IDs of tasks to delete (history beyond the retention limit, tasks of removed slots). */
  readonly delete: string[];
  /** Pass to RestartSupervisor.record() after the plan was committed. */
  readonly restarts: RestartRecord[];
  /** Set when a restart is waiting for its delay: reconcile the service again at this time. */
  wakeAtMs?: number;
}

export function emptyPlan(): ReconcilePlan {
  return { create: [], update: [], delete: [], restarts: [] };
}

export function isEmptyPlan(plan: ReconcilePlan): boolean {
  return plan.create.length + plan.update.length + plan.delete.length === 0 && plan.wakeAtMs === undefined;
}

/** Keeps the earliest wake-up time. */
export function wakeAt(plan: ReconcilePlan, atMs: number): void {
  plan.wakeAtMs = plan.wakeAtMs === undefined ? atMs : Math.min(plan.wakeAtMs, atMs);
}
