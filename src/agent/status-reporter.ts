// Reports task status to the dispatcher in batches. Runners hand it every new status; it keeps the
// latest per task (states only move forward, so the latest says it all), sends what it holds a few
// milliseconds later in one call, and keeps what failed to send until a session can take it —
// so a status reached while the agent was between managers is reported to the next one.
import type { Logger } from 'pino';
import type { TaskStatus } from '../api/gen/types/orch/objects/TaskStatus';

export interface TaskStatusReport {
  taskId: string;
  status: TaskStatus;
}

/** Sends one batch; undefined when there is no session to send it on. */
export type StatusSender = (reports: TaskStatusReport[]) => Promise<void> | undefined;

export const DEFAULT_REPORT_DELAY_MS = 10;
/** Reports per call, to keep each request well under gRPC's message limit. */
const MAX_REPORTS_PER_CALL = 1_000;
const RETRY_DELAY_MS = 1_000;

export class StatusReporter {
  private pending = new Map<string, TaskStatusReport>();
  private timer: NodeJS.Timeout | undefined;
  private sending = false;
  private closed = false;
  private idleWaiters: Array<() => void> = [];

  constructor(
    private readonly send: StatusSender,
    private readonly logger: Logger,
    private readonly delayMs = DEFAULT_REPORT_DELAY_MS,
  ) {}

  report(taskId: string, status: TaskStatus): void {
    if (this.closed) return;
    this.pending.set(taskId, { taskId, status });
    this.schedule();
  }

  /** Forgets a task's unsent report (the task is no longer assigned). */
  drop(taskId: string): void {
    this.pending.delete(taskId);
  }

  /** A session became available: send what waited for one. */
  sessionReady(): void {
    if (this.pending.size > 0) this.schedule();
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  /** Resolves when nothing is left to send (for tests and orderly shutdown). */
  idle(): Promise<void> {
    if (this.pending.size === 0 && !this.sending) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.wakeIdle();
  }

  private schedule(delayMs = this.delayMs): void {
    if (this.timer !== undefined || this.sending || this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, delayMs);
    this.timer.unref();
  }

  private async flush(): Promise<void> {
    if (this.pending.size === 0 || this.closed) return this.wakeIdle();
    const batch = [...this.pending.values()].slice(0, MAX_REPORTS_PER_CALL);
    // Marked before calling out, so a report made meanwhile waits for this call instead of racing it.
    this.sending = true;
    const sent = this.send(batch);
    if (sent === undefined) {
      this.sending = false;
      return; // no session: sessionReady() will bring us back
    }
    for (const report of batch)
      if (this.pending.get(report.taskId) === report) this.pending.delete(report.taskId);
    try {
      await sent;
    } catch (err) {
      this.logger.debug({ err, reports: batch.length }, 'status report failed; kept for the next session');
      // Put back what no newer report replaced meanwhile.
      for (const report of batch)
        if (!this.pending.has(report.taskId)) this.pending.set(report.taskId, report);
      this.sending = false;
      // Try again later even if no new session comes (the failure may have been the write, not the session).
      this.schedule(RETRY_DELAY_MS);
      return;
    }
    this.sending = false;
    if (this.pending.size > 0) this.schedule();
    else this.wakeIdle();
  }

  private wakeIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const wake of waiters) wake();
  }
}
