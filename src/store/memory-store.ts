// The managers' replicated cluster state: typed tables in memory, changed only by applying
// committed Raft entries in log order (applyCommitted), read through consistent views, and watched.
// Writers build a transaction; the store checks it, encodes it and hands it to the injected
// Proposer, and the writer's promise settles when the entry comes back and applies (or is refused).
// This module never imports Raft and never reads the local clock while applying.
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { silentLogger } from '../common/logger';
import { applyActions, checkActions, emptyStates } from './apply';
import { type Batch, isThenable, StoreBatch } from './batch';
import { decodeEntry, encodeEntry } from './codec';
import {
  ProposalOutcomeUnknownError,
  StoreClosedError,
  StoreError,
  TransactionTooLargeError,
  WatcherOverflowError,
} from './errors';
import type { EventFilter, ObjectEvent, StoreEvent, StoreEventOf } from './events';
import { TABLE_NAMES, type TableName } from './objects';
import type { Proposer } from './proposer';
import { encodeStoreSnapshot, loadStoreSnapshot } from './snapshot';
import { type ReadTx, StoreTx, type TableStates, type WriteTx } from './transaction';
import { Listener, type Subscriber, Watcher, type WatchOptions } from './watcher';

export interface MemoryStoreOptions {
  proposer: Proposer;
  logger?: Logger;
  /** Stamps proposed entries (they carry the time; appliers never read a clock). Default Date.now. */
  clock?: () => number;
  /** Largest entry one transaction may make. Default 1.5 MiB, as swarmkit. */
  maxTransactionBytes?: number;
  /** Changes per transaction in `batch`. Default 200, as swarmkit. */
  maxChangesPerBatchTransaction?: number;
  /** Default queue limit of watchers. */
  maxQueuedEvents?: number;
}

export interface UpdateOptions {
  /** Aborting rejects the update; an entry already proposed may still commit. */
  signal?: AbortSignal;
}

interface PendingProposal {
  resolve: (index: number) => void;
  reject: (error: Error) => void;
}

/** Counters and sizes for metrics (store-metrics.ts) and status output. */
export interface StoreStats {
  appliedIndex: number;
  objects: Record<TableName, number>;
  /** Watchers and listeners. */
  subscribers: number;
  /** Entries that changed the store. */
  transactionsApplied: number;
  /** Entries refused at apply, by error name (VersionConflictError, …), on this manager. */
  transactionsRefused: Record<string, number>;
  /** Committed entries that were not store transactions (skipped). */
  entriesSkipped: number;
  /** Updates through this store whose changes did not apply (a check, the proposer or an abort refused them). */
  updatesFailed: number;
  /** Watchers closed for falling behind. */
  watchersOverflowed: number;
}

export const DEFAULT_MAX_TRANSACTION_BYTES = 1.5 * 1024 * 1024;
export const DEFAULT_MAX_CHANGES_PER_BATCH_TRANSACTION = 200;

export class MemoryStore {
  private states: TableStates = emptyStates();
  /** Index of the last entry applied (or of the restored snapshot). Invariant: only grows, except by restore. */
  private applied = 0;
  private readonly subscribers = new Set<Subscriber>();
  /** Proposals of this store still waiting for their entry to apply, by proposal ID. */
  private readonly pending = new Map<string, PendingProposal>();
  private readonly proposalPrefix = randomBytes(8).toString('hex');
  private proposalCounter = 0;
  private closed = false;
  private readonly counters = {
    transactionsApplied: 0,
    transactionsRefused: {} as Record<string, number>,
    entriesSkipped: 0,
    updatesFailed: 0,
    watchersOverflowed: 0,
  };
  private readonly proposer: Proposer;
  private readonly logger: Logger;
  private readonly clock: () => number;
  private readonly maxTransactionBytes: number;
  private readonly maxChangesPerBatchTransaction: number;
  private readonly maxQueuedEvents: number | undefined;

  constructor(options: MemoryStoreOptions) {
    this.proposer = options.proposer;
    this.logger = (options.logger ?? silentLogger()).child({ module: 'store' });
    this.clock = options.clock ?? Date.now;
    this.maxTransactionBytes = options.maxTransactionBytes ?? DEFAULT_MAX_TRANSACTION_BYTES;
    this.maxChangesPerBatchTransaction =
      options.maxChangesPerBatchTransaction ?? DEFAULT_MAX_CHANGES_PER_BATCH_TRANSACTION;
    this.maxQueuedEvents = options.maxQueuedEvents;
  }

  /** Index of the last applied entry: every object's meta.version is at most this. */
  get appliedIndex(): number {
    return this.applied;
  }

