// The filters a node must pass to receive a task, in the order the pipeline runs them. Each filter
// is switched on only for tasks that need it (a task with no reservations skips the resource check)
// and says, in words a user reads in `orch service ps`, why it eliminated nodes.

import type { Node__Output } from '../../api/gen/types/orch/objects/Node';
import { type Constraint, constraintHolds, constraintLabel } from '../spec/spec-constraint';
import type { NodeInfo } from './node-info';
import type { TaskRequirements } from './task-requirements';

export interface SchedulerFilter {
  readonly name: string;
  /** Prepares for `task`; false when the filter has nothing to check for it. */
  setTask(task: TaskRequirements): boolean;
  /** Whether the node can take one more task like the one set. */
  check(node: NodeInfo): boolean;
  /** Why `nodes` nodes were eliminated, e.g. `insufficient resources on 2 nodes`. */
  explain(nodes: number): string;
}

function nodes(count: number): string {
  return count === 1 ? '1 node' : `${count} nodes`;
}

/** Ready and active: down, disconnected, drained and paused nodes take no new tasks. */
export class ReadyFilter implements SchedulerFilter {
  readonly name = 'ready';
  setTask(): boolean {
    return true;
  }
  check(node: NodeInfo): boolean {
    const n = node.node;
    return (
      n?.status?.state === 'NODE_STATE_READY' &&
      (n.spec?.availability ?? 'NODE_AVAILABILITY_ACTIVE') === 'NODE_AVAILABILITY_ACTIVE'
    );
  }
  explain(count: number): string {
    return `${nodes(count)} not available for new tasks`;
  }
}

/** CPU and memory reservations must fit in what the node has left. */
export class ResourceFilter implements SchedulerFilter {
  readonly name = 'resources';
  private nanoCpus = 0;
  private memoryBytes = 0;
  setTask(task: TaskRequirements): boolean {
    this.nanoCpus = task.nanoCpus;
    this.memoryBytes = task.memoryBytes;
    return task.nanoCpus > 0 || task.memoryBytes > 0;
  }
  check(node: NodeInfo): boolean {
    return node.availableNanoCpus >= this.nanoCpus && node.availableMemoryBytes >= this.memoryBytes;
  }
  explain(count: number): string {
    return `insufficient resources on ${nodes(count)}`;
  }
}

/** The service's placement constraints (`node.labels.zone==east`, `node.role!=manager`, ...). */
export class ConstraintFilter implements SchedulerFilter {
  readonly name = 'constraints';
  private constraints: readonly Constraint[] = [];
  private invalid = false;
  setTask(task: TaskRequirements): boolean {
    this.constraints = task.constraints;
    this.invalid = task.invalid !== undefined;
    return this.invalid || task.constraints.length > 0;
  }
  check(node: NodeInfo): boolean {
    if (this.invalid || !node.node) return false;
    return nodeMatchesConstraints(node.node, this.constraints);
  }
  explain(count: number): string {
    return `scheduling constraints not satisfied on ${nodes(count)}`;
  }
}

/** A host-mode published port can be bound once per node. */
export class HostPortFilter implements SchedulerFilter {
  readonly name = 'host-ports';
  private ports: readonly string[] = [];
  setTask(task: TaskRequirements): boolean {
    this.ports = task.hostPorts;
    return task.hostPorts.length > 0;
  }
  check(node: NodeInfo): boolean {
    return this.ports.every((port) => !node.isHostPortInUse(port));
  }
  explain(count: number): string {
    return `host-mode port already in use on ${nodes(count)}`;
  }
}

/** `--replicas-max-per-node`: at most that many tasks of the service on one node. */
export class MaxReplicasFilter implements SchedulerFilter {
  readonly name = 'max-replicas';
  private serviceId = '';
  private max = 0;
  setTask(task: TaskRequirements): boolean {
    this.serviceId = task.serviceId;
    this.max = task.maxReplicasPerNode;
    return task.maxReplicasPerNode > 0;
  }
  check(node: NodeInfo): boolean {
    return node.activeTasksOf(this.serviceId) < this.max;
  }
  explain(count: number): string {
    return `max replicas per node reached on ${nodes(count)}`;
  }
}

/** The default pipeline, cheapest and most common eliminations first. */
export function defaultFilters(): SchedulerFilter[] {
  return [
    new ReadyFilter(),
    new ResourceFilter(),
    new ConstraintFilter(),
    new HostPortFilter(),
    new MaxReplicasFilter(),
  ];
}

/** Whether a node satisfies every constraint (Swarm's semantics: all must hold). */
export function nodeMatchesConstraints(node: Node__Output, constraints: readonly Constraint[]): boolean {
  return constraints.every((c) => {
    const actual = nodeAttribute(node, c.key);
    if (c.key.toLowerCase() !== 'node.platform.arch') return constraintHolds(c, actual);
    return constraintHolds({ ...c, value: normalizeArchitecture(c.value)! }, actual);
  });
}

/** The node's value for a constraint or preference key, undefined when it has none. */
export function nodeAttribute(node: Node__Output, key: string): string | undefined {
  const label = constraintLabel(key);
  if (label) {
    const labels = label.source === 'node' ? node.spec?.labels : node.description?.engineLabels;
    return labels?.[label.label];
  }
  switch (key.toLowerCase()) {
    case 'node.id':
      return node.meta?.id;
    case 'node.hostname':
      return node.description?.hostname;
    case 'node.role':
      return node.role === 'NODE_ROLE_MANAGER' ? 'manager' : 'worker';
    case 'node.platform.os':
      return node.description?.os;
    case 'node.platform.arch':
      return normalizeArchitecture(node.description?.architecture);
    default:
      return undefined;
  }
}

const ARCHITECTURE_ALIASES: Record<string, string> = { amd64: 'x86_64', x64: 'x86_64', arm64: 'aarch64' };

/** Docker reports x86_64/aarch64 while Node says x64/arm64: both spellings match either. */
function normalizeArchitecture(arch: string | undefined): string | undefined {
  if (arch === undefined) return undefined;
  return ARCHITECTURE_ALIASES[arch.toLowerCase()] ?? arch;
}
