// One node as the scheduler sees it: the node object, and the footprints of the tasks assigned to it
// that are not terminal. From those it keeps, incrementally, what placement decisions need in O(1):
// resources still available, tasks per service, tasks overall and host-mode ports in use.
// Invariants: reservedNanoCpus/reservedMemoryBytes = sums over footprints; activeTaskCount = number
// of active footprints = sum of activeByService.

import type { Node__Output } from '../../api/gen/types/orch/objects/Node';
import type { TaskFootprint } from './task-requirements';

export class NodeInfo {
  /** Undefined while tasks refer to a node the scheduler has not been told about (or that was removed). */
  node: Node__Output | undefined;
  reservedNanoCpus = 0;
  reservedMemoryBytes = 0;
  /** Tasks desired to run on this node, all services. */
  activeTaskCount = 0;
  private readonly footprints = new Map<string, TaskFootprint>();
  private readonly activeByService = new Map<string, number>();
  private readonly hostPorts = new Map<string, number>();

  constructor(
    readonly id: string,
    node?: Node__Output,
  ) {
    this.node = node;
  }

  get availableNanoCpus(): number {
    return (this.node?.description?.nanoCpus ?? 0) - this.reservedNanoCpus;
  }

  get availableMemoryBytes(): number {
    return (this.node?.description?.memoryBytes ?? 0) - this.reservedMemoryBytes;
  }

  /** Tasks (any desired state) holding resources here. */
  get taskCount(): number {
    return this.footprints.size;
  }

  activeTasksOf(serviceId: string): number {
    return this.activeByService.get(serviceId) ?? 0;
  }

  isHostPortInUse(port: string): boolean {
    return this.hostPorts.has(port);
  }

  hasTask(taskId: string): boolean {
    return this.footprints.has(taskId);
  }

  /** Adds a task, replacing an earlier footprint of the same task. */
  addTask(footprint: TaskFootprint): void {
    this.removeTask(footprint.taskId);
    this.footprints.set(footprint.taskId, footprint);
    this.reservedNanoCpus += footprint.nanoCpus;
    this.reservedMemoryBytes += footprint.memoryBytes;
    if (footprint.active) {
      this.activeTaskCount += 1;
      this.activeByService.set(footprint.serviceId, this.activeTasksOf(footprint.serviceId) + 1);
    }
    for (const port of footprint.hostPorts) this.hostPorts.set(port, (this.hostPorts.get(port) ?? 0) + 1);
  }

  /** Removes a task and returns what it took, or undefined when it was not here. */
  removeTask(taskId: string): TaskFootprint | undefined {
    const footprint = this.footprints.get(taskId);
    if (!footprint) return undefined;
    this.footprints.delete(taskId);
    this.reservedNanoCpus -= footprint.nanoCpus;
    this.reservedMemoryBytes -= footprint.memoryBytes;
    if (footprint.active) {
      this.activeTaskCount -= 1;
      const left = this.activeTasksOf(footprint.serviceId) - 1;
      if (left > 0) this.activeByService.set(footprint.serviceId, left);
      else this.activeByService.delete(footprint.serviceId);
    }
    for (const port of footprint.hostPorts) {
      const left = (this.hostPorts.get(port) ?? 1) - 1;
      if (left > 0) this.hostPorts.set(port, left);
      else this.hostPorts.delete(port);
    }
    return footprint;
  }
}
