// An Executor that puts tasks on their orch networks, around the node's real executor, and owns
// the node's networking (NodeNetworks, started in the background so the daemon's start does not
// wait for the engine). Before a network-attached task's container is created it brings the task's
// networks up on this node, joins the container to the node's engine networks with the embedded DNS
// as its resolver, and binds the ports the image EXPOSEs on the node's mesh address (each on a port
// the engine picks), so that the VIP listeners of every node can reach them like ingress ports.
// When a task's container is removed, NodeNetworks may take its networks down. Tasks on no network
// pass straight through. The directory follows the node's role: the store replica on a manager
// (followStore), else the `fed` directory (a worker's feed of networked services).
import Docker from 'dockerode';
import type { Logger } from 'pino';
import {
  type Executor,
  type ExecutorTask,
  FinalExecutorError,
  type NodeDescriptionInfo,
  type ObservedTask,
  type PortSpec,
  type TaskController,
  TemporaryExecutorError,
  type Waitable,
} from '../agent/executor';
import type { MemoryStore } from '../store';
import {
  StaticNetworkDirectory,
  StoreNetworkDirectory,
  SwitchingNetworkDirectory,
} from './network-directory';
import {
  NodeNetworks,
  NodeNetworksError,
  type NodeNetworksOptions,
  type TaskNetworking,
} from './node-networks';

export interface NetworkedExecutorOptions {
  inner: Executor;
  /** Where task ports are bound for the mesh (the agent's ingress host IP). */
  meshAddress: string;
  logger: Logger;
  /** The engine; default the local one (DOCKER_HOST or the Unix socket). */
  docker?: Docker;
  /** The store replica when the node is a manager at start. */
  store?: MemoryStore;
  /** Passed on to NodeNetworks (DNS port, VIP port base, nftables, forwarder, GC period). */
  networks?: Partial<Omit<NodeNetworksOptions, 'nodeId' | 'docker' | 'directory' | 'logger'>>;
}

/** `80/tcp` → { targetPort: 80, protocol: 'tcp' }. */
export function parseExposedPort(key: string): Pick<PortSpec, 'targetPort' | 'protocol'> | undefined {
  const match = /^(\d{1,5})(?:\/(tcp|udp))?$/.exec(key);
  if (!match) return undefined;
  const port = Number(match[1]);
  if (port < 1 || port > 65535) return undefined;
  return { targetPort: port, protocol: (match[2] as 'tcp' | 'udp' | undefined) ?? 'tcp' };
}

/** The task's ports plus an exposed port bound on the mesh address for each one it does not bind yet. */
export function withExposedPorts(
  ports: readonly PortSpec[],
  exposed: readonly string[],
  meshAddress: string,
): PortSpec[] {
  const result = [...ports];
  for (const key of exposed) {
    const port = parseExposedPort(key);
    if (!port) continue;
    const bound = result.some(
      (p) => p.targetPort === port.targetPort && (p.protocol ?? 'tcp') === port.protocol,
    );
    if (!bound) result.push({ ...port, hostIp: meshAddress, hostPort: 0 });
  }
  return result;
}

export class NetworkedExecutor implements Executor {
  readonly nodeId: string;
  private readonly docker: Docker;
  private readonly logger: Logger;
  /** What a node that is not a manager knows of the cluster's networked services (its feed). */
  readonly fed = new StaticNetworkDirectory();
  private readonly directory = new SwitchingNetworkDirectory();
  private storeDirectory: StoreNetworkDirectory | undefined;
  private storeDirectoryStore: MemoryStore | undefined;
  private starting: Promise<NodeNetworks> | undefined;
  private closed = false;
  /** Tasks between ensureForTask and their container's creation: not yet on the engine. */
  private readonly preparing = new Set<string>();
  private readonly pruneTimer: NodeJS.Timeout;

  constructor(private readonly options: NetworkedExecutorOptions) {
    this.nodeId = options.inner.nodeId;
    this.docker = options.docker ?? new Docker();
    this.logger = options.logger.child({ module: 'networks' });
    this.followStore(options.store);
    // Bring up the networks this node already has (adopted containers keep resolving names).
    void this.networks().catch(() => undefined);
    // Containers removed behind the agent's back (docker rm -f) release their networks too.
    this.pruneTimer = setInterval(() => void this.prune(), options.networks?.gcIntervalMs ?? 10_000);
    this.pruneTimer.unref();
  }

  /** Serve the directory from this store replica (a manager), or from what useDirectory set (undefined). */
  followStore(store: MemoryStore | undefined): void {
    if (this.closed) return;
    if (store && this.storeDirectory && this.storeDirectoryStore === store) return;
    this.storeDirectory?.close();
    this.storeDirectory = undefined;
    this.storeDirectoryStore = store;
    if (store) {
      this.storeDirectory = new StoreNetworkDirectory(store, this.logger);
      this.storeDirectory.start();
      this.directory.use(this.storeDirectory);
    } else {
      this.directory.use(this.fed);
    }
  }

