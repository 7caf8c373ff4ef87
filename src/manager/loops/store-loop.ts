// The shape every leader loop shares, in swarmkit's style: read a snapshot of the store and subscribe
// to changes from exactly there (viewAndWatch), let each event mark what is dirty, and on a commit
// with something dirty run a pass: at once after an idle period, else a debounce after the previous
// pass ended (many changes, one pass). Passes never
// overlap; a change during a pass schedules another. A pass that fails is retried after a back-off.
// When the watcher falls behind (WatcherOverflowError) or the store is restored from a snapshot, the
// loop resyncs from a fresh view. stop() cancels every timer, ends the watch and waits for the pass
// in flight: once it resolves, the loop proposes nothing more.

import type { Logger } from 'pino';
import { silentLogger } from '../../common/logger';
import type { MemoryStore, ObjectEventOf, ReadTx, StoreEventOf, TableName, Watcher } from '../../store';
import { AlreadyExistsError, NotFoundError, VersionConflictError } from '../../store';
import { type LoopClock, type LoopTimer, systemLoopClock } from './loop-clock';
import { ChunkBudget, type ChunkLimits, DEFAULT_CHUNK_LIMITS, yieldToEventLoop } from './pass-budget';

export interface LoopOptions {
  readonly store: MemoryStore;
  readonly logger?: Logger;
  readonly clock?: LoopClock;
  /**
   * Least time between the end of a pass and the start of the next, so a burst of changes is
   * gathered into few passes. A change after an idle period is handled at once. Default 50 ms.
   */
  readonly debounceMs?: number;
  /** Wait before retrying a pass that failed (e.g. a write refused). Default 500 ms. */
  readonly retryDelayMs?: number;
  /** How much work a long pass does before it yields to the event loop (see pass-budget.ts). */
  readonly chunkLimits?: ChunkLimits;
}

export const DEFAULT_DEBOUNCE_MS = 50;
export const DEFAULT_RETRY_DELAY_MS = 500;

/** Thrown inside a pass when the loop is stopping: not an error, the pass just ends. */
export class LoopStoppedError extends Error {
  override name = 'LoopStoppedError';
  constructor(loop: string, options?: { cause?: unknown }) {
    super(`${loop} loop stopped`, options);
  }
}

/** Counters of one loop, for metrics and status. */
export interface LoopStats {
  /** Passes run to the end. */
  passes: number;
  /** Passes that failed and were retried after the back-off. */
  passesFailed: number;
  /** Passes whose write lost a race with another writer and were redone at once. */
  racesLost: number;
  /** Times the loop started again from a fresh view (watcher overflow, snapshot restore). */
  resyncs: number;
  /** Wall time of the last pass, in ms (for metrics only; decisions never read it). */
  lastPassDurationMs: number;
}

/** What the caller of any loop sees, whatever tables it follows. */
export interface ManagedLoop {
  readonly name: string;
  readonly isBusy: boolean;
  readonly isStopped: boolean;
  start(): void;
  run(signal?: AbortSignal): Promise<void>;
  stop(): Promise<void>;
  stats(): LoopStats;
}

export abstract class StoreLoop<K extends TableName> implements ManagedLoop {
  protected readonly store: MemoryStore;
  protected readonly logger: Logger;
  protected readonly clock: LoopClock;
  private readonly chunkLimits: ChunkLimits;
  private readonly debounceMs: number;
  private readonly retryDelayMs: number;
  private readonly abort = new AbortController();
  private watcher: Watcher<K> | undefined;
  private consuming: Promise<void> | undefined;
  private passTimer: LoopTimer | undefined;
  private passing: Promise<void> | undefined;
  private passAgain = false;
  /** When the last pass ended (clock time); the debounce counts from there. */
  private lastPassEndedMs = Number.NEGATIVE_INFINITY;
  private dirty = false;
  private started = false;
  private readonly counters: LoopStats = {
    passes: 0,
    passesFailed: 0,
    racesLost: 0,
    resyncs: 0,
    lastPassDurationMs: 0,
  };

  /** For logs: `allocator`, `scheduler`, ... */
  abstract readonly name: string;
  /** The tables whose changes this loop follows. */
  protected abstract readonly tables: readonly K[];

  constructor(options: LoopOptions) {
    this.store = options.store;
    this.clock = options.clock ?? systemLoopClock;
    this.debounceMs = options.debounceMs ?? DEFAULT_DEBOUNCE_MS;
    this.retryDelayMs = options.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS;
    this.logger = options.logger ?? silentLogger();
    this.chunkLimits = options.chunkLimits ?? DEFAULT_CHUNK_LIMITS;
  }

  /** Rebuilds the loop's state from a consistent view and marks what needs a pass. */
  protected abstract resync(tx: ReadTx): void;
  /** Takes in one change; returns whether it made something dirty. */
  protected abstract handle(event: ObjectEventOf<K>): boolean;
  /** One reconcile pass over what is dirty. Writes check `this.signal` (see assertRunning). */
  protected abstract pass(): Promise<void>;

  /** Aborted when the loop stops. */
  protected get signal(): AbortSignal {
    return this.abort.signal;
  }

  get isStopped(): boolean {
    return this.abort.signal.aborted;
  }

