// A Clock for tests: time moves only when advance() is called, and due timers fire in order.
import type { Clock, ClockTimer } from '../../../src/manager/ca/clock';

interface PendingTimer {
  dueAtMs: number;
  fn: () => void;
  cancelled: boolean;
}

export class FakeClock implements Clock {
  private timers: PendingTimer[] = [];

  constructor(private nowMs: number) {}

  now(): number {
    return this.nowMs;
  }

  setTimer(fn: () => void, delayMs: number): ClockTimer {
    const timer: PendingTimer = { dueAtMs: this.nowMs + Math.max(0, delayMs), fn, cancelled: false };
    this.timers.push(timer);
    return {
      cancel: () => {
        timer.cancelled = true;
      },
    };
  }

  /** Number of timers still waiting to fire. */
  get pending(): number {
    return this.timers.filter((t) => !t.cancelled).length;
  }

  /** Moves time to `atMs`, firing every timer due by then (earliest first). */
  advanceTo(atMs: number): void {
    for (;;) {
      const due = this.timers
        .filter((t) => !t.cancelled && t.dueAtMs <= atMs)
        .sort((a, b) => a.dueAtMs - b.dueAtMs)[0];
      if (!due) break;
      this.nowMs = Math.max(this.nowMs, due.dueAtMs);
      due.cancelled = true;
      due.fn();
    }
    this.timers = this.timers.filter((t) => !t.cancelled);
    this.nowMs = Math.max(this.nowMs, atMs);
  }

  advance(ms: number): void {
    this.advanceTo(this.nowMs + ms);
  }
}