  /** The node's networks, started on first use; a failed start is tried again on the next use. */
  networks(): Promise<NodeNetworks> {
    if (this.closed) return Promise.reject(new NodeNetworksError('node networks are closed'));
    this.starting ??= NodeNetworks.start({
      ...this.options.networks,
      nodeId: this.nodeId,
      docker: this.docker,
      directory: this.directory,
      logger: this.options.logger,
    }).catch((err: unknown) => {
      this.starting = undefined;
      this.logger.warn({ err }, 'node networks could not start; trying again with the next task');
      throw err;
    });
    return this.starting;
  }

  /** Brings the task's networks up (errors as the agent needs them: final when the network is gone). */
  async ensureForTask(
    taskId: string,
    networkIds: readonly string[],
    options: Waitable,
  ): Promise<TaskNetworking> {
    try {
      return await (await this.networks()).ensureForTask(taskId, networkIds, options);
    } catch (err) {
      if (options.signal?.aborted) throw err;
      const message = `cannot attach to the task's networks: ${(err as Error).message}`;
      if (err instanceof NodeNetworksError) throw new FinalExecutorError(message, { cause: err });
      throw new TemporaryExecutorError(message, { cause: err });
    }
  }

  /** Tells NodeNetworks which tasks still have a container on the engine (or are being prepared). */
  private async prune(): Promise<void> {
    if (this.closed || !this.starting) return;
    try {
      const networks = await this.starting;
      const present = new Set((await this.options.inner.listTasks()).map((t) => t.taskId));
      for (const id of this.preparing) present.add(id);
      if (!this.closed) networks.retainTasks(present);
    } catch (err) {
      this.logger.debug({ err }, 'listing task containers for the networks failed; trying again later');
    }
  }

  /** Runs `prepare` of a task with it counted as present on the engine. */
  async preparingTask(taskId: string, prepare: () => Promise<void>): Promise<void> {
    this.preparing.add(taskId);
    try {
      await prepare();
    } finally {
      this.preparing.delete(taskId);
    }
  }

  /** The task's container is gone: its networks may go too. */
  release(taskId: string): void {
    void this.starting?.then((networks) => networks.release(taskId)).catch(() => undefined);
  }

  /** The engine this executor inspects images with. */
  get engine(): Docker {
    return this.docker;
  }

  describe(options?: Waitable): Promise<NodeDescriptionInfo> {
    return this.options.inner.describe(options);
  }

  controller(task: ExecutorTask): TaskController {
    if (task.spec.attachments.length === 0) return this.options.inner.controller(task);
    // The inner controller gets a task of its own whose spec prepare() completes before creating.
    const own: ExecutorTask = { ...task, spec: { ...task.spec } };
    return new NetworkedTaskController(own, this.options.inner.controller(own), this, this.options);
  }

  listTasks(options?: Waitable): Promise<ObservedTask[]> {
    return this.options.inner.listTasks(options);
  }

  async removeTask(taskId: string, options?: Waitable): Promise<void> {
    await this.options.inner.removeTask(taskId, options);
    this.release(taskId);
  }

  /** Releases the node's DNS servers, VIP listeners and rules, then the inner executor. */
  async close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      clearInterval(this.pruneTimer);
      this.storeDirectory?.close();
      const networks = await this.starting?.catch(() => undefined);
      await networks?.close();
    }
    await this.options.inner.close();
  }
}

class NetworkedTaskController implements TaskController {
  readonly taskId: string;

  constructor(
    private readonly task: ExecutorTask,
    private readonly inner: TaskController,
    private readonly executor: NetworkedExecutor,
    private readonly options: NetworkedExecutorOptions,
  ) {
    this.taskId = task.id;
  }

  prepare(options: Waitable = {}): Promise<void> {
    return this.executor.preparingTask(this.task.id, async () => {
      const spec = this.task.spec;
      const networking = await this.executor.ensureForTask(
        this.task.id,
        spec.attachments.map((a) => a.networkId),
        options,
      );
      spec.networks = networking.engineNetworks;
      spec.dns = networking.dns;
      spec.ports = withExposedPorts(
        spec.ports,
        await this.exposedPorts(spec.image),
        this.options.meshAddress,
      );
      await this.inner.prepare(options);
    });
  }

  /** The image's EXPOSEd ports; none when the image is not here yet (it is pulled by prepare). */
  private async exposedPorts(image: string): Promise<string[]> {
    try {
      const inspect = (await this.executor.engine.getImage(image).inspect()) as {
        Config?: { ExposedPorts?: Record<string, unknown> | null };
      };
      return Object.keys(inspect.Config?.ExposedPorts ?? {});
    } catch (err) {
      this.options.logger.debug(
        { image, err },
        'image not inspectable before prepare: no exposed ports bound',
      );
      return [];
    }
  }

  start(options?: Waitable): Promise<void> {
    return this.inner.start(options);
  }
  wait(options?: Waitable) {
    return this.inner.wait(options);
  }
  shutdown(options?: Waitable): Promise<void> {
    return this.inner.shutdown(options);
  }
  terminate(options?: Waitable): Promise<void> {
    return this.inner.terminate(options);
  }
  async remove(options?: Waitable): Promise<void> {
    await this.inner.remove(options);
    this.executor.release(this.task.id);
  }
  inspect(options?: Waitable) {
    return this.inner.inspect(options);
  }
  logs(options?: Parameters<TaskController['logs']>[0]) {
    return this.inner.logs(options);
  }
}
