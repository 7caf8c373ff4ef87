// Time as the leader's loops see it: the current time and one-shot timers, injected so tests move
// time by hand and every decision can be replayed. The system clock's timers are unref'd: a pending
// debounce or restart delay never keeps the process alive.

export interface LoopTimer {
  cancel(): void;
}

export interface LoopClock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Runs `fn` once, `delayMs` of this clock's time from now. */
  setTimer(fn: () => void, delayMs: number): LoopTimer;
}

/** Node's setTimeout caps delays at 2^31-1 ms (~24.8 days); longer waits are chained. */
const MAX_TIMEOUT_MS = 2 ** 31 - 1;

export const systemLoopClock: LoopClock = {
  now: () => Date.now(),
  setTimer(fn, delayMs) {
    const dueAt = Date.now() + Math.max(0, delayMs);
    let handle: NodeJS.Timeout;
    const arm = (): void => {
      const remaining = dueAt - Date.now();
      handle =
        remaining > MAX_TIMEOUT_MS ? setTimeout(arm, MAX_TIMEOUT_MS) : setTimeout(fn, Math.max(0, remaining));
      handle.unref();
    };
    arm();
    return { cancel: () => clearTimeout(handle) };
  },
};
