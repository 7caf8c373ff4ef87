// Time for hollow (simulated) containers: one priority queue of deadlines shared by every hollow
// node in the process, driven by at most ONE Node.js timer (unref'd) in real time, or advanced by
// hand in tests (manual mode) so that simulated runs are deterministic. A task that is idle (running
// forever, or waiting to be started) holds no entry at all; cancelled entries are dropped lazily.

export interface ScheduledEntry {
  readonly atMs: number;
  /** Insertion order: entries due at the same time fire first-in, first-out. */
  readonly seq: number;
  fire: (() => void) | undefined;
}

export interface HollowSchedulerOptions {
  /** Advance time only through advance(); now() starts at `startMs`. For tests and simulations. */
  manual?: boolean;
  startMs?: number;
}

export class HollowScheduler {
  readonly manual: boolean;
  private readonly heap: ScheduledEntry[] = [];
  private seq = 0;
  private cancelled = 0;
  private manualNowMs: number;
  private timer?: NodeJS.Timeout;
  private timerAtMs = Number.POSITIVE_INFINITY;
  private closed = false;

  constructor(options: HollowSchedulerOptions = {}) {
    this.manual = options.manual ?? false;
    this.manualNowMs = options.startMs ?? 0;
  }

  now(): number {
    return this.manual ? this.manualNowMs : Date.now();
  }

  /** Entries waiting to fire (cancelled ones excluded). */
  get pending(): number {
    return this.heap.length - this.cancelled;
  }

  /** When the earliest pending entry falls due, if any: simulations advance straight to it. */
  nextDueMs(): number | undefined {
    return this.peek()?.atMs;
  }

  /** Runs `fire` once `delayMs` have passed. */
  schedule(delayMs: number, fire: () => void): ScheduledEntry {
    const entry: ScheduledEntry = { atMs: this.now() + Math.max(0, delayMs), seq: this.seq++, fire };
    this.push(entry);
    this.arm();
    return entry;
  }

  cancel(entry: ScheduledEntry): void {
    if (entry.fire === undefined) return;
    entry.fire = undefined;
    this.cancelled++;
    // Lazy deletion keeps cancel O(1); compact when dead entries dominate.
    if (this.cancelled > 1024 && this.cancelled * 2 > this.heap.length) this.compact();
  }

  /**
   * Manual mode: moves time forward by `ms`, firing every entry that falls due in order, and lets
   * the promise continuations each firing causes run before the next one.
   */
  async advance(ms: number): Promise<void> {
    if (!this.manual) throw new Error('advance() needs a manual HollowScheduler');
    const targetMs = this.manualNowMs + ms;
    await settle();
    for (;;) {
      const next = this.peek();
      if (!next || next.atMs > targetMs) break;
      this.pop();
      this.manualNowMs = Math.max(this.manualNowMs, next.atMs);
      this.fireEntry(next);
      await settle();
    }
    this.manualNowMs = targetMs;
    await settle();
  }

  /** Drops every entry and the timer; nothing fires afterwards. */
  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    for (const entry of this.heap) entry.fire = undefined;
    this.heap.length = 0;
    this.cancelled = 0;
  }

  private fireEntry(entry: ScheduledEntry): void {
    const fire = entry.fire;
    entry.fire = undefined;
    fire?.();
  }

  private peek(): ScheduledEntry | undefined {
    while (this.heap.length > 0 && this.heap[0].fire === undefined) {
      this.pop();
      this.cancelled--;
    }
    return this.heap[0];
  }

  /** Real mode: one timer, for the earliest deadline. */
  private arm(): void {
    if (this.manual || this.closed) return;
    const next = this.peek();
    if (!next) {
      if (this.timer) clearTimeout(this.timer);
      this.timer = undefined;
      this.timerAtMs = Number.POSITIVE_INFINITY;
      return;
    }
    if (this.timer && this.timerAtMs <= next.atMs) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAtMs = next.atMs;
    this.timer = setTimeout(() => this.onTimer(), Math.max(0, next.atMs - Date.now()));
    this.timer.unref();
  }

  private onTimer(): void {
    this.timer = undefined;
    this.timerAtMs = Number.POSITIVE_INFINITY;
    const nowMs = Date.now();
    for (;;) {
      const next = this.peek();
      if (!next || next.atMs > nowMs) break;
      this.pop();
      this.fireEntry(next);
    }
    this.arm();
  }

  private compact(): void {
    const live = this.heap.filter((e) => e.fire !== undefined);
    this.heap.length = 0;
    this.cancelled = 0;
    for (const entry of live) this.push(entry);
  }

  private static before(a: ScheduledEntry, b: ScheduledEntry): boolean {
    return a.atMs < b.atMs || (a.atMs === b.atMs && a.seq < b.seq);
  }

  private push(entry: ScheduledEntry): void {
    const heap = this.heap;
    heap.push(entry);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!HollowScheduler.before(heap[i], heap[parent])) break;
      [heap[i], heap[parent]] = [heap[parent], heap[i]];
      i = parent;
    }
  }

  private pop(): ScheduledEntry | undefined {
    const heap = this.heap;
    const top = heap[0];
    const last = heap.pop();
    if (heap.length > 0 && last) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        const right = left + 1;
        let smallest = i;
        if (left < heap.length && HollowScheduler.before(heap[left], heap[smallest])) smallest = left;
        if (right < heap.length && HollowScheduler.before(heap[right], heap[smallest])) smallest = right;
        if (smallest === i) break;
        [heap[i], heap[smallest]] = [heap[smallest], heap[i]];
        i = smallest;
      }
    }
    return top;
  }
}

/** Lets pending promise continuations (and what they schedule) run. */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
