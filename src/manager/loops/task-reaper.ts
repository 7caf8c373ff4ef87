// The leader's task reaper: keeps `orch service ps` bounded. Each restart or replacement leaves the
// old task behind as history; per slot (replicated: service + slot, global: service + node) the
// newest `task_history_retention_limit` finished tasks are kept (the Cluster's setting, default 5)
// and older ones deleted. Tasks of services that no longer exist are deleted once finished. Only
// finished tasks (observed terminal and no longer desired to run) are ever deleted.
// Runs on task changes that finish a task, service removals, and a change of the history limit.

import { isTerminal } from '../../common/task-state';
import type { ObjectEventOf, ReadTx, Task } from '../../store';
import { slotKeyOf } from '../orchestrator/restart-supervisor';
import { isLive, observedState } from '../orchestrator/task-factory';
import { planHistoryCleanup } from '../orchestrator/task-history';
import { historyRetentionOf } from './loop-events';
import { type LoopOptions, StoreLoop } from './store-loop';
import { CHANGES_PER_UNIT, deleteFinished } from './task-writes';

type Tables = 'tasks' | 'services' | 'clusters';

export class TaskReaper extends StoreLoop<Tables> {
  readonly name = 'task-reaper';
  protected readonly tables = ['tasks', 'services', 'clusters'] as const;
  /** `serviceId\0slotKey` of slots whose history grew. */
  private dirtySlots = new Set<string>();
  private dirtyServices = new Set<string>();
  private retention: number | undefined;

  constructor(options: LoopOptions) {
    super({ ...options, logger: options.logger?.child({ module: 'task-reaper' }) });
  }

  protected resync(tx: ReadTx): void {
    this.retention = historyRetentionOf(tx);
    for (const task of tx.tasks.list()) if (isFinished(task)) this.dirtySlots.add(slotId(task));
  }

  protected handle(event: ObjectEventOf<Tables>): boolean {
    switch (event.table) {
      case 'tasks':
        if (event.type === 'delete' || !isFinished(event.object)) return false;
        if (event.old && isFinished(event.old)) return false;
        this.dirtySlots.add(slotId(event.object));
        return true;
      case 'services':
        if (event.type !== 'delete') return false;
        this.dirtyServices.add(event.object.meta?.id ?? '');
        return true;
      case 'clusters':
        return true; // the limit may have changed: checked in the pass
    }
  }

  protected async pass(): Promise<void> {
    const slots = this.dirtySlots;
    const services = this.dirtyServices;
    this.dirtySlots = new Set();
    this.dirtyServices = new Set();
    const doomed = this.store.view((tx) => {
      const retention = historyRetentionOf(tx);
      if (retention !== this.retention) {
        this.retention = retention;
        for (const task of tx.tasks.list()) if (isFinished(task)) slots.add(slotId(task));
      }
      const ids: string[] = [];
      const seen = new Set<string>();
      for (const serviceId of services) {
        seen.add(serviceId);
        if (!tx.services.get(serviceId))
          for (const task of tx.tasks.findByService(serviceId))
            if (isFinished(task)) ids.push(task.meta?.id ?? '');
      }
      for (const key of slots) {
        const [serviceId, slotKey] = key.split('\u0000') as [string, string];
        if (!tx.services.get(serviceId)) {
          if (!seen.has(serviceId)) {
            seen.add(serviceId);
            for (const task of tx.tasks.findByService(serviceId))
              if (isFinished(task)) ids.push(task.meta?.id ?? '');
          }
          continue;
        }
        const slot = Number(slotKey);
        const tasks =
          Number.isInteger(slot) && slot > 0
            ? tx.tasks.findBySlot(serviceId, slot)
            : tx.tasks.find({ serviceId, nodeId: slotKey }).filter((t) => t.slot === 0);
        ids.push(...planHistoryCleanup(tasks, { retention }));
      }
      return ids;
    });
    if (doomed.length === 0) return;
    let deleted = 0;
    try {
      await this.store.batch(async (batch) => {
        for (let i = 0; i < doomed.length; i += CHANGES_PER_UNIT) {
          this.assertRunning();
          const chunk = doomed.slice(i, i + CHANGES_PER_UNIT);
          deleted += await batch.update((tx) => deleteFinished(tx, chunk));
        }
      });
    } catch (err) {
      for (const key of slots) this.dirtySlots.add(key);
      for (const id of services) this.dirtyServices.add(id);
      throw err;
    }
    this.logger.debug({ deleted }, 'deleted old tasks');
  }
}

function isFinished(task: Task): boolean {
  return !isLive(task) && isTerminal(observedState(task));
}

function slotId(task: Task): string {
  return `${task.serviceId}\u0000${slotKeyOf(task)}`;
}
