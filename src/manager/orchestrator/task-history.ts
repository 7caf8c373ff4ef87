// Bounded task history per slot. Every restart or replacement leaves the old task behind, which is
// what `orch service ps` shows under the current one; past the retention limit (the cluster's
// task_history_retention_limit, Swarm's default 5) the oldest terminal tasks are deleted. Only tasks
// that are both finished (observed terminal) and no longer wanted (desired state past running) count
// as history: a task whose container may still run is never deleted, nor a failed task that is still
// its slot's current one. Slots declared removed (scaled away, node gone) lose all their history.

import type { Task__Output } from '../../api/gen/types/orch/objects/Task';
import { isTerminal } from '../../common/task-state';
import { slotKeyOf } from './restart-supervisor';
import { isLive, observedState } from './task-factory';

export const DEFAULT_TASK_HISTORY_RETENTION = 5;

export interface HistoryOptions {
  /** Terminal tasks kept per slot; negative keeps everything. Default 5. */
  readonly retention?: number;
  /** Slots whose history goes entirely: they no longer exist. */
  readonly isSlotRemoved?: (slotKey: string) => boolean;
}

/** IDs of the tasks to delete so that each slot keeps at most `retention` terminal tasks. */
export function planHistoryCleanup(tasks: readonly Task__Output[], options: HistoryOptions = {}): string[] {
  const retention = options.retention ?? DEFAULT_TASK_HISTORY_RETENTION;
  const history = new Map<string, Task__Output[]>();
  for (const task of tasks) {
    if (isLive(task) || !isTerminal(observedState(task))) continue;
    const key = slotKeyOf(task);
    const slot = history.get(key);
    if (slot) slot.push(task);
    else history.set(key, [task]);
  }
  const doomed: string[] = [];
  for (const [key, slot] of history) {
    const keep = options.isSlotRemoved?.(key) ? 0 : retention < 0 ? slot.length : retention;
    if (slot.length <= keep) continue;
    slot.sort(newestFirst);
    for (const task of slot.slice(keep)) doomed.push(task.meta?.id ?? '');
  }
  return doomed.sort();
}

function finishedAt(task: Task__Output): number {
  return task.status?.timestampMs || task.meta?.updatedAtMs || task.meta?.createdAtMs || 0;
}

function newestFirst(a: Task__Output, b: Task__Output): number {
  const byTime = finishedAt(b) - finishedAt(a);
  if (byTime !== 0) return byTime;
  const x = a.meta?.id ?? '';
  const y = b.meta?.id ?? '';
  return x < y ? 1 : x > y ? -1 : 0;
}