  /**
   * Runs `fn` on a consistent read-only view. `fn` must be synchronous: nothing applies while it
   * runs, so everything it reads belongs to one index. The objects stay valid (they are frozen
   * and never changed in place) after it returns.
   */
  view<R>(fn: (tx: ReadTx) => R): R {
    const result = fn(new StoreTx(this.states, () => this.applied, false));
    if (isThenable(result)) throw new StoreError('view callbacks must be synchronous');
    return result;
  }

  /**
   * Runs `fn` on a write transaction, then proposes its changes and resolves with `fn`'s result once
   * the entry applied. Rejects — with nothing written — when `fn` throws, a check fails now or when
   * the entry applies (VersionConflictError, NameConflictError, AlreadyExistsError, NotFoundError,
   * InvalidObjectError), the proposer fails, or `signal` aborts. Reads in `fn` see the latest applied
   * state plus the transaction's own changes; if `fn` awaits, later entries may apply meanwhile, and
   * the version checks keep that from overwriting them.
   */
  async update<R>(fn: (tx: WriteTx) => R | Promise<R>, options: UpdateOptions = {}): Promise<R> {
    this.assertOpen();
    const tx = new StoreTx(this.states, () => this.applied, true);
    const result = await fn(tx);
    if (tx.changeCount > 0) await this.commit(tx, options);
    return result;
  }

  /**
   * Many changes in several transactions of bounded size (see batch.ts). Resolves with `fn`'s result
   * once everything is applied; changes of units after a failure are not proposed.
   */
  async batch<R>(fn: (batch: Batch) => R | Promise<R>, options: UpdateOptions = {}): Promise<R> {
    this.assertOpen();
    const batch = new StoreBatch(
      () => new StoreTx(this.states, () => this.applied, true),
      (tx) => this.commit(tx, options).then(() => undefined),
      {
        maxChanges: this.maxChangesPerBatchTransaction,
        // Leave room for the unit that crosses the threshold.
        maxBytes: Math.floor((this.maxTransactionBytes * 2) / 3),
      },
    );
    const result = await fn(batch);
    await batch.flush();
    return result;
  }

  /** Subscribes to changes from now on, as an async iterator (see watcher.ts). */
  watch<K extends TableName = TableName>(options: WatchOptions<K> = {}): Watcher<K> {
    this.assertOpen();
    const watcher = new Watcher<K>(
      options,
      options.maxQueuedEvents ?? this.maxQueuedEvents,
      options.signal,
      (w, error) => {
        this.subscribers.delete(w);
        if (error instanceof WatcherOverflowError) this.counters.watchersOverflowed++;
      },
    );
    if (!watcher.isClosed) this.subscribers.add(watcher);
    return watcher;
  }

  /**
   * Calls `listener` synchronously for each matching event as entries apply. It must be quick: the
   * store waits for it. Returns a handle to stop.
   */
  subscribe<K extends TableName = TableName>(
    listener: (event: StoreEventOf<K>) => void,
    filter: EventFilter<K> = {},
  ): { close(): void } {
    this.assertOpen();
    const subscriber = new Listener<K>(filter, listener, this.logger, (l) => this.subscribers.delete(l));
    this.subscribers.add(subscriber);
    return subscriber;
  }

  /**
   * A view and a watcher that starts exactly after it: every change is either in what `fn` read or
   * delivered by the watcher, never both, never neither. This is how reconcilers start.
   */
  viewAndWatch<R, K extends TableName = TableName>(
    fn: (tx: ReadTx) => R,
    options: WatchOptions<K> = {},
  ): { result: R; watcher: Watcher<K> } {
    const watcher = this.watch(options);
    try {
      return { result: this.view(fn), watcher };
    } catch (err) {
      watcher.close();
      throw err;
    }
  }

  /**
   * Applies the committed entry at `index`. Every manager calls this for every entry, in log order.
   * Entries at or below the applied index (already contained, e.g. in a restored snapshot) are
   * skipped. A transaction whose checks fail at this index is applied as nothing, everywhere.
   */
  applyCommitted(data: Uint8Array, index: number): void {
    if (this.closed) return;
    if (index <= this.applied) {
      this.logger.debug({ index, applied: this.applied }, 'skipping an entry already applied');
      return;
    }
    let entry: ReturnType<typeof decodeEntry>;
    try {
      entry = decodeEntry(data);
    } catch (err) {
      // Deterministic on every manager: all of them skip the same entry.
      this.applied = index;
      this.counters.entriesSkipped++;
      this.logger.error({ err, index }, 'committed entry is not a store transaction; skipped');
      return;
    }
    let events: ObjectEvent[];
    try {
      events = applyActions(this.states, entry.actions, index, entry.timestampMs);
    } catch (err) {
      if (!(err instanceof StoreError)) throw err;
      this.applied = index;
      const refused = this.counters.transactionsRefused;
      refused[err.name] = (refused[err.name] ?? 0) + 1;
      this.logger.debug({ index, err: err.message }, 'transaction refused at apply');
      this.settle(entry.proposalId, err);
      return;
    }
    this.applied = index;
    if (entry.actions.length > 0) this.counters.transactionsApplied++;
    if (events.length > 0) this.publish([...events, { type: 'commit', index }]);
    this.settle(entry.proposalId, undefined, index);
  }

