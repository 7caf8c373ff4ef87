// The leader-only components of a manager (orchestrators, scheduler, allocator, the membership
// and status loops) in one registry, started when this manager becomes the Raft leader and stopped
// when it stops leading. Each loop runs as `run(signal)` until the signal aborts; a loop that fails
// while we still lead is logged and restarted after a back-off, so one bad loop never takes the
// manager down. This is the single place where leadership turns components on and off.
import type { Logger } from 'pino';
import type { MemoryStore } from '../store';

/** What a leader-only loop gets when it starts. */
export interface LeaderContext {
  store: MemoryStore;
  logger: Logger;
  /** This manager's node ID. */
  nodeId: string;
  /** The Raft term this leadership belongs to. */
  term: number;
}

/** A leader-only component. `run` returns (or rejects) only when `signal` aborts or it fails. */
export interface LeaderLoop {
  run(signal: AbortSignal): Promise<void>;
}

export type LeaderLoopFactory = (context: LeaderContext) => LeaderLoop;

interface RunningLoop {
  name: string;
  done: Promise<void>;
}

const RESTART_MIN_DELAY_MS = 250;
const RESTART_MAX_DELAY_MS = 10_000;

export class LeaderLoopRegistry {
  private readonly factories = new Map<string, LeaderLoopFactory>();
  private running: { abort: AbortController; loops: RunningLoop[]; context: LeaderContext } | undefined;

  constructor(private readonly logger: Logger) {}

  /**
   * Adds a leader-only loop. Registering while leading starts it at once. Names are unique: the
   * same name twice is a programming error.
   */
  register(name: string, factory: LeaderLoopFactory): void {
    if (this.factories.has(name)) throw new Error(`leader loop ${name} is registered twice`);
    this.factories.set(name, factory);
    if (this.running) this.running.loops.push(this.launch(name, factory, this.running));
  }

  /** The registered names, in registration order. */
  get names(): string[] {
    return [...this.factories.keys()];
  }

  /** True between start() and stop(). */
  get active(): boolean {
    return this.running !== undefined;
  }

  /** Starts every loop for a new leadership. A second start() without stop() first is ignored. */
  start(context: LeaderContext): void {
    if (this.running) return;
    const running = { abort: new AbortController(), loops: [] as RunningLoop[], context };
    this.running = running;
    this.logger.info({ term: context.term, loops: this.names }, 'starting leader loops');
    for (const [name, factory] of this.factories) running.loops.push(this.launch(name, factory, running));
  }

  /** Stops every loop and waits until each has returned. */
  async stop(): Promise<void> {
    const running = this.running;
    if (!running) return;
    this.running = undefined;
    running.abort.abort(new Error('leadership lost'));
    await Promise.all(running.loops.map((l) => l.done));
    this.logger.info({ term: running.context.term }, 'leader loops stopped');
  }

  private launch(
    name: string,
    factory: LeaderLoopFactory,
    running: { abort: AbortController; context: LeaderContext },
  ): RunningLoop {
    const { signal } = running.abort;
    const logger = running.context.logger.child({ loop: name });
    const done = (async () => {
      let delayMs = RESTART_MIN_DELAY_MS;
      while (!signal.aborted) {
        try {
          await factory({ ...running.context, logger }).run(signal);
          if (signal.aborted) return;
          logger.warn('leader loop returned while still leading; restarting');
        } catch (err) {
          if (signal.aborted) return;
          logger.error({ err }, 'leader loop failed; restarting');
        }
        await sleep(delayMs, signal);
        delayMs = Math.min(delayMs * 2, RESTART_MAX_DELAY_MS);
      }
    })();
    return { name, done };
  }
}

/** Resolves after `ms`, or at once when `signal` aborts. Never rejects; the timer is unref'd. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    timer.unref();
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** Resolves when `signal` aborts: the body of a loop that only holds something open while leading. */
export function untilAborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
}
