// The intake of task status reports. Agents report many tasks at once and many agents report at
// the same time; writing each report as its own Raft entry would cost one round trip per task. The
// batcher collects reports for a few milliseconds (keeping, per task, the furthest state reported)
// and writes them with one store.batch. Only the observed status is written, only forward moves an
// agent may make are accepted, and a node can only report the tasks assigned to it. A report
// resolves once its batch is written, so an agent knows its report is durable.
import type { Logger } from 'pino';
import type { TaskStatus__Output } from '../../api/gen/types/orch/objects/TaskStatus';
import { checkObservedTransition, taskStateRank } from '../../common/task-state';
import type { MemoryStore, WriteTx } from '../../store';

export interface TaskStatusReport {
  taskId: string;
  status: TaskStatus__Output;
}

export interface TaskStatusBatcherOptions {
  store: MemoryStore;
  logger: Logger;
  /** How long reports are collected before they are written. */
  delayMs?: number;
}

export const DEFAULT_STATUS_BATCH_DELAY_MS = 10;

interface PendingReport {
  nodeId: string;
  status: TaskStatus__Output;
}

/** The report written for each task (by identity: a merged-away report was not written). */
type Written = ReadonlyMap<string, TaskStatus__Output>;

interface PendingBatch {
  reports: Map<string, PendingReport>;
  done: Promise<Written>;
  resolve: (written: Written) => void;
  reject: (err: Error) => void;
}

export class TaskStatusBatcher {
  private current: PendingBatch | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly delayMs: number;
  /** Reports written and refused since start, for stats. */
  readonly counters = { written: 0, refused: 0, transactions: 0 };

  constructor(private readonly options: TaskStatusBatcherOptions) {
    this.delayMs = options.delayMs ?? DEFAULT_STATUS_BATCH_DELAY_MS;
  }

  /** Queues `reports` from `nodeId`; resolves with how many were written once their batch is
   * (a report superseded in the batch by a further state of the same task counts as not written). */
  async submit(nodeId: string, reports: readonly TaskStatusReport[]): Promise<number> {
    if (this.closed) throw new Error('task status intake is closed');
    if (reports.length === 0) return 0;
    const batch = this.pendingBatch();
    for (const report of reports) {
      const queued = batch.reports.get(report.taskId);
      // The furthest state wins: states only move forward, so it carries the news.
      if (
        queued === undefined ||
        queued.nodeId !== nodeId ||
        taskStateRank(report.status.state) >= taskStateRank(queued.status.state)
      ) {
        batch.reports.set(report.taskId, { nodeId, status: report.status });
      }
    }
    const written = await batch.done;
    let count = 0;
    for (const report of reports) if (written.get(report.taskId) === report.status) count++;
    return count;
  }

  /** Stops taking reports; a batch already collected is still written. */
  close(): void {
    this.closed = true;
  }

  private pendingBatch(): PendingBatch {
    if (this.current !== undefined) return this.current;
    let resolve!: (written: Written) => void;
    let reject!: (err: Error) => void;
    const done = new Promise<Written>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const batch: PendingBatch = { reports: new Map(), done, resolve, reject };
    this.current = batch;
    this.timer = setTimeout(() => this.flush(batch), this.delayMs);
    this.timer.unref();
    return batch;
  }

  private async flush(batch: PendingBatch): Promise<void> {
    if (this.current === batch) this.current = undefined;
    this.timer = undefined;
    try {
      let written: Written;
      try {
        written = await this.write(batch.reports);
      } catch (err) {
        // A concurrent writer changed one of the tasks between our read and the apply (the batch's
        // transaction was refused as a whole): read again and write what is still news. Reports
        // that did commit the first time now read as already written.
        this.options.logger.debug({ err }, 'status batch refused; retrying once from a fresh read');
        written = await this.write(batch.reports);
      }
      batch.resolve(written);
    } catch (err) {
      batch.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }

  private async write(reports: Map<string, PendingReport>): Promise<Map<string, TaskStatus__Output>> {
    const { store, logger } = this.options;
    const written = new Map<string, TaskStatus__Output>();
    await store.batch(async (batch) => {
      for (const [taskId, report] of reports) {
        const applied = await batch.update((tx) => this.applyReport(tx, taskId, report));
        if (applied) written.set(taskId, report.status);
      }
    });
    this.counters.transactions++;
    this.counters.written += written.size;
    this.counters.refused += reports.size - written.size;
    logger.trace({ reports: reports.size, written: written.size }, 'task status batch written');
    return written;
  }

  /** Writes one report if it is this node's task and a forward move; returns whether it did. */
  private applyReport(tx: WriteTx, taskId: string, report: PendingReport): boolean {
    const task = tx.tasks.get(taskId);
    if (task === undefined) return false;
    if (task.nodeId !== report.nodeId) {
      this.options.logger.warn(
        { task: taskId, node: report.nodeId, owner: task.nodeId },
        'status report for a task of another node ignored',
      );
      return false;
    }
    const from = task.status?.state ?? 'TASK_STATE_NEW';
    // Already there (a retried batch, or a report sent twice): written, nothing to do.
    if (from === report.status.state && task.status?.timestampMs === report.status.timestampMs) return true;
    try {
      checkObservedTransition('agent', from, report.status.state);
    } catch (err) {
      this.options.logger.debug({ task: taskId, err: (err as Error).message }, 'status report refused');
      return false;
    }
    tx.tasks.update({ ...task, status: report.status });
    return true;
  }
}
