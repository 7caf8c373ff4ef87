// The convergence benchmark's one view of the world: the Docker engine both systems run their
// containers on. "Converged" means the same thing for Swarm and orch: the engine lists N containers
// of the service (found by the system's service-ID label) whose State is running. Nothing here knows
// either orchestrator; every call names the label of exactly one service, so the benchmark never
// looks at or touches anyone else's containers.
import { setTimeout as delay } from 'node:timers/promises';
import Docker from 'dockerode';

export const POLL_INTERVAL_MS = 50;

export class ConvergenceTimeoutError extends Error {
  override name = 'ConvergenceTimeoutError';
  constructor(
    readonly what: string,
    readonly timeoutMs: number,
    readonly lastSeen: number,
  ) {
    super(`timed out after ${timeoutMs / 1000} s waiting for ${what} (last seen: ${lastSeen})`);
  }
}

/** A `label=value` pair that selects the containers of one service. */
export interface ServiceSelector {
  label: string;
  value: string;
}

export interface WaitOptions {
  timeoutMs: number;
  signal?: AbortSignal;
}

export class Engine {
  readonly docker = new Docker();

  /** IDs of the selected service's containers that are running now. */
  async runningContainers(
    selector: ServiceSelector,
    options: { signal?: AbortSignal } = {},
  ): Promise<string[]> {
    const list = await this.docker.listContainers({
      all: false,
      filters: { label: [`${selector.label}=${selector.value}`], status: ['running'] },
      abortSignal: options.signal,
    });
    return list.map((c) => c.Id);
  }

  /** IDs of every container of the selected service, running or not. */
  async allContainers(selector: ServiceSelector): Promise<string[]> {
    const list = await this.docker.listContainers({
      all: true,
      filters: { label: [`${selector.label}=${selector.value}`] },
    });
    return list.map((c) => c.Id);
  }

  /**
   * Polls every POLL_INTERVAL_MS until `count` containers of the service run, none of them in
   * `excluded` (the container a recovery case removed). Resolves with the monotonic time (ms,
   * `performance.now()`) at which the engine's answer showing convergence arrived.
   */
  async waitRunning(
    selector: ServiceSelector,
    count: number,
    options: WaitOptions & { excluded?: ReadonlySet<string> },
  ): Promise<number> {
    const deadline = performance.now() + options.timeoutMs;
    let seen = 0;
    for (;;) {
      options.signal?.throwIfAborted();
      const running = await this.runningContainers(selector, options);
      const now = performance.now();
      seen = running.filter((id) => !options.excluded?.has(id)).length;
      if (seen >= count) return now;
      if (now > deadline)
        throw new ConvergenceTimeoutError(
          `${count} running containers of ${selector.value}`,
          options.timeoutMs,
          seen,
        );
      await sleep(POLL_INTERVAL_MS, options.signal);
    }
  }

  /** Waits until no container of the service is left, running or not. */
  async waitGone(selector: ServiceSelector, options: WaitOptions): Promise<void> {
    const deadline = performance.now() + options.timeoutMs;
    for (;;) {
      options.signal?.throwIfAborted();
      const left = await this.allContainers(selector);
      if (left.length === 0) return;
      if (performance.now() > deadline)
        throw new ConvergenceTimeoutError(
          `the containers of ${selector.value} to go`,
          options.timeoutMs,
          left.length,
        );
      await sleep(POLL_INTERVAL_MS * 4, options.signal);
    }
  }

  /** Force-removes every container of the service (cleanup after a system failed to). */
  async forceRemoveAll(selector: ServiceSelector): Promise<number> {
    const ids = await this.allContainers(selector);
    await Promise.all(ids.map((id) => this.removeContainer(id)));
    return ids.length;
  }

  /** `docker rm -f`: a container that is already gone is fine. */
  async removeContainer(id: string): Promise<void> {
    try {
      await this.docker.getContainer(id).remove({ force: true });
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode !== 404) throw err;
    }
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return delay(ms, undefined, { signal });
}
