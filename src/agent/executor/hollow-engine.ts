// The simulated "engine" behind hollow executors: the containers of every hollow node in the
// process, keyed by node and task, and the one scheduler that moves their time. Hollow nodes let
// one process stand in for hundreds or thousands of workers in scale runs, the way Kubernetes uses
// hollow kubelets. A container here is a small record, not a process: it holds no timer while idle,
// one scheduler entry while it has a deadline (start delay, finite run, stop), and a listener set
// only while someone waits on it. Two executors for the same node ID share its containers, exactly
// as two agents of one node would share the Docker engine: that is how adoption is simulated.
import type { ScheduledEntry } from './hollow-scheduler';
import { HollowScheduler } from './hollow-scheduler';
import type { BoundPort, ExecutorTask } from './task-spec';

/** How a hollow node's containers behave; every field has a default. */
export interface HollowBehaviour {
  /** Simulated time start() takes. */
  startDelayMs: number;
  /** How long a task runs before exiting with `exitCode`; Infinity (default) runs until shut down. */
  runDurationMs: number;
  exitCode: number;
  /** Fraction (0..1) of tasks that fail, chosen by a seeded hash of the task ID: deterministic. */
  failureRate: number;
  /** `exit`: a failing task starts, then exits with `failureExitCode`; `start`: its start fails. */
  failureMode: 'exit' | 'start';
  failureExitCode: number;
  /** For failureMode `exit`: how long a failing task runs before it exits. */
  failAfterMs: number;
  /** How long a task takes to exit on its stop signal; past the grace period it is killed (137). */
  stopDelayMs: number;
  seed: number;
}

export const DEFAULT_HOLLOW_BEHAVIOUR: Readonly<HollowBehaviour> = Object.freeze({
  startDelayMs: 0,
  runDurationMs: Number.POSITIVE_INFINITY,
  exitCode: 0,
  failureRate: 0,
  failureMode: 'exit',
  failureExitCode: 1,
  failAfterMs: 0,
  stopDelayMs: 0,
  seed: 1,
});

export type HollowContainerState = 'created' | 'running' | 'exited';

/** One simulated container. Kept small on purpose: the scale benchmark holds tens of thousands. */
export interface HollowContainer {
  readonly id: string;
  /** The agent's own task object (shared, not copied). */
  readonly task: ExecutorTask;
  readonly behaviour: HollowBehaviour;
  state: HollowContainerState;
  exitCode: number;
  err: string;
  startedAtMs: number;
  finishedAtMs: number;
  /** The one pending deadline (start, exit, or kill), if any. */
  timer?: ScheduledEntry;
  /** Set once a stop signal was "sent", until the container exits. */
  stopping?: boolean;
  /** In-flight start, so concurrent starts share it. */
  starting?: Promise<void>;
  /** Called on every state change; allocated only while someone waits. */
  listeners?: Set<() => void>;
  ports?: BoundPort[];
}

/** A uniform number in [0, 1) from (seed, taskId): the same task fails under the same seed, in any order. */
export function hollowRandom(seed: number, taskId: string): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < taskId.length; i++) {
    h ^= taskId.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  // murmur3's finaliser spreads FNV's weak low bits.
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) / 0x1_0000_0000;
}

export interface HollowEngineOptions {
  scheduler?: HollowScheduler;
  /** Dynamic host ports are handed out from here upwards (wrapping at 65535). */
  firstHostPort?: number;
}

export class HollowEngine {
  readonly scheduler: HollowScheduler;
  private readonly nodes = new Map<string, Map<string, HollowContainer>>();
  private readonly firstHostPort: number;
  private nextHostPort: number;
  private nextContainer = 1;

  constructor(options: HollowEngineOptions = {}) {
    this.scheduler = options.scheduler ?? new HollowScheduler();
    this.firstHostPort = options.firstHostPort ?? 30_000;
    this.nextHostPort = this.firstHostPort;
  }

  /** The containers of node `nodeId` (created on first use). */
  containers(nodeId: string): Map<string, HollowContainer> {
    let containers = this.nodes.get(nodeId);
    if (!containers) {
      containers = new Map();
      this.nodes.set(nodeId, containers);
    }
    return containers;
  }

  /** Containers across every node. */
  get size(): number {
    let total = 0;
    for (const containers of this.nodes.values()) total += containers.size;
    return total;
  }

  newContainerId(): string {
    return (this.nextContainer++).toString(16).padStart(12, '0');
  }

  allocateHostPort(): number {
    const port = this.nextHostPort;
    this.nextHostPort = port >= 65_535 ? this.firstHostPort : port + 1;
    return port;
  }

  /** Stops time: nothing scheduled fires any more. Containers keep their last state. */
  close(): void {
    this.scheduler.close();
  }
}

/** Moves a container to `exited` and tells whoever waits. */
export function exitContainer(
  engine: HollowEngine,
  container: HollowContainer,
  exitCode: number,
  err = '',
): void {
  if (container.state === 'exited') return;
  if (container.timer) engine.scheduler.cancel(container.timer);
  container.timer = undefined;
  container.stopping = undefined;
  container.state = 'exited';
  container.exitCode = exitCode;
  container.err = err;
  container.finishedAtMs = engine.scheduler.now();
  notify(container);
}

export function notify(container: HollowContainer): void {
  if (!container.listeners) return;
  for (const listener of [...container.listeners]) listener();
}

/** Resolves on the container's next state change; rejects when `signal` aborts. */
export function nextChange(container: HollowContainer, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const listeners = container.listeners ?? new Set();
    container.listeners = listeners;
    const done = () => {
      listeners.delete(listener);
      if (listeners.size === 0 && container.listeners === listeners) container.listeners = undefined;
      signal?.removeEventListener('abort', onAbort);
    };
    const listener = () => {
      done();
      resolve();
    };
    const onAbort = () => {
      done();
      reject(signal?.reason);
    };
    listeners.add(listener);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Resolves after `delayMs` of the scheduler's time; rejects when `signal` aborts. */
export function hollowDelay(
  scheduler: HollowScheduler,
  delayMs: number,
  signal?: AbortSignal,
): Promise<void> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  if (delayMs <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      scheduler.cancel(entry);
      reject(signal?.reason);
    };
    const entry = scheduler.schedule(delayMs, () => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    });
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