  /** The whole store (every table, sorted by ID) and its applied index, for Raft snapshots. */
  snapshot(): Uint8Array {
    return encodeStoreSnapshot(this.states, this.applied);
  }

  /**
   * Replaces everything with a snapshot (Raft installed one). Watchers receive a 'restored' event
   * and must resync; proposals in flight are rejected with ProposalOutcomeUnknownError. A snapshot
   * that does not decode or check is refused (CorruptEntryError) and the store stays as it was.
   */
  restore(data: Uint8Array): void {
    this.assertOpen();
    const { states, appliedIndex } = loadStoreSnapshot(data);
    this.states = states;
    this.applied = appliedIndex;
    for (const [id, proposal] of this.pending) {
      this.pending.delete(id);
      proposal.reject(
        new ProposalOutcomeUnknownError('the store was restored from a snapshot while proposing'),
      );
    }
    this.publish([{ type: 'restored', index: this.applied }]);
  }

  stats(): StoreStats {
    const objects = {} as Record<TableName, number>;
    for (const table of TABLE_NAMES) objects[table] = this.states[table].size;
    return {
      appliedIndex: this.applied,
      objects,
      subscribers: this.subscribers.size,
      ...this.counters,
      transactionsRefused: { ...this.counters.transactionsRefused },
    };
  }

  /** Stops everything: pending updates reject with StoreClosedError, watchers end. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const [id, proposal] of this.pending) {
      this.pending.delete(id);
      proposal.reject(new StoreClosedError());
    }
    for (const subscriber of [...this.subscribers]) subscriber.close();
    this.subscribers.clear();
  }

  /** Checks, encodes and proposes a transaction; resolves with its index once applied here. */
  private async commit(tx: StoreTx, options: UpdateOptions): Promise<number> {
    try {
      return await this.proposeAndWait(tx, options);
    } catch (err) {
      this.counters.updatesFailed++;
      throw err;
    }
  }

  private async proposeAndWait(tx: StoreTx, options: UpdateOptions): Promise<number> {
    this.assertOpen();
    options.signal?.throwIfAborted();
    // The state may have moved while the callback awaited: fail early rather than after a Raft round.
    checkActions(this.states, tx.checkedActions());
    const proposalId = `${this.proposalPrefix}-${++this.proposalCounter}`;
    const data = encodeEntry(this.clock(), proposalId, tx.encodedActions());
    if (data.length > this.maxTransactionBytes)
      throw new TransactionTooLargeError(data.length, this.maxTransactionBytes);

    const applied = new Promise<number>((resolve, reject) =>
      this.pending.set(proposalId, { resolve, reject }),
    );
    const onAbort = (): void => this.settle(proposalId, abortReason(options.signal!));
    options.signal?.addEventListener('abort', onAbort, { once: true });
    // Whichever comes first settles the update: the entry applying here, the proposer failing, or the abort.
    this.proposer.propose(data, { signal: options.signal }).then(
      ({ index }) => {
        if (this.pending.has(proposalId) && index <= this.applied) {
          this.settle(
            proposalId,
            new ProposalOutcomeUnknownError(
              `proposal reported committed at index ${index}, but did not apply there`,
            ),
          );
        }
      },
      (err: unknown) => this.settle(proposalId, err instanceof Error ? err : new Error(String(err))),
    );
    try {
      return await applied;
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
    }
  }

  private settle(proposalId: string, error: Error | undefined, index = 0): void {
    const proposal = this.pending.get(proposalId);
    if (proposal === undefined) return;
    this.pending.delete(proposalId);
    if (error === undefined) proposal.resolve(index);
    else proposal.reject(error);
  }

  /**
   * Delivers one entry's events to the subscribers there were when it applied: one that subscribes
   * from a listener (e.g. with viewAndWatch) already saw this entry in its view.
   */
  private publish(events: readonly StoreEvent[]): void {
    for (const subscriber of [...this.subscribers]) for (const event of events) subscriber.deliver(event);
  }

  private assertOpen(): void {
    if (this.closed) throw new StoreClosedError();
  }
}

function abortReason(signal: AbortSignal): Error {
  return signal.reason instanceof Error
    ? signal.reason
    : new DOMException('The operation was aborted', 'AbortError');
}
