// The executor a worker runs real tasks with: one Docker container per task, created with orch's
// labels so that a restarted agent finds (adopts) its containers instead of duplicating them. The
// controller applies the pull policy (an image present locally never touches a registry unless the
// policy is `always`), creates, starts, waits, stops with the task's signal and grace period, and
// streams demultiplexed logs. Restarts are orch's business: the engine's restart policy is off.
import { hostname as osHostname } from 'node:os';
import { Readable } from 'node:stream';
import { type Logger, silentLogger } from '../../common/logger';
import { DockerEngine, engineMessage } from './docker';
import { dockerCreateOptions } from './docker-container-spec';
import { observedFromInspect } from './docker-observed';
import {
  ContainerNotFoundError,
  FinalExecutorError,
  ImageNotFoundError,
  TaskNodeMismatchError,
  TemporaryExecutorError,
} from './errors';
import type {
  Executor,
  ExitStatus,
  LogEntry,
  LogOptions,
  NodeDescriptionInfo,
  ObservedTask,
  TaskController,
  Waitable,
} from './executor';
import { LogLineQueue } from './log-lines';
import { tarArchive } from './task-files';
import type { ExecutorTask } from './task-spec';

/** Container inspections listTasks() runs at once. */
const LIST_CONCURRENCY = 8;

export interface DockerExecutorOptions {
  /** The node whose tasks this executor runs (label orch.node.id). */
  nodeId: string;
  engine?: DockerEngine;
  logger?: Logger;
  /** Reported by describe(); the host's name by default. */
  hostname?: string;
}

export class DockerExecutor implements Executor {
  readonly nodeId: string;
  readonly engine: DockerEngine;
  private readonly logger: Logger;
  private readonly hostname?: string;

  constructor(options: DockerExecutorOptions) {
    this.nodeId = options.nodeId;
    this.engine = options.engine ?? new DockerEngine();
    this.logger = (options.logger ?? silentLogger()).child({
      module: 'executor',
      node: this.nodeId,
    });
    this.hostname = options.hostname;
  }

  async describe(options: Waitable = {}): Promise<NodeDescriptionInfo> {
    const { info, version } = await this.engine.info(options);
    return {
      hostname: this.hostname ?? osHostname(),
      os: String(info.OSType ?? 'linux'),
      architecture: String(info.Architecture ?? ''),
      nanoCpus: Number(info.NCPU ?? 0) * 1e9,
      memoryBytes: Number(info.MemTotal ?? 0),
      engineVersion: version,
    };
  }

  controller(task: ExecutorTask): TaskController {
    if (task.nodeId !== this.nodeId) {
      throw new TaskNodeMismatchError(task.id, task.nodeId, this.nodeId);
    }
    return new DockerTaskController(this.engine, task, this.logger.child({ task: task.id }));
  }

  async listTasks(options: Waitable = {}): Promise<ObservedTask[]> {
    const ids = await this.engine.listNodeContainers(this.nodeId, options);
    const observed: Array<ObservedTask | undefined> = new Array(ids.length);
    // A few inspections at a time: an agent restarting with many tasks should not wait on each in turn.
    let next = 0;
    const worker = async () => {
      while (next < ids.length) {
        const index = next++;
        try {
          observed[index] = observedFromInspect(await this.engine.inspect(ids[index], options));
        } catch (err) {
          if (!(err instanceof ContainerNotFoundError)) throw err; // removed since the listing
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(LIST_CONCURRENCY, ids.length) }, worker));
    return observed.filter((o): o is ObservedTask => o !== undefined);
  }

  async removeTask(taskId: string, options: Waitable = {}): Promise<void> {
    const id = await this.engine.findTaskContainer(this.nodeId, taskId, options);
    if (!id) return;
    this.logger.info({ task: taskId, container: id }, 'removing container of unassigned task');
    await this.engine.stop(id, undefined, options); // the container's own StopTimeout: the task's grace period
    await this.engine.remove(id, { ...options, force: true });
  }

