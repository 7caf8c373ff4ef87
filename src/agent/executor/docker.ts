// The Docker engine as orch's executor reaches it: one thin layer over dockerode that turns every
// engine failure into an ExecutorError (unreachable engine → temporary, refusal → final, 404 → not
// found) and finds containers by orch's labels. It pulls only when asked to (pullImage); policy
// lives in the controller. Everything that can wait takes an AbortSignal.
import Docker from 'dockerode';
import { LABEL_NODE_ID, LABEL_TASK_ID, labelFilters } from './docker-labels';
import {
  ContainerNotFoundError,
  ContainerStartError,
  FinalExecutorError,
  ImageNotFoundError,
  TemporaryExecutorError,
} from './errors';
import type { Waitable } from './executor';

export { ContainerNotFoundError, ImageNotFoundError } from './errors';

interface EngineFailure {
  statusCode?: number;
  code?: string;
  reason?: string;
  json?: { message?: string } | null;
  message?: string;
  name?: string;
}

export function engineStatusCode(err: unknown): number | undefined {
  return typeof err === 'object' && err !== null ? (err as EngineFailure).statusCode : undefined;
}

/** The engine's own sentence for a failure ("No such image: x"), without dockerode's prefix. */
export function engineMessage(err: unknown): string {
  if (typeof err !== 'object' || err === null) return String(err);
  const failure = err as EngineFailure;
  const message = failure.json?.message ?? failure.message ?? failure.reason ?? String(err);
  return message.trim();
}

function isAbort(err: unknown, signal?: AbortSignal): boolean {
  return signal?.aborted === true || (err as EngineFailure | null)?.name === 'AbortError';
}

/**
 * Maps a dockerode failure onto the executor's errors. An answer from the engine (an HTTP status)
 * is final: asking again gets the same answer. No answer (socket refused, reset, timed out) is
 * temporary. Aborts pass through untouched.
 */
export function engineError(err: unknown, action: string, signal?: AbortSignal): unknown {
  if (isAbort(err, signal)) return signal?.reason ?? err;
  const status = engineStatusCode(err);
  const message = engineMessage(err);
  if (status === undefined) {
    return new TemporaryExecutorError(`${action}: docker engine unreachable: ${message}`, { cause: err });
  }
  if (status >= 500 && /connection refused|timeout|i\/o timeout|try again/i.test(message)) {
    return new TemporaryExecutorError(`${action}: ${message}`, { cause: err });
  }
  return new FinalExecutorError(`${action}: ${message}`, { cause: err });
}

export interface EngineExit {
  StatusCode: number;
  Error?: { Message?: string } | null;
}

export class DockerEngine {
  readonly docker: Docker;

  constructor(options?: Docker.DockerOptions | Docker) {
    this.docker = options instanceof Docker ? options : new Docker(options);
  }

  async ping(options: Waitable = {}): Promise<void> {
    try {
      // A ping is instant or refused; it is not worth an abort path.
      await this.docker.ping();
    } catch (err) {
      throw engineError(err, 'ping', options.signal);
    }
  }

  async info(options: Waitable = {}): Promise<{ info: Record<string, unknown>; version: string }> {
    try {
      const [info, version] = await Promise.all([
        this.docker.info() as Promise<Record<string, unknown>>,
        this.docker.version(),
      ]);
      return { info, version: version.Version };
    } catch (err) {
      throw engineError(err, 'engine info', options.signal);
    }
  }

  async hasImage(image: string, options: Waitable = {}): Promise<boolean> {
    try {
      await this.docker.getImage(image).inspect({ abortSignal: options.signal } as object);
      return true;
    } catch (err) {
      if (engineStatusCode(err) === 404) return false;
      throw engineError(err, `inspecting image ${image}`, options.signal);
    }
  }

