// A fake clock and deterministic IDs for reconcile tests.

import { type ReconcileContext, RestartSupervisor } from '../../../src/manager/orchestrator';

export class FakeClock {
  constructor(public nowMs = 1_000_000) {}
  now(): number {
    return this.nowMs;
  }
  advance(ms: number): void {
    this.nowMs += ms;
  }
}

export function reconcileContext(
  clock = new FakeClock(),
  prefix = 'new',
): ReconcileContext & { clock: FakeClock } {
  let next = 0;
  return {
    clock,
    restarts: new RestartSupervisor({ clock }),
    newTaskId: () => `${prefix}-${++next}`,
  };
}
