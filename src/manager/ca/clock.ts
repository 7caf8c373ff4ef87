// Time as the CA and the renewal scheduler see it, injectable so tests move it by hand.
// The system clock's timers are unref'd: a pending renewal never keeps a process alive.

export interface ClockTimer {
  cancel(): void;
}

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Runs fn after delayMs of this clock's time. */
  setTimer(fn: () => void, delayMs: number): ClockTimer;
}

/** Node's setTimeout caps delays at 2^31-1 ms (~24.8 days); longer waits are chained. */
const MAX_TIMEOUT_MS = 2 ** 31 - 1;

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(fn, delayMs) {
    const dueAt = Date.now() + Math.max(0, delayMs);
    let handle: NodeJS.Timeout;
    const arm = () => {
      const remaining = dueAt - Date.now();
      if (remaining > MAX_TIMEOUT_MS) {
        handle = setTimeout(arm, MAX_TIMEOUT_MS);
      } else {
        handle = setTimeout(fn, Math.max(0, remaining));
      }
      handle.unref();
    };
    arm();
    return { cancel: () => clearTimeout(handle) };
  },
};
