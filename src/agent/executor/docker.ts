// The Docker engine as orch's executor sees it: labelled containers created from local images,
// started, inspected, stopped with a grace period and removed, through dockerode.
// It never pulls: an image missing locally is an ImageNotFoundError for the caller to act on.
import Docker from 'dockerode';
import { LABEL_NODE_ID, type TaskLabels, taskLabels } from './docker-labels';

export interface ContainerCreateSpec {
  name?: string;
  image: string;
  /** Replaces the image's entrypoint when set. */
  entrypoint?: string[];
  /** Replaces the image's CMD when set. */
  cmd?: string[];
  env?: string[];
  labels?: Record<string, string>;
  workdir?: string;
  user?: string;
  hostname?: string;
  stopSignal?: string;
  task: TaskLabels;
}

export interface ContainerState {
  id: string;
  name: string;
  image: string;
  labels: Record<string, string>;
  running: boolean;
  status: string;
  exitCode: number;
  error: string;
  startedAt?: Date;
  finishedAt?: Date;
}

export class ImageNotFoundError extends Error {
  override name = 'ImageNotFoundError';
  constructor(
    readonly image: string,
    options?: { cause?: unknown },
  ) {
    super(`image not found: ${image}`, options);
  }
}

export class ContainerNotFoundError extends Error {
  override name = 'ContainerNotFoundError';
  constructor(
    readonly containerId: string,
    options?: { cause?: unknown },
  ) {
    super(`no such container: ${containerId}`, options);
  }
}

function statusCode(err: unknown): number | undefined {
  return typeof err === 'object' && err !== null && 'statusCode' in err
    ? (err as { statusCode?: number }).statusCode
    : undefined;
}

function parseTime(value: string | undefined): Date | undefined {
  if (!value || value.startsWith('0001-')) return undefined;
  return new Date(value);
}

export class DockerEngine {
  readonly docker: Docker;

  constructor(options?: Docker.DockerOptions) {
    this.docker = new Docker(options);
  }

  async ping(): Promise<void> {
    await this.docker.ping();
  }

  async hasImage(image: string): Promise<boolean> {
    try {
      await this.docker.getImage(image).inspect();
      return true;
    } catch (err) {
      if (statusCode(err) === 404) return false;
      throw err;
    }
  }

  /** Creates (does not start) a container carrying the task's labels. Returns its ID. */
  async create(spec: ContainerCreateSpec): Promise<string> {
    if (!(await this.hasImage(spec.image))) throw new ImageNotFoundError(spec.image);
    const container = await this.docker.createContainer({
      name: spec.name,
      Image: spec.image,
      Entrypoint: spec.entrypoint,
      Cmd: spec.cmd,
      Env: spec.env,
      Labels: { ...spec.labels, ...taskLabels(spec.task) },
      WorkingDir: spec.workdir,
      User: spec.user,
      Hostname: spec.hostname,
      StopSignal: spec.stopSignal,
    });
    return container.id;
  }

  async start(id: string): Promise<void> {
    await this.call(id, (c) => c.start());
  }

  async inspect(id: string): Promise<ContainerState> {
    const info = await this.call(id, (c) => c.inspect());
    return {
      id: info.Id,
      name: info.Name.replace(/^\//, ''),
      image: info.Config.Image,
      labels: info.Config.Labels ?? {},
      running: info.State.Running,
      status: info.State.Status,
      exitCode: info.State.ExitCode,
      error: info.State.Error,
      startedAt: parseTime(info.State.StartedAt),
      finishedAt: parseTime(info.State.FinishedAt),
    };
  }

  /** Sends the stop signal, then SIGKILL after the grace period. Stopping a stopped container is fine. */
  async stop(id: string, gracePeriodMs: number): Promise<void> {
    try {
      await this.call(id, (c) => c.stop({ t: Math.ceil(gracePeriodMs / 1000) }));
    } catch (err) {
      if (statusCode(err) !== 304) throw err; // 304: already stopped
    }
  }

  async remove(id: string, options: { force?: boolean } = {}): Promise<void> {
    await this.call(id, (c) => c.remove({ force: options.force ?? false, v: true }));
  }

  /** IDs of the containers carrying every given label (all of them when `labels` is empty). */
  async listByLabels(labels: Record<string, string>, options: { all?: boolean } = {}): Promise<string[]> {
    const filters = { label: Object.entries(labels).map(([k, v]) => `${k}=${v}`) };
    const list = await this.docker.listContainers({ all: options.all ?? true, filters });
    return list.map((c) => c.Id);
  }

  /** IDs of every container orch's node `nodeId` created on this engine. */
  async listNodeContainers(nodeId: string): Promise<string[]> {
    return this.listByLabels({ [LABEL_NODE_ID]: nodeId });
  }

  private async call<T>(id: string, fn: (c: Docker.Container) => Promise<T>): Promise<T> {
    try {
      return await fn(this.docker.getContainer(id));
    } catch (err) {
      if (statusCode(err) === 404) throw new ContainerNotFoundError(id, { cause: err });
      throw err;
    }
  }
}
