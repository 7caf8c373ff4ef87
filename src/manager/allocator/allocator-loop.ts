// The leader's allocator loop (swarmkit's task initializer): gives services the cluster-wide
// resources their spec asks for and then moves their new tasks to pending, which is what the
// scheduler waits for. Services get their ingress published ports (explicit ones checked against
// every other service, missing ones picked from 30000–32767) written into service.endpoint, plus
// one virtual IP per network it attaches to (VipAllocator). A task leaves `new` only once its service is
// allocated; it then carries a copy of the service's endpoint and its network attachments. A service
// naming a network that does not exist (removed meanwhile) is blocked like a port conflict until the
// network exists again.
// A service whose ports collide with another's (two creates validated at once) is not allocated: its
// tasks stay new with the reason in status.err until the conflict is resolved. Ports are freed when a
// service is removed or stops publishing them. Host-mode ports are left to the scheduler.

import type { Endpoint__Output } from '../../api/gen/types/orch/objects/Endpoint';
import { TaskState } from '../../common/task-state';
import type { ObjectEventOf, ReadTx, Service, Task } from '../../store';
import { type LoopOptions, StoreLoop } from '../loops/store-loop';
import { isLive, observedState } from '../orchestrator/task-factory';
import { AllocatorError } from './allocator-errors';
import type { NetworkAllocator } from './network-hooks';
import { isEndpointAllocated, PortAllocator, type PortRange } from './port-allocator';
import { DYNAMIC_PORT_RANGE } from './published-ports';
import { VipAllocator } from './vip-allocator';

export interface AllocatorLoopOptions extends LoopOptions {
  /** Virtual IPs and task network attachments; default a VipAllocator. */
  readonly networks?: NetworkAllocator;
  /** Range for published ports the cluster picks. Default 30000–32767. */
  readonly dynamicPortRange?: PortRange;
}

type Tables = 'services' | 'tasks' | 'networks';

export class AllocatorLoop extends StoreLoop<Tables> {
  readonly name = 'allocator';
  protected readonly tables = ['services', 'tasks', 'networks'] as const;
  private readonly networks: NetworkAllocator;
  private readonly range: PortRange;
  private readonly serviceNames = new Map<string, string>();
  private ports: PortAllocator;
  private dirtyServices = new Set<string>();
  /** Tasks in state new, desired running: waiting for allocation. */
  private readonly newTasks = new Set<string>();
  /** Service ID → why it cannot be allocated (shown on its tasks). */
  private readonly blocked = new Map<string, string>();

  constructor(options: AllocatorLoopOptions) {
    super({ ...options, logger: options.logger?.child({ module: 'allocator' }) });
    this.networks = options.networks ?? new VipAllocator();
    this.range = options.dynamicPortRange ?? DYNAMIC_PORT_RANGE;
    this.ports = this.newPortAllocator();
  }

  /** Tasks waiting for their service's resources (new, desired running). */
  get awaitingAllocation(): number {
    return this.newTasks.size;
  }

  /** Services that cannot be allocated (a published port another service holds). */
  get blockedServices(): number {
    return this.blocked.size;
  }

  /** The ingress ports each service holds, as `8080/tcp` (for status and tests). */
  portsOf(serviceId: string): string[] {
    return [...this.ports.portsOf(serviceId)].sort();
  }

  protected resync(tx: ReadTx): void {
    this.ports = this.newPortAllocator();
    this.serviceNames.clear();
    this.blocked.clear();
    this.newTasks.clear();
    const staleVips = new Set(this.networks.restore(tx));
    // Oldest first: when two services claim a port, the one that had it first keeps it.
    const services = tx.services.list().sort(byCreation);
    for (const service of services) {
      const id = service.meta?.id ?? '';
      this.serviceNames.set(id, service.spec?.name ?? id);
      const conflicts = this.ports.restore(service);
      if (conflicts.length > 0 || staleVips.has(id) || !isEndpointAllocated(service))
        this.dirtyServices.add(id);
    }
    for (const task of tx.tasks.list()) if (awaitsAllocation(task)) this.newTasks.add(task.meta?.id ?? '');
  }

  protected handle(event: ObjectEventOf<Tables>): boolean {
    if (event.table === 'networks') {
      if (event.type === 'delete') this.networks.releaseNetwork(event.object.meta?.id ?? '');
      // A service blocked on a missing network may be allocatable now.
      this.retryBlocked();
      return this.blocked.size > 0;
    }
    if (event.table === 'services') {
      const id = event.object.meta?.id ?? '';
      if (event.type === 'delete') {
        this.ports.release(id);
        this.networks.releaseService(id);
        this.serviceNames.delete(id);
        this.blocked.delete(id);
        this.dirtyServices.delete(id);
        this.retryBlocked();
        return this.blocked.size > 0;
      }
      this.serviceNames.set(id, event.object.spec?.name ?? id);
      this.dirtyServices.add(id);
      this.retryBlocked();
      return true;
    }
    const id = event.object.meta?.id ?? '';
    if (event.type === 'delete') {
      this.newTasks.delete(id);
      this.networks.releaseTask(id);
      return false;
    }
    if (awaitsAllocation(event.object)) {
      this.newTasks.add(id);
      return true;
    }
    this.newTasks.delete(id);
    return false;
  }

