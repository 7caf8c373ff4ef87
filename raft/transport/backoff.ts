// Exponential back-off with jitter for reconnecting to a peer. Pure: the caller owns the timer.

export interface BackoffOptions {
  /** First delay after a failure. */
  initialMs: number;
  /** Delays never grow past this. */
  maxMs: number;
  /** Each delay is spread uniformly over ±jitter of itself (0..1), so peers do not reconnect in lockstep. */
  jitter: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 50, maxMs: 1000, jitter: 0.2 };

export class Backoff {
  private attempt = 0;

  constructor(
    private readonly options: BackoffOptions = DEFAULT_BACKOFF,
    private readonly random: () => number = Math.random,
  ) {}

  /** The delay before the next attempt; each call doubles the base delay up to maxMs. */
  nextDelayMs(): number {
    const base = Math.min(this.options.maxMs, this.options.initialMs * 2 ** Math.min(this.attempt, 30));
    this.attempt++;
    const spread = base * this.options.jitter * (2 * this.random() - 1);
    return Math.max(0, Math.round(base + spread));
  }

  /** Called once a connection works again: the next failure starts from initialMs. */
  reset(): void {
    this.attempt = 0;
  }
}
