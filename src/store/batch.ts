// Large write-backs split into several transactions (the scheduler writes thousands of task
// updates at once). Each `batch.update(fn)` adds one unit of changes to the current transaction;
// when it reaches the change or size limit it is proposed and awaited, and the next unit starts a
// fresh one. A batch is therefore not atomic: transactions already committed stay committed if a
// later one fails, and a unit whose callback throws is dropped alone.
import { StoreError } from './errors';
import type { StoreTx, WriteTx } from './transaction';

export interface Batch {
  /**
   * Runs `fn` (synchronous) on the batch's current transaction. If it throws, its changes are undone
   * and the error is rethrown; earlier units are unaffected. May propose the transaction so far.
   */
  update<R>(fn: (tx: WriteTx) => R): Promise<R>;
}

export interface BatchLimits {
  /** Changes after which the transaction is proposed (swarmkit uses 200). */
  maxChanges: number;
  /** Encoded bytes after which the transaction is proposed (below the store's entry limit). */
  maxBytes: number;
}

export class StoreBatch implements Batch {
  private tx: StoreTx;
  private flushing: Promise<void> | undefined;
  /** Transactions proposed so far. */
  transactions = 0;

  constructor(
    private readonly newTx: () => StoreTx,
    private readonly commit: (tx: StoreTx) => Promise<void>,
    private readonly limits: BatchLimits,
  ) {
    this.tx = newTx();
  }

  async update<R>(fn: (tx: WriteTx) => R): Promise<R> {
    while (this.flushing !== undefined) await this.flushing;
    const tx = this.tx;
    tx.beginUnit();
    let result: R;
    try {
      result = fn(tx);
      if (isThenable(result)) throw new StoreError('batch.update callbacks must be synchronous');
    } catch (err) {
      tx.endUnit(false);
      throw err;
    }
    tx.endUnit(true);
    if (tx.changeCount >= this.limits.maxChanges || tx.encodedBytes() >= this.limits.maxBytes)
      await this.flush();
    return result;
  }

  /** Proposes what has been collected (if anything) and waits until it applied. */
  async flush(): Promise<void> {
    while (this.flushing !== undefined) await this.flushing;
    const tx = this.tx;
    if (tx.changeCount === 0) return;
    this.tx = this.newTx();
    this.transactions++;
    this.flushing = this.commit(tx).finally(() => {
      this.flushing = undefined;
    });
    await this.flushing;
  }
}

export function isThenable(value: unknown): boolean {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}
