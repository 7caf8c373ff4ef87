// What an executor needs to run one task, in the executor's own terms: TaskRunSpec holds the
// container's configuration (including what proto/orch/objects.proto does not carry yet: mounts,
// pull policy, published ports, networks), ExecutorTask the task's identity and its desired and
// observed states. executorTaskFromProto maps a stored Task onto them; it is the only place that
// knows the wire shape.
import type { Task__Output } from '../../api/gen/types/orch/objects/Task';
import type { TaskState__Output } from '../../api/gen/types/orch/objects/TaskState';
import type { TaskStatus__Output } from '../../api/gen/types/orch/objects/TaskStatus';

/** When the executor may fetch an image from a registry. Swarm's default is `missing`. */
export type PullPolicy = 'missing' | 'always' | 'never';

/** Docker's default grace between the stop signal and SIGKILL, and Swarm's. */
export const DEFAULT_STOP_GRACE_PERIOD_MS = 10_000;

export interface MountSpec {
  type: 'bind' | 'volume' | 'tmpfs';
  /** Host path (bind) or volume name (volume; empty: an anonymous volume removed with the task). */
  source?: string;
  target: string;
  readOnly?: boolean;
  /** Labels put on a named volume the engine creates for this mount. */
  volumeLabels?: Record<string, string>;
  volumeDriver?: string;
  tmpfsSizeBytes?: number;
  /** Permission bits of the tmpfs root, e.g. 0o1777. */
  tmpfsMode?: number;
}

export interface PortSpec {
  targetPort: number;
  protocol?: 'tcp' | 'udp';
  /** Address on the node to bind; empty binds every address. */
  hostIp?: string;
  /** 0 or absent: the engine picks a free port, reported back once the task runs. */
  hostPort?: number;
}

/** A published port as actually bound on the node. */
export interface BoundPort {
  targetPort: number;
  protocol: 'tcp' | 'udp';
  hostIp: string;
  hostPort: number;
}

/** Docker limits the task's container is created with (reservations are the scheduler's business). */
export interface ResourceLimits {
  nanoCpus?: number;
  memoryBytes?: number;
  pids?: number;
}

export interface TaskRunSpec {
  image: string;
  /** Replaces the image's entrypoint (Swarm's `--entrypoint`, ContainerSpec.command). */
  command: string[];
  /** Replaces the image's CMD (the `CMD...` of `docker service create IMAGE CMD...`). */
  args: string[];
  env: string[];
  /** User labels; orch's own labels are added on top and cannot be overridden. */
  labels: Record<string, string>;
  workdir?: string;
  user?: string;
  hostname?: string;
  stopSignal?: string;
  stopGracePeriodMs: number;
  limits: ResourceLimits;
  mounts: MountSpec[];
  pullPolicy: PullPolicy;
  ports: PortSpec[];
  /** Names of networks to attach, the first one as the container's primary network. */
  networks: string[];
}

/** The observed-status fields the executor reads and writes; other fields of the caller's status pass through. */
export type TaskStatusLike = Pick<
  TaskStatus__Output,
  'state' | 'message' | 'err' | 'exitCode' | 'containerId' | 'timestampMs'
>;

export interface ExecutorTask<S extends TaskStatusLike = TaskStatusLike> {
  id: string;
  serviceId: string;
  serviceName: string;
  /** Replica slot; 0 for a global service's task (its name then carries the node ID, as in Swarm). */
  slot: number;
  nodeId: string;
  desiredState: TaskState__Output;
  status: S;
  spec: TaskRunSpec;
}

export function defaultTaskRunSpec(image: string, overrides: Partial<TaskRunSpec> = {}): TaskRunSpec {
  return {
    image,
    command: [],
    args: [],
    env: [],
    labels: {},
    stopGracePeriodMs: DEFAULT_STOP_GRACE_PERIOD_MS,
    limits: {},
    mounts: [],
    pullPolicy: 'missing',
    ports: [],
    networks: [],
    ...overrides,
  };
}

export function initialTaskStatus(): TaskStatusLike {
  return { state: 'TASK_STATE_NEW', message: '', err: '', exitCode: 0, containerId: '', timestampMs: 0 };
}

/** Keeps only set values: proto3 gives '' and 0 for absent scalars. */
function nonEmpty(value: string | undefined): string | undefined {
  return value ? value : undefined;
}

function positive(value: number | undefined): number | undefined {
  return value && value > 0 ? value : undefined;
}

/**
 * Maps a stored task onto what the executor runs. `extra` supplies what the proto does not carry
 * yet (mounts, pull policy, ports, networks) and wins over the proto's values.
 */
export function executorTaskFromProto(task: Task__Output, extra: Partial<TaskRunSpec> = {}): ExecutorTask {
  const service = task.spec;
  const container = service?.container;
  const limits = service?.resources?.limits;
  const spec = defaultTaskRunSpec(container?.image ?? '', {
    command: [...(container?.command ?? [])],
    args: [...(container?.args ?? [])],
    env: [...(container?.env ?? [])],
    labels: { ...(service?.labels ?? {}), ...(container?.labels ?? {}) },
    workdir: nonEmpty(container?.workdir),
    user: nonEmpty(container?.user),
    hostname: nonEmpty(container?.hostname),
    stopSignal: nonEmpty(container?.stopSignal),
    stopGracePeriodMs: positive(container?.stopGracePeriodMs) ?? DEFAULT_STOP_GRACE_PERIOD_MS,
    limits: {
      nanoCpus: positive(limits?.nanoCpus),
      memoryBytes: positive(limits?.memoryBytes),
      pids: positive(limits?.pids),
    },
    ...extra,
  });
  return {
    id: task.meta?.id ?? '',
    serviceId: task.serviceId,
    serviceName: service?.name ?? '',
    slot: task.slot,
    nodeId: task.nodeId,
    desiredState: task.desiredState,
    status: task.status ? { ...task.status } : initialTaskStatus(),
    spec,
  };
}

/** Swarm's container name: `<service>.<slot>.<taskId>`, or `<service>.<nodeId>.<taskId>` for a global task. */
export function containerName(task: Pick<ExecutorTask, 'id' | 'serviceName' | 'slot' | 'nodeId'>): string {
  const service = task.serviceName || 'task';
  const name = `${service}.${task.slot > 0 ? task.slot : task.nodeId}.${task.id}`;
  // The engine accepts [a-zA-Z0-9][a-zA-Z0-9_.-]* only.
  return name.replace(/[^a-zA-Z0-9_.-]/g, '-').replace(/^[^a-zA-Z0-9]+/, '');
}