  /**
   * Pulls `image` and follows the progress stream to its end. A registry that does not know the
   * image (or refuses access) is an ImageNotFoundError; other failures keep their message.
   */
  async pullImage(
    image: string,
    options: Waitable & { onProgress?: (event: object) => void } = {},
  ): Promise<void> {
    let stream: NodeJS.ReadableStream;
    try {
      stream = await this.docker.pull(image, { abortSignal: options.signal });
    } catch (err) {
      const status = engineStatusCode(err);
      if (status === 404 || /not found|manifest unknown|pull access denied/i.test(engineMessage(err))) {
        throw new ImageNotFoundError(image, { cause: err });
      }
      throw engineError(err, `pulling image ${image}`, options.signal);
    }
    await new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        (stream as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.();
        reject(options.signal?.reason);
      };
      options.signal?.addEventListener('abort', onAbort, { once: true });
      this.docker.modem.followProgress(
        stream,
        (err: Error | null, events: Array<{ error?: string }>) => {
          options.signal?.removeEventListener('abort', onAbort);
          const failed = err ? engineMessage(err) : events.find((e) => e.error)?.error;
          if (!failed) return resolve();
          if (/not found|manifest unknown|pull access denied/i.test(failed)) {
            return reject(new ImageNotFoundError(image, { cause: err ?? new Error(failed) }));
          }
          reject(
            new TemporaryExecutorError(`pulling image ${image}: ${failed}`, { cause: err ?? undefined }),
          );
        },
        options.onProgress,
      );
    });
  }

  /** Creates (does not start) a container; returns its ID. */
  async createContainer(create: Docker.ContainerCreateOptions, options: Waitable = {}): Promise<string> {
    try {
      const container = await this.docker.createContainer({ ...create, abortSignal: options.signal });
      return container.id;
    } catch (err) {
      if (engineStatusCode(err) === 404 && /no such image/i.test(engineMessage(err))) {
        throw new ImageNotFoundError(create.Image ?? '', { cause: err });
      }
      throw engineError(err, 'creating container', options.signal);
    }
  }

  async connectNetwork(network: string, containerId: string, aliases: string[], options: Waitable = {}) {
    try {
      await this.docker.getNetwork(network).connect({
        Container: containerId,
        EndpointConfig: { Aliases: aliases },
        abortSignal: options.signal,
      } as object);
    } catch (err) {
      throw engineError(err, `attaching network ${network}`, options.signal);
    }
  }

  /** Extracts a tar archive into the container's filesystem at `path` (the container may be stopped). */
  async putArchive(id: string, archive: Buffer, path: string, options: Waitable = {}): Promise<void> {
    await this.call(id, 'copying files into container', options, (c) =>
      c.putArchive(archive, { path, abortSignal: options.signal } as { path: string }),
    );
  }

  async start(id: string, options: Waitable = {}): Promise<void> {
    try {
      await this.docker.getContainer(id).start({ abortSignal: options.signal });
    } catch (err) {
      const status = engineStatusCode(err);
      if (status === 304) return; // already started
      if (status === 404) throw new ContainerNotFoundError(id, { cause: err });
      if (status !== undefined && !isAbort(err, options.signal)) {
        throw new ContainerStartError(engineMessage(err), { cause: err });
      }
      throw engineError(err, 'starting container', options.signal);
    }
  }

  async inspect(id: string, options: Waitable = {}): Promise<Docker.ContainerInspectInfo> {
    return this.call(id, 'inspecting container', options, (c) => c.inspect({ abortSignal: options.signal }));
  }

  /** Resolves when the container is not running any more (at once if it already is not). */
  async wait(id: string, options: Waitable = {}): Promise<EngineExit> {
    return this.call(id, 'waiting for container', options, (c) =>
      c.wait({ condition: 'not-running', abortSignal: options.signal }),
    );
  }

  /**
   * Sends the container's stop signal, then SIGKILL after `gracePeriodMs` (the container's own
   * StopTimeout when absent). A stopped or missing container is fine.
   */
  async stop(id: string, gracePeriodMs: number | undefined, options: Waitable = {}): Promise<void> {
    const query = gracePeriodMs === undefined ? {} : { t: Math.ceil(gracePeriodMs / 1000) };
    try {
      await this.docker.getContainer(id).stop({ ...query, abortSignal: options.signal });
    } catch (err) {
      const status = engineStatusCode(err);
      if (status === 304 || status === 404) return;
      throw engineError(err, 'stopping container', options.signal);
    }
  }

  /** SIGKILL now. A stopped or missing container is fine. */
  async kill(id: string, options: Waitable = {}): Promise<void> {
    try {
      await this.docker.getContainer(id).kill({ abortSignal: options.signal });
    } catch (err) {
      const status = engineStatusCode(err);
      if (status === 404 || status === 409) return; // gone, or not running
      throw engineError(err, 'killing container', options.signal);
    }
  }

  /** Removes the container (and its anonymous volumes). A missing container is fine. */
  async remove(id: string, options: Waitable & { force?: boolean } = {}): Promise<void> {
    try {
      await this.docker
        .getContainer(id)
        .remove({ force: options.force ?? false, v: true, abortSignal: options.signal });
    } catch (err) {
      const status = engineStatusCode(err);
      if (status === 404) return;
      // 409 "removal already in progress" is as good as done.
      if (status === 409 && /already in progress/i.test(engineMessage(err))) return;
      throw engineError(err, 'removing container', options.signal);
    }
  }

  /** The raw log stream (follow) or buffer (no follow), multiplexed unless the container has a TTY. */
  async logs(
    id: string,
    query: { follow: boolean; tail?: number; since?: Date; timestamps: boolean },
    options: Waitable = {},
  ): Promise<NodeJS.ReadableStream | Buffer> {
    const request = {
      stdout: true,
      stderr: true,
      follow: query.follow,
      timestamps: query.timestamps,
      tail: query.tail === undefined ? 'all' : String(query.tail),
      since: query.since ? (query.since.getTime() / 1000).toFixed(3) : 0,
      abortSignal: options.signal,
    };
    return this.call(id, 'reading logs', options, (c) =>
      (c.logs as (o: object) => Promise<NodeJS.ReadableStream | Buffer>)(request),
    );
  }

  /**
   * The engine's event stream for one container, restricted to `events` (e.g. `health_status`,
   * `die`), as parsed JSON messages. The iterator ends when `signal` aborts or the caller stops.
   */
  async containerEvents(
    id: string,
    events: string[],
    options: Waitable = {},
  ): Promise<AsyncIterable<{ status?: string; Action?: string }>> {
    let stream: NodeJS.ReadableStream;
    try {
      stream = (await this.docker.getEvents({
        filters: { container: [id], event: events },
        abortSignal: options.signal,
      } as object)) as NodeJS.ReadableStream;
    } catch (err) {
      throw engineError(err, 'following engine events', options.signal);
    }
    const signal = options.signal;
    return {
      async *[Symbol.asyncIterator]() {
        let buffered = '';
        try {
          for await (const chunk of stream) {
            buffered += chunk.toString();
            let newline = buffered.indexOf('\n');
            while (newline >= 0) {
              const line = buffered.slice(0, newline).trim();
              buffered = buffered.slice(newline + 1);
              if (line) yield JSON.parse(line) as { status?: string; Action?: string };
              newline = buffered.indexOf('\n');
            }
          }
        } catch (err) {
          throw engineError(err, 'following engine events', signal);
        } finally {
          (stream as NodeJS.ReadableStream & { destroy(): void }).destroy();
        }
      },
    };
  }

  /** IDs of the containers carrying every given label, running or not. */
  async listByLabels(labels: Record<string, string>, options: Waitable = {}): Promise<string[]> {
    try {
      const list = await this.docker.listContainers({
        all: true,
        filters: { label: labelFilters(labels) },
        abortSignal: options.signal,
      });
      return list.map((c) => c.Id);
    } catch (err) {
      throw engineError(err, 'listing containers', options.signal);
    }
  }

  /** IDs of every container orch's node `nodeId` created on this engine. */
  async listNodeContainers(nodeId: string, options: Waitable = {}): Promise<string[]> {
    return this.listByLabels({ [LABEL_NODE_ID]: nodeId }, options);
  }

  /** The container of task `taskId` on node `nodeId`, if the engine has one. */
  async findTaskContainer(
    nodeId: string,
    taskId: string,
    options: Waitable = {},
  ): Promise<string | undefined> {
    const [id] = await this.listByLabels({ [LABEL_NODE_ID]: nodeId, [LABEL_TASK_ID]: taskId }, options);
    return id;
  }

  private async call<T>(
    id: string,
    action: string,
    options: Waitable,
    fn: (c: Docker.Container) => Promise<T>,
  ): Promise<T> {
    try {
      return await fn(this.docker.getContainer(id));
    } catch (err) {
      if (engineStatusCode(err) === 404) throw new ContainerNotFoundError(id, { cause: err });
      throw engineError(err, action, options.signal);
    }
  }
}
