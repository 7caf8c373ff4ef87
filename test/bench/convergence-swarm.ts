// The reference side of the convergence benchmark: Docker Engine's own swarm mode on this engine,
// one node that is manager and worker at once (`docker swarm init --advertise-addr 127.0.0.1`).
// It refuses an engine that already is in a swarm: a swarm it did not create is never altered or
// left. Services refer to the local image by its ID, as `docker service create --no-resolve-image
// <image ID>` does: with a tag, the engine would contact the registry before every task.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import Docker from 'dockerode';
import { type BenchState, SWARM_SERVICE_LABEL } from './convergence-cleanup';
import type { ServiceSelector } from './convergence-engine';
import {
  type ConvergenceTarget,
  SERVICE_ARGS,
  type ServiceRequest,
  STOP_GRACE_PERIOD_MS,
} from './convergence-target';

const run = promisify(execFile);
const NS_PER_MS = 1_000_000;

export class SwarmInUseError extends Error {
  override name = 'SwarmInUseError';
}

export class SwarmTarget implements ConvergenceTarget {
  readonly name = 'swarm';
  private readonly docker = new Docker();

  private constructor(
    private readonly state: BenchState,
    readonly imageId: string,
  ) {}

  /** Initializes a single-node swarm on loopback; refuses when the engine is already in one. */
  static async start(state: BenchState, image: string): Promise<SwarmTarget> {
    const docker = new Docker();
    const info = (await docker.info()) as { Swarm?: { LocalNodeState?: string } };
    const swarmState = info.Swarm?.LocalNodeState ?? 'inactive';
    if (swarmState !== 'inactive') {
      throw new SwarmInUseError(
        `the Docker engine is already in a swarm (state: ${swarmState}); this benchmark only measures a swarm it creates itself and never leaves or changes one it did not create`,
      );
    }
    const imageId = ((await docker.getImage(image).inspect()) as { Id: string }).Id;
    const gwbridgeExisted = await docker
      .getNetwork('docker_gwbridge')
      .inspect()
      .then(() => true)
      .catch(() => false);
    state.update((data) => {
      data.swarm = { initialized: true, gwbridgeExisted, services: [] };
    });
    await run('docker', [
      'swarm',
      'init',
      '--advertise-addr',
      '127.0.0.1',
      '--listen-addr',
      '127.0.0.1:2377',
    ]);
    return new SwarmTarget(state, imageId);
  }

  async createService(request: ServiceRequest, options: { signal?: AbortSignal } = {}): Promise<string> {
    const taskTemplate: Record<string, unknown> = {
      ContainerSpec: {
        Image: this.imageId,
        Args: SERVICE_ARGS,
        StopGracePeriod: STOP_GRACE_PERIOD_MS * NS_PER_MS,
      },
    };
    if (request.restartDelayMs !== undefined) {
      taskTemplate.RestartPolicy = { Condition: 'any', Delay: request.restartDelayMs * NS_PER_MS };
    }
    const service = await this.docker.createService({
      Name: request.name,
      TaskTemplate: taskTemplate,
      Mode: { Replicated: { Replicas: request.replicas } },
      abortSignal: options.signal,
    } as unknown as Docker.CreateServiceOptions);
    this.state.update((data) => data.swarm?.services.push(service.id));
    return service.id;
  }

  async scaleService(
    serviceId: string,
    replicas: number,
    options: { signal?: AbortSignal } = {},
  ): Promise<void> {
    const service = this.docker.getService(serviceId);
    const current = (await service.inspect({ abortSignal: options.signal })) as {
      Version: { Index: number };
      Spec: Record<string, unknown>;
    };
    await service.update({
      ...current.Spec,
      version: current.Version.Index,
      Mode: { Replicated: { Replicas: replicas } },
      abortSignal: options.signal,
    });
  }

  async removeService(serviceId: string, options: { signal?: AbortSignal } = {}): Promise<void> {
    await this.docker.getService(serviceId).remove({ abortSignal: options.signal });
  }

  /** The service is gone and so are its containers: nothing left for cleanup to remove. */
  forget(serviceId: string): void {
    this.state.update((data) => {
      if (data.swarm) data.swarm.services = data.swarm.services.filter((id) => id !== serviceId);
    });
  }

  selector(serviceId: string): ServiceSelector {
    return { label: SWARM_SERVICE_LABEL, value: serviceId };
  }

  /** The engine version, for the report. */
  async version(): Promise<string> {
    return ((await this.docker.version()) as { Version: string }).Version;
  }
}
