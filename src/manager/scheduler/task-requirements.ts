// What the scheduler needs to know about a task, derived once from its spec: what it asks of a node
// (reservations, constraints, host-mode ports, max replicas per node, spread preferences) and what it
// takes from the node it runs on (its footprint). Derivations are cached per spec object, since the
// orchestrator gives every task of a service version the same spec.

import type { PortConfig__Output } from '../../api/gen/types/orch/objects/PortConfig';
import type { ServiceSpec__Output } from '../../api/gen/types/orch/objects/ServiceSpec';
import type { Task__Output } from '../../api/gen/types/orch/objects/Task';
import { isTerminal, TaskState, taskStateRank } from '../../common/task-state';
import { type Constraint, parseConstraints } from '../spec/spec-constraint';
import { SpecError } from '../spec/spec-error';
import { parseSpreadPreferences, type SpreadPreference } from '../spec/spec-preference';

export interface TaskRequirements {
  readonly serviceId: string;
  readonly nanoCpus: number;
  readonly memoryBytes: number;
  readonly constraints: readonly Constraint[];
  readonly preferences: readonly SpreadPreference[];
  /** 0: no limit. */
  readonly maxReplicasPerNode: number;
  /** Host-mode published ports as `tcp/8080`. */
  readonly hostPorts: readonly string[];
  /** Set when the stored placement cannot be parsed: the task cannot be placed anywhere. */
  readonly invalid?: string;
  /** Tasks with equal keys are interchangeable for placement and are scheduled as one group. */
  readonly groupKey: string;
}

/** What a task on a node takes from it while it is not terminal. */
export interface TaskFootprint {
  readonly taskId: string;
  readonly serviceId: string;
  readonly nanoCpus: number;
  readonly memoryBytes: number;
  readonly hostPorts: readonly string[];
  /** Desired to run: counts for spread and max replicas (a task being shut down does not). */
  readonly active: boolean;
}

type SpecRequirements = Omit<TaskRequirements, 'serviceId' | 'groupKey'> & { readonly specKey: string };

const bySpec = new WeakMap<ServiceSpec__Output, SpecRequirements>();
const NO_SPEC: SpecRequirements = {
  nanoCpus: 0,
  memoryBytes: 0,
  constraints: [],
  preferences: [],
  maxReplicasPerNode: 0,
  hostPorts: [],
  specKey: '',
};

/** The placement requirements of a task that awaits a node. */
export function taskRequirements(task: Task__Output): TaskRequirements {
  const spec = specRequirements(task.spec);
  return { ...spec, serviceId: task.serviceId, groupKey: `${task.serviceId}\u0000${spec.specKey}` };
}

/** What `task` takes from its node, or undefined when it takes nothing (not assigned yet, or terminal). */
export function taskFootprint(task: Task__Output): TaskFootprint | undefined {
  const state = task.status?.state ?? TaskState.New;
  // A global task is bound to its node from creation, but takes nothing until it is assigned.
  if (!task.nodeId || taskStateRank(state) < taskStateRank(TaskState.Assigned) || isTerminal(state))
    return undefined;
  const spec = specRequirements(task.spec);
  const bound = hostPortKeys(task.status?.ports ?? []);
  return {
    taskId: task.meta?.id ?? '',
    serviceId: task.serviceId,
    nanoCpus: spec.nanoCpus,
    memoryBytes: spec.memoryBytes,
    hostPorts: bound.length === 0 ? spec.hostPorts : [...new Set([...spec.hostPorts, ...bound])],
    active: taskStateRank(task.desiredState) <= taskStateRank(TaskState.Running),
  };
}

function specRequirements(spec: ServiceSpec__Output | null): SpecRequirements {
  if (!spec) return NO_SPEC;
  let cached = bySpec.get(spec);
  if (!cached) {
    cached = deriveSpecRequirements(spec);
    bySpec.set(spec, cached);
  }
  return cached;
}

function deriveSpecRequirements(spec: ServiceSpec__Output): SpecRequirements {
  const reservations = spec.resources?.reservations;
  const placement = spec.placement;
  const hostPorts = hostPortKeys(spec.endpoint?.ports ?? []);
  let constraints: Constraint[] = [];
  let preferences: SpreadPreference[] = [];
  let invalid: string | undefined;
  try {
    constraints = parseConstraints(placement?.constraints ?? [], 'placement.constraints');
    preferences = parseSpreadPreferences(placement?.spreadPreferences ?? [], 'placement.spreadPreferences');
  } catch (err) {
    // Specs are validated when written; this guards against data written by an older version.
    if (!(err instanceof SpecError)) throw err;
    invalid = err.message;
  }
  const requirements = {
    nanoCpus: reservations?.nanoCpus ?? 0,
    memoryBytes: reservations?.memoryBytes ?? 0,
    constraints,
    preferences,
    maxReplicasPerNode: placement?.maxReplicasPerNode ?? 0,
    hostPorts,
    ...(invalid === undefined ? {} : { invalid }),
  };
  const specKey = JSON.stringify([
    requirements.nanoCpus,
    requirements.memoryBytes,
    placement?.constraints ?? [],
    placement?.spreadPreferences ?? [],
    requirements.maxReplicasPerNode,
    hostPorts,
  ]);
  return { ...requirements, specKey };
}

function hostPortKeys(ports: readonly PortConfig__Output[]): string[] {
  const keys = ports
    .filter((p) => p.publishMode === 'PUBLISH_MODE_HOST' && p.publishedPort > 0)
    .map((p) => `${p.protocol === 'PORT_PROTOCOL_UDP' ? 'udp' : 'tcp'}/${p.publishedPort}`);
  return [...new Set(keys)].sort();
}
