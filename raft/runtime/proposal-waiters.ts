// Futures of the proposals this member appended as leader, keyed by log index. A waiter resolves
// when the entry at its index is applied with the term it was proposed in, and rejects with
// LeadershipLostError when another entry (or a snapshot) took that index.
import { LeadershipLostError } from './errors';

interface Waiter {
  term: number;
  resolve: () => void;
  reject: (err: Error) => void;
}

export class ProposalWaiters {
  private readonly byIndex = new Map<number, Waiter>();

  get size(): number {
    return this.byIndex.size;
  }

  /** Registers the future of the entry just appended at (index, term). */
  wait(index: number, term: number): Promise<void> {
    // A waiter already at this index belongs to an older term whose entry was truncated.
    this.byIndex.get(index)?.reject(new LeadershipLostError(index));
    return new Promise<void>((resolve, reject) => {
      this.byIndex.set(index, { term, resolve, reject });
    });
  }

  /** Stops waiting for index without settling (the caller gave up). */
  forget(index: number): void {
    this.byIndex.delete(index);
  }

  /** The entry at index was applied with `term`. */
  applied(index: number, term: number): void {
    const waiter = this.byIndex.get(index);
    if (waiter === undefined) return;
    this.byIndex.delete(index);
    if (waiter.term === term) waiter.resolve();
    else waiter.reject(new LeadershipLostError(index));
  }

  /** A snapshot up to `index` replaced the log: those outcomes are unknown here. */
  snapshotApplied(index: number): void {
    for (const [i, waiter] of this.byIndex) {
      if (i > index) continue;
      this.byIndex.delete(i);
      waiter.reject(
        new LeadershipLostError(i, `entry ${i} was replaced by a snapshot; its outcome is unknown`),
      );
    }
  }

  rejectAll(err: Error): void {
    for (const waiter of this.byIndex.values()) waiter.reject(err);
    this.byIndex.clear();
  }
}