  protected async pass(): Promise<void> {
    const dirty = this.dirtyServices;
    this.dirtyServices = new Set();
    try {
      await this.allocateServices(dirty);
    } catch (err) {
      for (const id of dirty) this.dirtyServices.add(id);
      throw err;
    }
    await this.allocateTasks();
  }

  private async allocateServices(ids: Set<string>): Promise<void> {
    if (ids.size === 0) return;
    const updates = this.store.view((tx) => {
      const result: Service[] = [];
      const services = [...ids].flatMap((id) => tx.services.get(id) ?? []).sort(byCreation);
      for (const service of services) {
        const id = service.meta?.id ?? '';
        let endpoint: Endpoint__Output;
        try {
          endpoint = this.ports.allocate(service, this.networks.allocateService(service, tx));
        } catch (err) {
          if (!(err instanceof AllocatorError)) throw err;
          if (this.blocked.get(id) !== err.message)
            this.logger.warn({ service: id, err: err.message }, 'cannot allocate service');
          this.blocked.set(id, err.message);
          continue;
        }
        this.blocked.delete(id);
        if (!sameEndpoint(service.endpoint, endpoint)) result.push({ ...service, endpoint });
      }
      return result;
    });
    if (updates.length === 0) return;
    await this.store.batch(async (batch) => {
      for (const next of updates) {
        this.assertRunning();
        await batch.update((tx) => {
          const current = tx.services.get(next.meta?.id ?? '');
          // Changed meanwhile: its event is queued and will bring it back here.
          if (current?.meta?.version === next.meta?.version) tx.services.update(next);
        });
      }
    });
    this.logger.debug({ services: updates.length }, 'allocated service endpoints');
  }

  private async allocateTasks(): Promise<void> {
    if (this.newTasks.size === 0) return;
    const nowMs = this.clock.now();
    const ids = [...this.newTasks];
    let allocated = 0;
    await this.store.batch(async (batch) => {
      for (const id of ids) {
        this.assertRunning();
        const done = await batch.update((tx) => {
          const task = tx.tasks.get(id);
          if (!task || !awaitsAllocation(task)) return true;
          const service = tx.services.get(task.serviceId);
          if (!service) return false; // the orchestrator shuts it down
          const blocked = this.blocked.get(task.serviceId);
          if (blocked !== undefined || !isEndpointAllocated(service)) {
            if (blocked !== undefined && task.status?.err !== blocked)
              tx.tasks.update({ ...task, status: { ...task.status!, err: blocked, timestampMs: nowMs } });
            return false;
          }
          let networks: Task['networks'];
          try {
            networks = this.networks.allocateTask(task, service, tx);
          } catch (err) {
            const message = err instanceof Error ? err.message : String(err);
            if (task.status?.err !== message)
              tx.tasks.update({ ...task, status: { ...task.status!, err: message, timestampMs: nowMs } });
            return false;
          }
          tx.tasks.update(pendingTask(task, service, networks, nowMs));
          return true;
        });
        if (done) {
          this.newTasks.delete(id);
          allocated++;
        }
      }
    });
    if (allocated > 0) this.logger.debug({ tasks: allocated }, 'tasks allocated: pending');
  }

  /** A service removed or changed may have freed a port a blocked service waits for. */
  private retryBlocked(): void {
    for (const id of this.blocked.keys()) this.dirtyServices.add(id);
  }

  private newPortAllocator(): PortAllocator {
    return new PortAllocator(this.range, (id) => this.serviceNames.get(id) ?? id);
  }
}

/** A new task that needs its resources before it can be scheduled. */
function awaitsAllocation(task: Task): boolean {
  return isLive(task) && observedState(task) === TaskState.New;
}

function pendingTask(task: Task, service: Service, networks: Task['networks'], nowMs: number): Task {
  return {
    ...task,
    endpoint: service.endpoint,
    networks,
    meta: task.meta && { ...task.meta, updatedAtMs: nowMs },
    status: {
      ...task.status!,
      state: TaskState.Pending,
      message: 'pending task scheduling',
      err: '',
      timestampMs: nowMs,
    },
  };
}

function sameEndpoint(a: Endpoint__Output | null, b: Endpoint__Output): boolean {
  if (!a) return b.ports.length === 0 && b.virtualIps.length === 0 && (b.spec?.ports.length ?? 0) === 0;
  return JSON.stringify([a.spec, a.ports, a.virtualIps]) === JSON.stringify([b.spec, b.ports, b.virtualIps]);
}

function byCreation(a: Service, b: Service): number {
  const byTime = (a.meta?.createdAtMs ?? 0) - (b.meta?.createdAtMs ?? 0);
  if (byTime !== 0) return byTime;
  const x = a.meta?.id ?? '';
  const y = b.meta?.id ?? '';
  return x < y ? -1 : x > y ? 1 : 0;
}
