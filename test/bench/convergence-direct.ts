// The engine alone, as a reference under both orchestrators: the same containers created and started
// straight through the Engine API by this process, all at once (no orchestration, no scheduling, no
// status reporting). Not a strict floor: on a loaded engine, 50 creates at once can take longer than
// an orchestrator's own pacing of them.
// A "service" here is just a label value; create and scale launch `docker create` + `docker start`
// for every missing replica concurrently and return at once, so the clock runs until the engine
// lists them running, as for Swarm and orch. It cannot restart anything: recovery cases skip it.
import { randomUUID } from 'node:crypto';
import Docker from 'dockerode';
import { DIRECT_RUN_LABEL } from './convergence-cleanup';
import type { ServiceSelector } from './convergence-engine';
import {
  type ConvergenceTarget,
  SERVICE_ARGS,
  type ServiceRequest,
  STOP_GRACE_PERIOD_MS,
} from './convergence-target';

export const DIRECT_SERVICE_LABEL = 'orch.bench.convergence.service';

export class DirectTarget implements ConvergenceTarget {
  readonly name = 'engine';
  readonly restarts = false;
  private readonly docker = new Docker();
  /** Launches in flight per service, so removal waits for them (and sees their failures). */
  private readonly launches = new Map<string, Promise<unknown>[]>();
  private readonly replicas = new Map<string, number>();

  constructor(
    private readonly image: string,
    private readonly runId: string,
  ) {}

  async createService(request: ServiceRequest): Promise<string> {
    const id = randomUUID();
    this.replicas.set(id, 0);
    this.launches.set(id, []);
    this.launch(id, request.replicas);
    return id;
  }

  async scaleService(serviceId: string, replicas: number): Promise<void> {
    this.launch(serviceId, replicas - (this.replicas.get(serviceId) ?? 0));
  }

  async removeService(serviceId: string): Promise<void> {
    const results = await Promise.allSettled(this.launches.get(serviceId) ?? []);
    this.launches.delete(serviceId);
    this.replicas.delete(serviceId);
    const containers = await this.docker.listContainers({
      all: true,
      filters: { label: [`${DIRECT_SERVICE_LABEL}=${serviceId}`] },
    });
    await Promise.all(containers.map((c) => this.docker.getContainer(c.Id).remove({ force: true })));
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) throw new Error(`starting a container failed: ${(failed as PromiseRejectedResult).reason}`);
  }

  forget(): void {
    // Containers are removed by removeService; the label is unique per service.
  }

  selector(serviceId: string): ServiceSelector {
    return { label: DIRECT_SERVICE_LABEL, value: serviceId };
  }

  private launch(serviceId: string, count: number): void {
    const launches = this.launches.get(serviceId)!;
    for (let i = 0; i < count; i++) {
      const started = this.docker
        .createContainer({
          Image: this.image,
          Cmd: SERVICE_ARGS,
          Labels: { [DIRECT_SERVICE_LABEL]: serviceId, [DIRECT_RUN_LABEL]: this.runId },
          StopTimeout: Math.ceil(STOP_GRACE_PERIOD_MS / 1000),
        })
        .then((container) => container.start());
      started.catch(() => undefined); // reported by removeService
      launches.push(started);
    }
    this.replicas.set(serviceId, (this.replicas.get(serviceId) ?? 0) + count);
  }
}