  async close(): Promise<void> {
    // dockerode holds no connection between requests; containers keep running on purpose.
  }
}

export class DockerTaskController implements TaskController {
  readonly taskId: string;
  /** Cached once found or created; cleared when the container turns out to be gone. */
  private containerId?: string;

  constructor(
    private readonly engine: DockerEngine,
    private readonly task: ExecutorTask,
    private readonly logger: Logger,
  ) {
    this.taskId = task.id;
  }

  async prepare(options: Waitable = {}): Promise<void> {
    if (await this.lookup(options)) return; // prepared before (an adopted task, or a retried step)
    await this.ensureImage(options);
    const id = await this.engine.createContainer(dockerCreateOptions(this.task), options);
    this.containerId = id;
    try {
      // As on the primary network (docker-container-spec.ts): behind an orch network's embedded DNS
      // no service-name alias, which the engine's DNS would answer with this node's containers only.
      const aliases = this.task.spec.dns.length === 0 && this.task.serviceName ? [this.task.serviceName] : [];
      for (const network of this.task.spec.networks.slice(1)) {
        await this.engine.connectNetwork(network, id, aliases, options);
      }
      if (this.task.spec.files.length > 0) {
        await this.engine.putArchive(id, tarArchive(this.task.spec.files), '/', options);
      }
    } catch (err) {
      // A half-prepared container would be adopted as prepared on the next step: take it away.
      await this.engine.remove(id, { force: true }).catch(() => undefined);
      this.containerId = undefined;
      throw err;
    }
    this.logger.debug({ container: id }, 'container created');
  }

  /** Applies the pull policy. `missing` and `never` use a local image without asking any registry. */
  private async ensureImage(options: Waitable): Promise<void> {
    const { image, pullPolicy } = this.task.spec;
    if (pullPolicy !== 'always') {
      if (await this.engine.hasImage(image, options)) return;
      if (pullPolicy === 'never') throw new ImageNotFoundError(image);
      await this.pull(image, options);
      return;
    }
    try {
      await this.pull(image, options);
    } catch (err) {
      if (options.signal?.aborted || !(await this.engine.hasImage(image, options))) throw err;
      // As Swarm does: a registry that cannot be reached does not stop a task whose image is here.
      this.logger.warn({ image, err: engineMessage(err) }, 'pull failed; using the local image');
    }
  }

  private async pull(image: string, options: Waitable): Promise<void> {
    this.logger.info({ image }, 'pulling image');
    await this.engine.pullImage(image, options);
  }

  async start(options: Waitable = {}): Promise<void> {
    const id = await this.require(options);
    const info = await this.engine.inspect(id, options);
    const test = info.Config.Healthcheck?.Test ?? [];
    const checked = test.length > 0 && test[0] !== 'NONE';
    if (info.State.Status === 'created') {
      if (!checked) {
        await this.engine.start(id, options);
        this.logger.debug({ container: id }, 'container started');
        return;
      }
      await this.untilHealthy(id, true, options);
      return;
    }
    // Started before (adopted, or a retried step). Still proving its health: keep waiting for it.
    if (checked && info.State.Running && info.State.Health?.Status === 'starting') {
      await this.untilHealthy(id, false, options);
    }
    // Anything else already ran (or runs): wait() tells how it ended.
  }

