// The leader's scheduler loop: keeps a Scheduler's view of nodes and tasks current from the watch and
// places pending tasks in batches. After a debounce it takes every task awaiting a node (desired
// running, observed pending), as the store has it now, and schedules them in one pass: assignments
// are written as node ID + observed `assigned`; tasks that fit nowhere stay pending with the reason in
// status.err (rewritten only when it changes), which is what `orch service ps` shows. A placement
// whose write did not happen is taken back (revertPlacement) so the view keeps only what the store
// holds. Pending tasks are tried again whenever a node or a task changes, since either can free room.

import { isTerminal } from '../../common/task-state';
import type { ObjectEventOf, ReadTx, Task } from '../../store';
import { observedState } from '../orchestrator/task-factory';
import { Scheduler, type SchedulerOptions } from '../scheduler/scheduler';
import { assignTask, isAwaitingScheduling, markUnschedulable } from '../scheduler/scheduler-decisions';
import { nodeChangeMatters } from './loop-events';
import { type LoopOptions, StoreLoop } from './store-loop';

export interface SchedulerLoopOptions extends LoopOptions {
  readonly scheduler?: SchedulerOptions;
}

type Tables = 'nodes' | 'tasks';

export class SchedulerLoop extends StoreLoop<Tables> {
  readonly name = 'scheduler';
  protected readonly tables = ['nodes', 'tasks'] as const;
  private readonly options: SchedulerOptions;
  private scheduler: Scheduler;
  /** IDs of tasks awaiting a node, as last seen. */
  private readonly pending = new Set<string>();
  /** Task ID → node: placements of this pass not yet known to be written. */
  private inFlight = new Map<string, string>();

  constructor(options: SchedulerLoopOptions) {
    super({ ...options, logger: options.logger?.child({ module: 'scheduler' }) });
    this.options = options.scheduler ?? {};
    this.scheduler = new Scheduler(this.options);
  }

  /** Tasks awaiting a node as this loop sees them (for status and tests). */
  get pendingCount(): number {
    return this.pending.size;
  }

  /** What the scheduler counts as taken on a node: reservations and tasks holding them. */
  reservedOn(nodeId: string): { nanoCpus: number; memoryBytes: number; tasks: number } {
    const info = this.scheduler.nodeInfo(nodeId);
    return {
      nanoCpus: info?.reservedNanoCpus ?? 0,
      memoryBytes: info?.reservedMemoryBytes ?? 0,
      tasks: info?.taskCount ?? 0,
    };
  }

  protected resync(tx: ReadTx): void {
    this.scheduler = new Scheduler(this.options);
    this.pending.clear();
    for (const node of tx.nodes.list()) this.scheduler.setNode(node);
    for (const task of tx.tasks.list()) {
      this.scheduler.setTask(task);
      if (isAwaitingScheduling(task)) this.pending.add(task.meta?.id ?? '');
    }
  }

  protected handle(event: ObjectEventOf<Tables>): boolean {
    if (event.table === 'nodes') {
      if (event.type === 'delete') this.scheduler.removeNode(event.object.meta?.id ?? '');
      else this.scheduler.setNode(event.object);
      return this.pending.size > 0 && (event.type !== 'update' || nodeChangeMatters(event.old, event.object));
    }
    const task = event.object;
    const id = task.meta?.id ?? '';
    if (event.type === 'delete') {
      this.scheduler.removeTask(id);
      this.pending.delete(id);
      return false;
    }
    this.scheduler.setTask(task);
    if (isAwaitingScheduling(task)) {
      this.pending.add(id);
      return true;
    }
    this.pending.delete(id);
    // A task that stopped or left its node may have made room for one still waiting.
    return this.pending.size > 0 && freedRoom(task, event.old);
  }

  protected async pass(): Promise<void> {
    if (this.pending.size === 0) return;
    // Service by service (tasks of one service stay together, so they spread as one group), in
    // chunks: each chunk is read again from the store, scheduled, written as its own batch, and the
    // event loop runs before the next. The scheduler's view keeps the earlier chunks' placements.
    const queue = this.store
      .view((tx) => this.currentPending(tx))
      .sort((a, b) => compare(a.serviceId, b.serviceId) || compare(a.meta?.id ?? '', b.meta?.id ?? ''))
      .map((task) => task.meta?.id ?? '');
    for (let next = 0; next < queue.length; ) {
      if (next > 0) await this.yieldBetweenChunks();
      const budget = this.newChunk();
      const start = next;
      const tasks = this.store.view((tx) => {
        const chunk: Task[] = [];
        while (next < queue.length && (next === start || !budget.exhausted)) {
          const id = queue[next++]!;
          budget.spend(1);
          const task = tx.tasks.get(id);
          if (task && isAwaitingScheduling(task)) chunk.push(task);
        }
        return chunk;
      });
      if (tasks.length > 0) await this.scheduleChunk(tasks);
    }
  }

  /** Schedules `tasks` (as the store holds them now) and writes the decisions as one batch. */
  private async scheduleChunk(tasks: readonly Task[]): Promise<void> {
    const { assignments, unschedulable } = this.scheduler.schedule(tasks);
    const byId = new Map(tasks.map((t) => [t.meta?.id ?? '', t]));
    this.inFlight = new Map(assignments);
    try {
      await this.store.batch(async (batch) => {
        for (const [id, nodeId] of assignments) {
          this.assertRunning();
          const planned = byId.get(id)!;
          const written = await batch.update((tx) => {
            const current = tx.tasks.get(id);
            if (!current || current.meta?.version !== planned.meta?.version || !isAwaitingScheduling(current))
              return false;
            tx.tasks.update(assignTask(current, nodeId, this.clock.now()));
            return true;
          });
          if (!written) {
            this.inFlight.delete(id);
            this.scheduler.revertPlacement(id);
          }
        }
        for (const [id, reason] of unschedulable) {
          this.assertRunning();
          await batch.update((tx) => {
            const current = tx.tasks.get(id);
            if (!current || !isAwaitingScheduling(current)) return;
            const next = markUnschedulable(current, reason, this.clock.now());
            if (next) tx.tasks.update(next);
          });
        }
      });
    } finally {
      this.revertUnwritten();
    }
    this.logger.debug(
      { pending: tasks.length, assigned: assignments.size, unschedulable: unschedulable.size },
      'scheduled pending tasks',
    );
  }

  /** The pending tasks as the store holds them now (watch events may still be queued). */
  private currentPending(tx: ReadTx): Task[] {
    const tasks: Task[] = [];
    for (const id of this.pending) {
      const task = tx.tasks.get(id);
      if (task && isAwaitingScheduling(task)) tasks.push(task);
      else this.pending.delete(id);
    }
    return tasks;
  }

  /** After a batch, takes back placements the store does not hold (a write failed or was cut short). */
  private revertUnwritten(): void {
    if (this.inFlight.size === 0) return;
    const inFlight = this.inFlight;
    this.inFlight = new Map();
    this.store.view((tx) => {
      for (const [id, nodeId] of inFlight) {
        const task = tx.tasks.get(id);
        if (task?.nodeId === nodeId && !isAwaitingScheduling(task)) continue;
        this.scheduler.revertPlacement(id);
      }
    });
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Whether an update may have freed resources, ports or a replica slot on a node. */
function freedRoom(task: Task, old: Task | undefined): boolean {
  if (!old) return false;
  return (
    old.desiredState !== task.desiredState ||
    old.nodeId !== task.nodeId ||
    (isTerminal(observedState(task)) && !isTerminal(observedState(old)))
  );
}
