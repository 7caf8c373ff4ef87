// A priority queue of timed events in virtual time. Ties are broken by insertion order, so the
// order in which events fire depends only on what was scheduled, never on heap internals.

interface Slot<T> {
  time: number;
  seq: number;
  item: T;
}

export class EventQueue<T> {
  private readonly heap: Slot<T>[] = [];
  private nextSeq = 0;

  get size(): number {
    return this.heap.length;
  }

  push(time: number, item: T): void {
    const slot = { time, seq: this.nextSeq++, item };
    const heap = this.heap;
    heap.push(slot);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(slot, heap[parent]!)) break;
      heap[i] = heap[parent]!;
      i = parent;
    }
    heap[i] = slot;
  }

  /** The time of the earliest event, or undefined when empty. */
  peekTime(): number | undefined {
    return this.heap[0]?.time;
  }

  /** Removes and returns the earliest event. */
  pop(): { time: number; item: T } | undefined {
    const heap = this.heap;
    const top = heap[0];
    if (top === undefined) return undefined;
    const last = heap.pop()!;
    if (heap.length > 0) {
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        if (left >= heap.length) break;
        const right = left + 1;
        const child = right < heap.length && before(heap[right]!, heap[left]!) ? right : left;
        if (!before(heap[child]!, last)) break;
        heap[i] = heap[child]!;
        i = child;
      }
      heap[i] = last;
    }
    return { time: top.time, item: top.item };
  }

  /** Removes every event for which `drop` returns true (keeps the order of the rest). */
  removeWhere(drop: (item: T) => boolean): number {
    const kept = this.heap.filter((slot) => !drop(slot.item));
    const removed = this.heap.length - kept.length;
    if (removed > 0) {
      kept.sort((x, y) => (before(x, y) ? -1 : 1));
      this.heap.length = 0;
      this.heap.push(...kept); // a sorted array is a valid heap
    }
    return removed;
  }
}

function before<T>(x: Slot<T>, y: Slot<T>): boolean {
  return x.time < y.time || (x.time === y.time && x.seq < y.seq);
}
