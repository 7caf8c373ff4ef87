// An Executor that puts tasks on their orch networks, around the node's real executor. Before a
// network-attached task's container is created it brings the task's networks up on this node
// (NodeNetworks.ensureForTask), joins the container to the node's engine networks with the embedded
// DNS as its resolver, and binds the ports the image EXPOSEs on the node's mesh address (each on a
// port the engine picks), so that the VIP listeners of every node can reach them like ingress ports.
// When a task's container is removed, NodeNetworks may take its networks down. Tasks on no network
// pass straight through.
import type Docker from 'dockerode';
import type { Logger } from 'pino';
import type {
  Executor,
  ExecutorTask,
  NodeDescriptionInfo,
  ObservedTask,
  PortSpec,
  TaskController,
  Waitable,
} from '../agent/executor';
import type { NodeNetworks } from './node-networks';

export interface NetworkedExecutorOptions {
  inner: Executor;
  networks: NodeNetworks;
  docker: Docker;
  /** Where task ports are bound for the mesh (the agent's ingress host IP). */
  meshAddress: string;
  logger: Logger;
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

  constructor(private readonly options: NetworkedExecutorOptions) {
    this.nodeId = options.inner.nodeId;
  }

  describe(options?: Waitable): Promise<NodeDescriptionInfo> {
    return this.options.inner.describe(options);
  }

  controller(task: ExecutorTask): TaskController {
    if (task.spec.attachments.length === 0) return this.options.inner.controller(task);
    // The inner controller gets a task of its own whose spec prepare() completes before creating.
    const own: ExecutorTask = { ...task, spec: { ...task.spec } };
    return new NetworkedTaskController(own, this.options.inner.controller(own), this.options);
  }

  listTasks(options?: Waitable): Promise<ObservedTask[]> {
    return this.options.inner.listTasks(options);
  }

  async removeTask(taskId: string, options?: Waitable): Promise<void> {
    await this.options.inner.removeTask(taskId, options);
    this.options.networks.release(taskId);
  }

  close(): Promise<void> {
    return this.options.inner.close();
  }
}

class NetworkedTaskController implements TaskController {
  readonly taskId: string;

  constructor(
    private readonly task: ExecutorTask,
    private readonly inner: TaskController,
    private readonly options: NetworkedExecutorOptions,
  ) {
    this.taskId = task.id;
  }

  async prepare(options: Waitable = {}): Promise<void> {
    const spec = this.task.spec;
    const networking = await this.options.networks.ensureForTask(
      this.task.id,
      spec.attachments.map((a) => a.networkId),
      options,
    );
    spec.networks = networking.engineNetworks;
    spec.dns = networking.dns;
    spec.ports = withExposedPorts(spec.ports, await this.exposedPorts(spec.image), this.options.meshAddress);
    await this.inner.prepare(options);
  }

  /** The image's EXPOSEd ports; none when the image is not here yet (it is pulled by prepare). */
  private async exposedPorts(image: string): Promise<string[]> {
    try {
      const inspect = (await this.options.docker.getImage(image).inspect()) as {
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
    this.options.networks.release(this.task.id);
  }
  inspect(options?: Waitable) {
    return this.inner.inspect(options);
  }
  logs(options?: Parameters<TaskController['logs']>[0]) {
    return this.inner.logs(options);
  }
}
