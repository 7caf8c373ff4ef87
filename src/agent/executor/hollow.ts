// The hollow executor: the Executor contract without containers, for scale runs where one process
// hosts many simulated worker nodes. It goes through the same states, obeys the same idempotency
// rules and raises the same errors as the Docker executor, with behaviour (start delay, run time,
// seeded failures, stop delay) taken from a HollowBehaviour. Logs are generated from the container's
// state, not stored. Time comes from the engine's shared scheduler: no timer per task.
import { type Logger, silentLogger } from '../../common/logger';
import type { TaskState } from '../../common/task-state';
import {
  ContainerNotFoundError,
  ContainerStartError,
  ImageNotFoundError,
  TaskNodeMismatchError,
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
import {
  DEFAULT_HOLLOW_BEHAVIOUR,
  exitContainer,
  type HollowBehaviour,
  type HollowContainer,
  type HollowEngine,
  hollowDelay,
  hollowRandom,
  nextChange,
  notify,
} from './hollow-engine';
import type { BoundPort, ExecutorTask } from './task-spec';

/** Exit code of a killed process (128 + SIGKILL), as Docker reports it. */
const KILLED_EXIT_CODE = 137;

export interface HollowExecutorOptions {
  nodeId: string;
  engine: HollowEngine;
  /** One behaviour for every task, or one per task (e.g. read from its labels). */
  behaviour?: Partial<HollowBehaviour> | ((task: ExecutorTask) => Partial<HollowBehaviour>);
  description?: Partial<NodeDescriptionInfo>;
  /** Images neither present nor pullable: their tasks are rejected with "image not found: NAME". */
  missingImages?: Iterable<string>;
  logger?: Logger;
}

/** What every controller of one hollow node shares (one object per node, not per task). */
interface HollowNode {
  readonly engine: HollowEngine;
  readonly behaviourFor: (task: ExecutorTask) => HollowBehaviour;
  readonly missingImages: ReadonlySet<string>;
  readonly logger: Logger;
}

export class HollowExecutor implements Executor {
  readonly nodeId: string;
  readonly engine: HollowEngine;
  private readonly node: HollowNode;
  private readonly description: NodeDescriptionInfo;

  constructor(options: HollowExecutorOptions) {
    this.nodeId = options.nodeId;
    this.engine = options.engine;
    const behaviour = options.behaviour;
    let behaviourFor: (task: ExecutorTask) => HollowBehaviour;
    if (typeof behaviour === 'function') {
      behaviourFor = (task) => ({ ...DEFAULT_HOLLOW_BEHAVIOUR, ...behaviour(task) });
    } else {
      // One shared object for every task: nothing allocated per task.
      const shared: HollowBehaviour = { ...DEFAULT_HOLLOW_BEHAVIOUR, ...behaviour };
      behaviourFor = () => shared;
    }
    this.description = {
      hostname: `hollow-${options.nodeId}`,
      os: 'linux',
      architecture: 'x86_64',
      nanoCpus: 4e9,
      memoryBytes: 8 * 1024 ** 3,
      engineVersion: 'hollow',
      ...options.description,
    };
    this.node = {
      engine: this.engine,
      behaviourFor,
      missingImages: new Set(options.missingImages ?? []),
      logger: (options.logger ?? silentLogger()).child({ module: 'hollow-executor', node: this.nodeId }),
    };
  }

  async describe(): Promise<NodeDescriptionInfo> {
    return { ...this.description };
  }

  controller(task: ExecutorTask): TaskController {
    if (task.nodeId !== this.nodeId) {
      throw new TaskNodeMismatchError(task.id, task.nodeId, this.nodeId);
    }
    return new HollowTaskController(this.node, task);
  }

  async listTasks(): Promise<ObservedTask[]> {
    return [...this.engine.containers(this.nodeId).values()].map((c) => observe(c));
  }

  async removeTask(taskId: string, options: Waitable = {}): Promise<void> {
    const container = this.engine.containers(this.nodeId).get(taskId);
    if (!container) return;
    await stopContainer(this.engine, container, container.task.spec.stopGracePeriodMs, options);
    removeContainer(this.engine, this.nodeId, container);
  }

  async close(): Promise<void> {
    // The engine (and its scheduler) is shared by every hollow node; its owner closes it.
  }
}

function lifecycleState(container: HollowContainer): TaskState {
  if (container.state === 'created') return 'TASK_STATE_STARTING';
  if (container.state === 'running') return 'TASK_STATE_RUNNING';
  return container.exitCode === 0 && !container.err ? 'TASK_STATE_COMPLETE' : 'TASK_STATE_FAILED';
}

function observe(container: HollowContainer): ObservedTask {
  const { task } = container;
  const failed = container.state === 'exited' && container.exitCode !== 0;
  return {
    taskId: task.id,
    serviceId: task.serviceId,
    nodeId: task.nodeId,
    containerId: container.id,
    state: lifecycleState(container),
    engineState: container.state,
    exitCode: container.exitCode,
    oomKilled: false,
    err: container.err || (failed ? `task: non-zero exit (${container.exitCode})` : ''),
    health: '',
    ports: container.ports ?? [],
    startedAt: container.startedAtMs ? new Date(container.startedAtMs) : undefined,
    finishedAt: container.finishedAtMs ? new Date(container.finishedAtMs) : undefined,
  };
}

function removeContainer(engine: HollowEngine, nodeId: string, container: HollowContainer): void {
  exitContainer(engine, container, KILLED_EXIT_CODE); // a forced remove kills
  engine.containers(nodeId).delete(container.task.id);
}

/** Stop signal, then a kill once `graceMs` have passed; resolves when the container has exited. */
async function stopContainer(
  engine: HollowEngine,
  container: HollowContainer,
  graceMs: number,
  options: Waitable,
): Promise<void> {
  if (container.state !== 'running') return;
  const { stopDelayMs } = container.behaviour;
  const killed = stopDelayMs > graceMs;
  const exitAfterMs = killed ? graceMs : stopDelayMs;
  if (exitAfterMs <= 0) {
    exitContainer(engine, container, killed ? KILLED_EXIT_CODE : 0);
    return;
  }
  const stopAtMs = engine.scheduler.now() + exitAfterMs;
  // A task about to end by itself (a finite run due before the stop takes effect) just ends.
  if (!container.stopping && !(container.timer && container.timer.atMs <= stopAtMs)) {
    if (container.timer) engine.scheduler.cancel(container.timer);
    container.stopping = true;
    container.timer = engine.scheduler.schedule(exitAfterMs, () => {
      container.timer = undefined;
      exitContainer(engine, container, killed ? KILLED_EXIT_CODE : 0);
    });
  }
  while (container.state === 'running') await nextChange(container, options.signal);
}

export class HollowTaskController implements TaskController {
  readonly taskId: string;

  constructor(
    private readonly node: HollowNode,
    private readonly task: ExecutorTask,
  ) {
    this.taskId = task.id;
  }

  private get engine(): HollowEngine {
    return this.node.engine;
  }

  private find(): HollowContainer | undefined {
    return this.engine.containers(this.task.nodeId).get(this.task.id);
  }

  private require(): HollowContainer {
    const container = this.find();
    if (!container) throw new ContainerNotFoundError(`task ${this.task.id}`);
    return container;
  }

  async prepare(options: Waitable = {}): Promise<void> {
    options.signal?.throwIfAborted();
    if (this.find()) return;
    if (this.node.missingImages.has(this.task.spec.image)) throw new ImageNotFoundError(this.task.spec.image);
    const container: HollowContainer = {
      id: this.engine.newContainerId(),
      task: this.task,
      behaviour: this.node.behaviourFor(this.task),
      state: 'created',
      exitCode: 0,
      err: '',
      startedAtMs: 0,
      finishedAtMs: 0,
    };
    this.engine.containers(this.task.nodeId).set(this.task.id, container);
  }

  async start(options: Waitable = {}): Promise<void> {
    const container = this.require();
    if (container.state !== 'created') return;
    container.starting ??= this.run(container, options).finally(() => {
      container.starting = undefined;
    });
    await container.starting;
  }

  private async run(container: HollowContainer, options: Waitable): Promise<void> {
    const behaviour = container.behaviour;
    await hollowDelay(this.engine.scheduler, behaviour.startDelayMs, options.signal);
    if (container.state !== 'created') return; // removed or killed meanwhile
    const fails =
      behaviour.failureRate > 0 && hollowRandom(behaviour.seed, this.task.id) < behaviour.failureRate;
    if (fails && behaviour.failureMode === 'start') {
      this.node.logger.debug({ task: this.task.id }, 'simulated start failure');
      const error = new ContainerStartError('hollow: simulated start failure');
      exitContainer(this.engine, container, 128, error.message);
      throw error;
    }
    container.state = 'running';
    container.startedAtMs = this.engine.scheduler.now();
    if (this.task.spec.ports.length > 0) container.ports = this.bindPorts();
    const exitAfterMs = fails ? behaviour.failAfterMs : behaviour.runDurationMs;
    const exitCode = fails ? behaviour.failureExitCode : behaviour.exitCode;
    if (exitAfterMs <= 0) {
      exitContainer(this.engine, container, exitCode);
    } else if (Number.isFinite(exitAfterMs)) {
      container.timer = this.engine.scheduler.schedule(exitAfterMs, () => {
        container.timer = undefined;
        exitContainer(this.engine, container, exitCode);
      });
    }
    notify(container);
  }

  private bindPorts(): BoundPort[] {
    return this.task.spec.ports.map((p) => ({
      targetPort: p.targetPort,
      protocol: p.protocol ?? 'tcp',
      hostIp: p.hostIp ?? '',
      hostPort: p.hostPort && p.hostPort > 0 ? p.hostPort : this.engine.allocateHostPort(),
    }));
  }

  async wait(options: Waitable = {}): Promise<ExitStatus> {
    const container = this.require();
    while (container.state !== 'exited') await nextChange(container, options.signal);
    return { exitCode: container.exitCode, oomKilled: false, error: container.err };
  }

  async shutdown(options: Waitable = {}): Promise<void> {
    const container = this.find();
    if (container) await stopContainer(this.engine, container, this.task.spec.stopGracePeriodMs, options);
  }

  async terminate(options: Waitable = {}): Promise<void> {
    options.signal?.throwIfAborted();
    const container = this.find();
    if (container?.state === 'running') exitContainer(this.engine, container, KILLED_EXIT_CODE);
  }

  async remove(options: Waitable = {}): Promise<void> {
    options.signal?.throwIfAborted();
    const container = this.find();
    if (container) removeContainer(this.engine, this.task.nodeId, container);
  }

  async inspect(options: Waitable = {}): Promise<ObservedTask | undefined> {
    options.signal?.throwIfAborted();
    const container = this.find();
    return container ? observe(container) : undefined;
  }

  logs(options: LogOptions = {}): AsyncIterable<LogEntry> {
    return { [Symbol.asyncIterator]: () => this.generateLogs(options) };
  }

  /** Lines derived from the container's history: one when it started, one when it exited. */
  private async *generateLogs(options: LogOptions): AsyncGenerator<LogEntry> {
    const container = this.require();
    // The lines only ever grow at the end, so an index is enough to follow them.
    const initial = this.linesOf(container).length;
    let next = options.tail === undefined ? 0 : Math.max(0, initial - options.tail);
    for (;;) {
      const lines = this.linesOf(container);
      for (; next < lines.length; next++) {
        const entry = lines[next];
        if (options.since && entry.time && entry.time < options.since) continue;
        yield options.timestamps ? entry : { stream: entry.stream, line: entry.line };
      }
      if (!options.follow || container.state === 'exited' || this.find() !== container) return;
      await nextChange(container, options.signal);
    }
  }

  private linesOf(container: HollowContainer): LogEntry[] {
    const lines: LogEntry[] = [];
    if (container.startedAtMs) {
      lines.push({
        stream: 'stdout',
        line: `hollow task ${this.task.id} started from ${this.task.spec.image}`,
        time: new Date(container.startedAtMs),
      });
    }
    if (container.state === 'exited' && container.finishedAtMs > 0) {
      lines.push({
        stream: container.exitCode === 0 ? 'stdout' : 'stderr',
        line: container.err || `hollow task ${this.task.id} exited with code ${container.exitCode}`,
        time: new Date(container.finishedAtMs),
      });
    }
    return lines;
  }
}
