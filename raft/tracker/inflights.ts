// Inflights: the bounded window of Append messages sent to one follower in replicate state and not yet
// acknowledged, as a ring buffer of the last index each message carried. When it is full the leader stops
// sending to that follower until responses free slots; this bounds memory and the work lost on a failure.

export class Inflights {
  private readonly buffer: number[];
  /** Ring position of the oldest in-flight message. */
  private start = 0;
  /** Number of messages in flight. Invariant: 0 <= count <= capacity. */
  private count = 0;

  constructor(readonly capacity: number) {
    if (capacity < 1) throw new RangeError(`inflight capacity must be at least 1, got ${capacity}`);
    this.buffer = new Array<number>(capacity).fill(0);
  }

  /** Records a message whose last entry is `lastIndex`; indexes must be added in increasing order. */
  add(lastIndex: number): void {
    if (this.full()) throw new RangeError('cannot add to a full inflights window');
    this.buffer[(this.start + this.count) % this.capacity] = lastIndex;
    this.count++;
  }

  /** Frees every message whose last index is <= index (they have all been acknowledged). */
  freeLE(index: number): void {
    while (this.count > 0 && this.buffer[this.start]! <= index) {
      this.start = (this.start + 1) % this.capacity;
      this.count--;
    }
    if (this.count === 0) this.start = 0;
  }

  /** Frees the oldest message: used when a heartbeat response shows the follower alive but stalled. */
  freeFirstOne(): void {
    if (this.count === 0) return;
    this.freeLE(this.buffer[this.start]!);
  }

  full(): boolean {
    return this.count === this.capacity;
  }

  size(): number {
    return this.count;
  }

  reset(): void {
    this.start = 0;
    this.count = 0;
  }
}
