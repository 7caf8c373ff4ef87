// Exponential back-off with jitter, a spread for reconnects that many agents start together, and an
// abortable sleep. Used for reconnecting to managers
// (so a thousand agents whose leader died do not all knock on the new one at the same instant) and
// for retrying executor steps that failed with a temporary error.

export interface BackoffOptions {
  initialMs?: number;
  maxMs?: number;
  /** Source of randomness in [0, 1) (default Math.random); inject for determinism. */
  random?: () => number;
}

export class Backoff {
  private attempt = 0;
  private readonly initialMs: number;
  private readonly maxMs: number;
  private readonly random: () => number;

  constructor(options: BackoffOptions = {}) {
    this.initialMs = options.initialMs ?? 100;
    this.maxMs = options.maxMs ?? 5_000;
    this.random = options.random ?? Math.random;
  }

  /** The delay before the next attempt: uniform in [ceiling/2, ceiling], the ceiling doubling each time. */
  next(): number {
    const ceiling = Math.min(this.maxMs, this.initialMs * 2 ** Math.min(this.attempt, 30));
    this.attempt++;
    return Math.round(ceiling / 2 + (this.random() * ceiling) / 2);
  }

  reset(): void {
    this.attempt = 0;
  }

  get attempts(): number {
    return this.attempt;
  }
}

/**
 * A delay uniform in [0, spreadMs] (full jitter). Agents whose sessions ended together (their
 * leader died, or lost leadership) wait this long before the first reconnect, so their session
 * opens reach the new leader spread over the window instead of all at once.
 */
export function spreadDelay(spreadMs: number, random: () => number = Math.random): number {
  return Math.round(Math.max(0, spreadMs) * random());
}

/** Resolves after `ms`, or at once (without rejecting) when `signal` aborts. The timer is unref'd. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    timer.unref();
    signal?.addEventListener('abort', done, { once: true });
  });
}
