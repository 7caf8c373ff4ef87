// Subscriptions to store changes. A Watcher is an async iterator with a bounded queue: a consumer
// that falls more than `maxQueuedEvents` behind is cut off with WatcherOverflowError instead of
// letting the queue grow without bound (it should resync with viewAndWatch). A listener is a
// synchronous callback run as each entry applies: it cannot fall behind, but it delays applying.
import type { Logger } from 'pino';
import { WatcherOverflowError } from './errors';
import { type EventFilter, eventMatches, type StoreEvent, type StoreEventOf } from './events';
import type { TableName } from './objects';

export interface Subscriber {
  deliver(event: StoreEvent): void;
  /** Ends the subscription; with an error, the consumer sees it. */
  close(error?: Error): void;
}

export interface WatchOptions<K extends TableName = TableName> extends EventFilter<K> {
  /** Events that may wait unread before the watcher is closed with WatcherOverflowError. */
  maxQueuedEvents?: number;
  /** Aborting ends the iteration (next() reports done). */
  signal?: AbortSignal;
}

export const DEFAULT_MAX_QUEUED_EVENTS = 65_536;

type Waiter<E> = { resolve: (r: IteratorResult<E>) => void; reject: (e: Error) => void };

export class Watcher<K extends TableName = TableName>
  implements AsyncIterableIterator<StoreEventOf<K>>, Subscriber
{
  private queue: StoreEventOf<K>[] = [];
  /** Index of the next unread event in `queue` (the array is compacted now and then). */
  private head = 0;
  private waiter: Waiter<StoreEventOf<K>> | undefined;
  private closed = false;
  private error: Error | undefined;
  private readonly limit: number;
  private readonly onAbort = (): void => this.close();

  constructor(
    private readonly filter: EventFilter<K>,
    limit: number | undefined,
    private readonly signal: AbortSignal | undefined,
    private readonly onClose: (watcher: Watcher<K>, error: Error | undefined) => void,
  ) {
    this.limit = limit ?? DEFAULT_MAX_QUEUED_EVENTS;
    if (signal?.aborted) this.close();
    else signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  /** Unread events. */
  get queued(): number {
    return this.queue.length - this.head;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  deliver(event: StoreEvent): void {
    if (this.closed) return;
    let wanted: boolean;
    try {
      wanted = eventMatches(this.filter, event);
    } catch (err) {
      // A throwing filter must not stop the store from applying: it ends this watcher instead.
      this.close(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    if (!wanted) return;
    const matching = event as StoreEventOf<K>; // the filter let it through: it is of our tables
    if (this.waiter !== undefined) {
      const waiter = this.waiter;
      this.waiter = undefined;
      waiter.resolve({ value: matching, done: false });
      return;
    }
    if (this.queued >= this.limit) {
      this.close(new WatcherOverflowError(this.limit));
      return;
    }
    this.queue.push(matching);
  }

  next(): Promise<IteratorResult<StoreEventOf<K>>> {
    if (this.head < this.queue.length) {
      const event = this.queue[this.head++]!;
      if (this.head >= 1024 && this.head * 2 >= this.queue.length) {
        this.queue = this.queue.slice(this.head);
        this.head = 0;
      }
      return Promise.resolve({ value: event, done: false });
    }
    if (this.error !== undefined) {
      const error = this.error;
      this.error = undefined; // reported once; afterwards the iterator is simply done
      return Promise.reject(error);
    }
    if (this.closed) return Promise.resolve({ value: undefined, done: true });
    if (this.waiter !== undefined)
      return Promise.reject(new Error('Watcher.next() called while a next() is pending'));
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  return(): Promise<IteratorResult<StoreEventOf<K>>> {
    this.close();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<StoreEventOf<K>> {
    return this;
  }

  /** Stops delivery. Unread events are dropped when closing with an error (the consumer must resync). */
  close(error?: Error): void {
    if (this.closed) return;
    this.closed = true;
    this.signal?.removeEventListener('abort', this.onAbort);
    this.onClose(this, error);
    if (error !== undefined) {
      this.queue = [];
      this.head = 0;
      this.error = error;
    }
    const waiter = this.waiter;
    this.waiter = undefined;
    if (waiter === undefined) return;
    if (this.error !== undefined) {
      this.error = undefined;
      waiter.reject(error!);
    } else {
      waiter.resolve({ value: undefined, done: true });
    }
  }
}

/** A synchronous listener; exceptions it throws are logged and do not stop the store. */
export class Listener<K extends TableName = TableName> implements Subscriber {
  private closed = false;

  constructor(
    private readonly filter: EventFilter<K>,
    private readonly listener: (event: StoreEventOf<K>) => void,
    private readonly logger: Logger,
    private readonly onClose: (listener: Listener<K>) => void,
  ) {}

  deliver(event: StoreEvent): void {
    if (this.closed) return;
    try {
      if (eventMatches(this.filter, event)) this.listener(event as StoreEventOf<K>);
    } catch (err) {
      this.logger.error({ err }, 'store listener threw; the event is not redelivered');
    }
  }

  close(_error?: Error): void {
    if (this.closed) return;
    this.closed = true;
    this.onClose(this);
  }
}