  /** Whether a pass is running or waiting for its timer: for tests and status. */
  get isBusy(): boolean {
    return this.passing !== undefined || this.passTimer !== undefined;
  }

  stats(): LoopStats {
    return { ...this.counters };
  }

  /** Starts watching from a snapshot and runs a first pass. Synchronous: the view is taken now. */
  start(): void {
    if (this.started) throw new Error(`${this.name} loop already started`);
    this.started = true;
    this.watch();
  }

  /** Starts the loop and resolves when it has stopped (by stop() or by `signal`). */
  async run(signal?: AbortSignal): Promise<void> {
    if (!this.started) this.start();
    if (signal?.aborted) return this.stop();
    const onAbort = (): void => void this.stop();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await new Promise<void>((resolve) => {
        if (this.isStopped) resolve();
        else this.abort.signal.addEventListener('abort', () => resolve(), { once: true });
      });
      await this.stop();
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Stops: no new pass starts, timers are cancelled, the pass in flight is awaited. Idempotent. */
  async stop(): Promise<void> {
    if (!this.isStopped) {
      this.abort.abort(new LoopStoppedError(this.name));
      this.passTimer?.cancel();
      this.passTimer = undefined;
      this.watcher?.close();
      this.onStop();
    }
    await this.consuming;
    while (this.passing !== undefined) await this.passing;
  }

  /** Cancels the subclass's own timers. */
  protected onStop(): void {}

  /**
   * Asks for a pass. Without `delayMs` the debounce is leading-edge: after an idle period (no pass
   * for at least the debounce) the pass runs at once, on the next turn of the event loop, so a
   * lone change is handled without waiting; a pass that follows another keeps at least the
   * debounce between them, so a burst of changes still makes few passes. A pass already due keeps
   * its time; a request during a pass runs another after it.
   */
  protected requestPass(delayMs?: number): void {
    if (this.isStopped) return;
    if (this.passing !== undefined) {
      this.passAgain = true;
      return;
    }
    if (this.passTimer !== undefined) return;
    const waitMs = delayMs ?? Math.max(0, this.lastPassEndedMs + this.debounceMs - this.clock.now());
    this.passTimer = this.clock.setTimer(() => {
      this.passTimer = undefined;
      this.startPass();
    }, waitMs);
  }

  /** A fresh budget for one chunk of a long pass. */
  protected newChunk(): ChunkBudget {
    return new ChunkBudget(this.chunkLimits);
  }

  /** Between two chunks of a pass: lets the event loop run, then throws if the loop stopped meanwhile. */
  protected async yieldBetweenChunks(): Promise<void> {
    await yieldToEventLoop();
    this.assertRunning();
  }

  /** Throws LoopStoppedError once the loop is stopping: call before each write. */
  protected assertRunning(): void {
    if (this.isStopped) throw new LoopStoppedError(this.name);
  }

  private watch(): void {
    const { watcher } = this.store.viewAndWatch((tx) => this.resync(tx), {
      tables: this.tables,
      commits: true,
      signal: this.abort.signal,
    });
    this.watcher = watcher;
    this.requestPass(0);
    this.consuming = this.consume(watcher);
  }

  private async consume(watcher: Watcher<K>): Promise<void> {
    try {
      for await (const event of watcher as AsyncIterable<StoreEventOf<K>>) {
        if (event.type === 'restored') {
          this.counters.resyncs++;
          this.logger.info({ index: event.index }, 'store restored from a snapshot: resyncing');
          watcher.close();
          if (!this.isStopped) this.watch();
          return;
        }
        if (event.type === 'commit') {
          if (this.dirty) {
            this.dirty = false;
            this.requestPass();
          }
          continue;
        }
        if (this.handle(event)) this.dirty = true;
      }
    } catch (err) {
      if (this.isStopped) return;
      this.counters.resyncs++;
      this.logger.warn({ err }, 'watch ended: resyncing from a fresh view');
      this.watch();
    }
  }

  private startPass(): void {
    if (this.isStopped) return;
    this.passAgain = false;
    const startedAt = performance.now();
    this.passing = this.pass()
      .then(
        () => {
          this.counters.passes++;
        },
        (err: unknown) => {
          if (this.isStopped || err instanceof LoopStoppedError) return;
          if (isRaceLost(err)) {
            this.counters.racesLost++;
            // Someone wrote first (another loop, an agent, an operator): reconcile again from fresh state.
            this.logger.debug({ err: (err as Error).message }, 'write raced with another change: again');
            return 'again' as const;
          }
          this.counters.passesFailed++;
          this.logger.warn({ err }, 'pass failed: retrying');
          return 'retry' as const;
        },
      )
      .then((outcome) => {
        this.counters.lastPassDurationMs = performance.now() - startedAt;
        this.passing = undefined;
        this.lastPassEndedMs = this.clock.now();
        if (outcome === 'retry') this.requestPass(this.retryDelayMs);
        else if (outcome === 'again' || this.passAgain) this.requestPass();
      });
  }
}

/** A transaction refused because the objects it was computed from changed meanwhile. */
function isRaceLost(err: unknown): boolean {
  return (
    err instanceof VersionConflictError || err instanceof NotFoundError || err instanceof AlreadyExistsError
  );
}
