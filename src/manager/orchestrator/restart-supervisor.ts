// Whether and when a task that stopped while desired running is replaced, following the service's
// restart policy the way Swarm does:
//  - condition `none` never restarts; `on-failure` restarts unless the task completed (exit 0);
//    `any` always restarts;
//  - the replacement starts `delay` after the task stopped;
//  - with max attempts M, at most M restarts happen in any `window` (or in total when the window is
//    0) for a slot; after that the failed task stays, desired running, as the slot's last word.
// The attempt history lives here, in memory, per slot (replicated: service + slot number; global:
// service + node). It is reset when the service changes (its meta.version), as Swarm resets on a spec
// update, and starts empty on a new leader. Time comes from the injected clock only; decisions are
// made relative to when the task stopped, so asking again later gives the same answer.

import type { Service__Output } from '../../api/gen/types/orch/objects/Service';
import type { Task__Output } from '../../api/gen/types/orch/objects/Task';
import { TaskState } from '../../common/task-state';

export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

export type RestartDecision =
  | { readonly restart: true /** When the replacement may start. */; readonly atMs: number }
  | { readonly restart: false /** Why not, for logs and `service ps`. */; readonly reason: string };

export interface RestartRecord {
  readonly serviceId: string;
  readonly slotKey: string;
  readonly serviceVersion: number;
  readonly atMs: number;
  /** The policy's max attempts: only that many newest attempts can matter, so no more are kept. */
  readonly maxAttempts: number;
}

interface SlotHistory {
  serviceVersion: number;
  /** Restart times, oldest first. */
  attemptsMs: number[];
}

/** The slot a task fills: `3` for a replicated task, its node ID for a global one. */
export function slotKeyOf(task: Task__Output): string {
  return task.slot > 0 ? String(task.slot) : task.nodeId;
}

export class RestartSupervisor {
  readonly clock: Clock;
  /** serviceId → slotKey → history. */
  private readonly history = new Map<string, Map<string, SlotHistory>>();

  constructor(options: { clock?: Clock } = {}) {
    this.clock = options.clock ?? systemClock;
  }

  /** The decision for `task`, which stopped (observed terminal) while desired running. */
  decide(service: Service__Output, task: Task__Output): RestartDecision {
    const policy = service.spec?.restartPolicy;
    const condition = policy?.condition ?? 'RESTART_CONDITION_ANY';
    if (condition === 'RESTART_CONDITION_NONE')
      return { restart: false, reason: 'restart condition is none' };
    const state = task.status?.state;
    if (condition === 'RESTART_CONDITION_ON_FAILURE' && state === TaskState.Complete) {
      return {
        restart: false,
        reason: 'task completed successfully and the restart condition is on-failure',
      };
    }
    const stoppedAtMs = task.status?.timestampMs || this.clock.now();
    const maxAttempts = policy?.maxAttempts ?? 0;
    if (maxAttempts > 0) {
      const windowMs = policy?.windowMs ?? 0;
      const attempts = this.attempts(service, slotKeyOf(task)).filter(
        (at) => at <= stoppedAtMs && (windowMs === 0 || at > stoppedAtMs - windowMs),
      );
      if (attempts.length >= maxAttempts) {
        const within = windowMs === 0 ? '' : ` within ${windowMs} ms`;
        return {
          restart: false,
          reason: `restarted ${attempts.length} times${within}: max attempts reached`,
        };
      }
    }
    return { restart: true, atMs: stoppedAtMs + (policy?.delayMs ?? 0) };
  }

  /** Records restarts that were committed (a reconcile plan's `restarts`). */
  record(restarts: readonly RestartRecord[]): void {
    for (const restart of restarts) {
      let slots = this.history.get(restart.serviceId);
      if (!slots) {
        slots = new Map();
        this.history.set(restart.serviceId, slots);
      }
      let slot = slots.get(restart.slotKey);
      if (!slot || slot.serviceVersion !== restart.serviceVersion) {
        slot = { serviceVersion: restart.serviceVersion, attemptsMs: [] };
        slots.set(restart.slotKey, slot);
      }
      slot.attemptsMs.push(restart.atMs);
      // Whether the newest maxAttempts attempts fall in the window decides; older ones never do.
      const keep = Math.max(restart.maxAttempts, 0);
      if (slot.attemptsMs.length > keep) slot.attemptsMs.splice(0, slot.attemptsMs.length - keep);
    }
  }

  /** What to record when the task in `slotKey` is restarted at `atMs`. */
  restartRecord(service: Service__Output, slotKey: string, atMs: number): RestartRecord {
    return {
      serviceId: service.meta?.id ?? '',
      slotKey,
      serviceVersion: service.meta?.version ?? 0,
      atMs,
      maxAttempts: service.spec?.restartPolicy?.maxAttempts ?? 0,
    };
  }

  /** Restart times recorded for the slot under the service's current version, oldest first. */
  attempts(service: Service__Output, slotKey: string): readonly number[] {
    const slot = this.history.get(service.meta?.id ?? '')?.get(slotKey);
    return slot && slot.serviceVersion === (service.meta?.version ?? 0) ? slot.attemptsMs : [];
  }

  /** Drops a removed service's history. */
  forgetService(serviceId: string): void {
    this.history.delete(serviceId);
  }

  /** Drops a slot's history (the slot was removed by scaling down, or its node left). */
  forgetSlot(serviceId: string, slotKey: string): void {
    this.history.get(serviceId)?.delete(slotKey);
  }
}