  /**
   * As Swarm does, a task with a health check is only running once healthy. The health events are
   * subscribed to before the container starts (or its state is read again), so none is missed.
   */
  private async untilHealthy(id: string, startIt: boolean, options: Waitable): Promise<void> {
    const events = new AbortController();
    const onAbort = () => events.abort(options.signal?.reason);
    options.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const stream = await this.engine.containerEvents(id, ['health_status', 'die'], {
        signal: events.signal,
      });
      if (startIt) {
        await this.engine.start(id, options);
        this.logger.debug({ container: id }, 'container started; waiting until healthy');
      } else {
        const state = (await this.engine.inspect(id, options)).State;
        if (!state.Running) return;
        if (state.Health?.Status === 'healthy') return;
        if (state.Health?.Status === 'unhealthy') return this.unhealthy(id, options);
      }
      for await (const event of stream) {
        const status = event.status ?? event.Action ?? '';
        if (status === 'die') return; // wait() reports how it ended
        if (status.endsWith(': unhealthy')) return this.unhealthy(id, options);
        if (status.endsWith(': healthy')) return;
      }
      throw new TemporaryExecutorError('engine event stream ended before the task became healthy');
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
      events.abort();
    }
  }

  private async unhealthy(id: string, options: Waitable): Promise<never> {
    await this.engine.stop(id, this.task.spec.stopGracePeriodMs, options);
    throw new FinalExecutorError('task: unhealthy container');
  }

  async wait(options: Waitable = {}): Promise<ExitStatus> {
    const id = await this.require(options);
    const exit = await this.engine.wait(id, options);
    const info = await this.engine.inspect(id, options);
    return {
      exitCode: exit.StatusCode,
      oomKilled: info.State.OOMKilled,
      error: exit.Error?.Message || info.State.Error || '',
    };
  }

  async shutdown(options: Waitable = {}): Promise<void> {
    const id = await this.lookup(options);
    if (!id) return;
    await this.engine.stop(id, this.task.spec.stopGracePeriodMs, options);
  }

  async terminate(options: Waitable = {}): Promise<void> {
    const id = await this.lookup(options);
    if (id) await this.engine.kill(id, options);
  }

  async remove(options: Waitable = {}): Promise<void> {
    const id = await this.lookup(options);
    if (!id) return;
    await this.engine.remove(id, { ...options, force: true });
    this.containerId = undefined;
    this.logger.debug({ container: id }, 'container removed');
  }

  async inspect(options: Waitable = {}): Promise<ObservedTask | undefined> {
    const id = await this.lookup(options);
    if (!id) return undefined;
    try {
      return observedFromInspect(await this.engine.inspect(id, options));
    } catch (err) {
      if (!(err instanceof ContainerNotFoundError)) throw err;
      this.containerId = undefined;
      return undefined;
    }
  }

  logs(options: LogOptions = {}): AsyncIterable<LogEntry> {
    return { [Symbol.asyncIterator]: () => this.streamLogs(options)[Symbol.asyncIterator]() };
  }

  private async *streamLogs(options: LogOptions): AsyncGenerator<LogEntry> {
    const id = await this.require(options);
    const info = await this.engine.inspect(id, options);
    const raw = await this.engine.logs(
      id,
      { follow: options.follow ?? false, tail: options.tail, since: options.since, timestamps: true },
      options,
    );
    const source = Buffer.isBuffer(raw) ? Readable.from([raw]) : (raw as Readable);
    const queue = new LogLineQueue(true, options.timestamps ?? false);
    queue.attach({
      pause: () => source.pause(),
      resume: () => source.resume(),
      destroy: () => source.destroy(),
    });
    const sink = (stream: 'stdout' | 'stderr') => ({ write: (chunk: Buffer) => queue.write(stream, chunk) });
    if (info.Config.Tty) {
      source.on('data', (chunk: Buffer) => queue.write('stdout', chunk));
    } else {
      this.engine.docker.modem.demuxStream(
        source,
        sink('stdout') as unknown as NodeJS.WritableStream,
        sink('stderr') as unknown as NodeJS.WritableStream,
      );
    }
    source.on('end', () => queue.end());
    source.on('close', () => queue.end(options.signal?.aborted ? options.signal.reason : undefined));
    source.on('error', (err) => queue.end(options.signal?.aborted ? options.signal.reason : err));
    yield* queue;
  }

  private async lookup(options: Waitable): Promise<string | undefined> {
    this.containerId ??= await this.engine.findTaskContainer(this.task.nodeId, this.task.id, options);
    return this.containerId;
  }

  private async require(options: Waitable): Promise<string> {
    const id = await this.lookup(options);
    if (!id) throw new ContainerNotFoundError(`task ${this.task.id}`);
    return id;
  }
}
