// Keeping the leader responsive during long passes. A pass over thousands of tasks run in one go
// blocks the event loop for seconds: Raft heartbeats stop going out, followers elect someone else,
// and the dispatcher misses the agents' heartbeats. The orchestrator, scheduler and node-failure
// passes therefore work in chunks: each chunk reads the store afresh, writes its own batch, and
// then the pass yields to the event loop (setImmediate: timers and I/O run first) before the next.
// A chunk ends after `maxItems` units of work or `maxMs` of wall time, whichever comes first. Wall
// time only bounds how long the event loop is held; it never changes what a pass decides.

export interface ChunkLimits {
  /** Units of work (tasks looked at) after which a chunk ends. */
  readonly maxItems: number;
  /** Wall time after which a chunk ends, in ms. */
  readonly maxMs: number;
}

export const DEFAULT_CHUNK_LIMITS: ChunkLimits = { maxItems: 500, maxMs: 30 };

/** How much of one chunk has been used. */
export class ChunkBudget {
  private items = 0;
  private readonly startedAtMs = performance.now();

  constructor(private readonly limits: ChunkLimits = DEFAULT_CHUNK_LIMITS) {}

  /** Counts `items` units of work done in this chunk. */
  spend(items: number): void {
    this.items += items;
  }

  /** Whether the chunk should end here (the first unit of work of a chunk is always done). */
  get exhausted(): boolean {
    return this.items >= this.limits.maxItems || performance.now() - this.startedAtMs >= this.limits.maxMs;
  }
}

/** Resolves after the event loop has run what is due (timers, I/O callbacks). */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
