// Writing a reconcile plan back without trusting that nothing moved since it was computed. Plans are
// made from a view; by the time they are written, an agent may have reported, an operator may have
// changed something, another loop may have written. Each update is therefore checked against the
// task's current version inside the transaction: if any task of a plan moved, the plan (the rest of
// it) is dropped as stale and the caller reconciles again from fresh state. Creates come last, so a
// replacement never exists without its predecessor's shutdown. Deletes only remove tasks that are
// still finished. Large plans are split into units so no transaction grows past the store's limits.

import { isTerminal } from '../../common/task-state';
import type { Batch, Task, WriteTx } from '../../store';
import { isLive, observedState } from '../orchestrator/task-factory';

/** Changes per unit of a batch: well under the store's 200-changes/1 MiB transaction target. */
export const CHANGES_PER_UNIT = 100;

export interface TaskChanges {
  readonly create: readonly Task[];
  /** New versions of tasks, carrying the meta.version they were computed from. */
  readonly update: readonly Task[];
  readonly delete: readonly string[];
}

/** A task in the plan changed since the plan was made. */
class StalePlanError extends Error {
  override name = 'StalePlanError';
}

/**
 * Writes `changes` through `batch`; resolves with false when the plan was stale (some of it may
 * have been written; what is left is dropped) and true when all of it was handed to the batch.
 * `beforeUnit` runs before each unit (the loops use it to stop writing once they are stopped).
 */
export async function writeTaskChanges(
  batch: Batch,
  changes: TaskChanges,
  beforeUnit: () => void = () => {},
): Promise<boolean> {
  const deleting = new Set(changes.delete);
  try {
    for (let i = 0; i < changes.update.length; i += CHANGES_PER_UNIT) {
      const chunk = changes.update.slice(i, i + CHANGES_PER_UNIT);
      beforeUnit();
      await batch.update((tx) => {
        for (const next of chunk) {
          const id = next.meta?.id ?? '';
          const current = tx.tasks.get(id);
          if (!current || current.meta?.version !== next.meta?.version) throw new StalePlanError(id);
          if (deleting.has(id)) tx.tasks.delete(id, current.meta?.version);
          else tx.tasks.update(next);
        }
      });
    }
  } catch (err) {
    if (err instanceof StalePlanError) return false;
    throw err;
  }
  const updated = new Set(changes.update.map((t) => t.meta?.id ?? ''));
  const deletes = changes.delete.filter((id) => !updated.has(id));
  for (let i = 0; i < deletes.length; i += CHANGES_PER_UNIT) {
    const chunk = deletes.slice(i, i + CHANGES_PER_UNIT);
    beforeUnit();
    await batch.update((tx) => deleteFinished(tx, chunk));
  }
  for (let i = 0; i < changes.create.length; i += CHANGES_PER_UNIT) {
    const chunk = changes.create.slice(i, i + CHANGES_PER_UNIT);
    beforeUnit();
    await batch.update((tx) => {
      for (const task of chunk) if (!tx.tasks.get(task.meta?.id ?? '')) tx.tasks.create(task);
    });
  }
  return true;
}

/** Deletes the tasks that still exist and are still finished (terminal and not desired to run). */
export function deleteFinished(tx: WriteTx, ids: readonly string[]): number {
  let deleted = 0;
  for (const id of ids) {
    const current = tx.tasks.get(id);
    if (!current || isLive(current) || !isTerminal(observedState(current))) continue;
    tx.tasks.delete(id, current.meta?.version);
    deleted++;
  }
  return deleted;
}
