// What an executor needs to run one task, in the executor's own terms: TaskRunSpec holds the
// container's configuration (including what proto/orch/objects.proto does not carry: the engine
// networks and DNS the node chose for it), ExecutorTask the task's identity and its desired and
// observed states. executorTaskFromProto maps a stored Task onto them; it is the only place that
// knows the wire shape.
import type { Mount__Output } from '../../api/gen/types/orch/objects/Mount';
import type { PortConfig, PortConfig__Output } from '../../api/gen/types/orch/objects/PortConfig';
import type { PullPolicy__Output } from '../../api/gen/types/orch/objects/PullPolicy';
import type { Task__Output } from '../../api/gen/types/orch/objects/Task';
import type { TaskState__Output } from '../../api/gen/types/orch/objects/TaskState';
import type { TaskStatus__Output } from '../../api/gen/types/orch/objects/TaskStatus';
import type { TaskFile } from './task-files';

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

/** A network the task is attached to (orch's network ID and the aliases the service asked for there). */
export interface NetworkAttachmentSpec {
  networkId: string;
  aliases: string[];
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

/** Docker's HEALTHCHECK: `test` is ["NONE"], ["CMD", ...] or ["CMD-SHELL", "..."]; empty: the image's. */
export interface HealthcheckSpec {
  test: string[];
  intervalMs?: number;
  timeoutMs?: number;
  retries?: number;
  startPeriodMs?: number;
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
  /**
   * Engine networks to join, by engine name, the first one as the container's primary network.
   * Filled in on the node from `attachments` (src/network/networked-executor.ts), never from the proto.
   */
  networks: string[];
  /** The orch networks the task is attached to, as the allocator wrote them. */
  attachments: NetworkAttachmentSpec[];
  /** DNS servers for the container (the node's embedded DNS of its primary network); empty: the engine's. */
  dns: string[];
  /** Allocate a TTY: logs are then one raw stream (all `stdout`). */
  tty: boolean;
  healthcheck?: HealthcheckSpec;
  /** Secrets and configs as files, placed in the container before it starts (see task-files.ts). */
  files: TaskFile[];
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
    attachments: [],
    dns: [],
    tty: false,
    files: [],
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

const PULL_POLICIES: Record<PullPolicy__Output, PullPolicy> = {
  PULL_POLICY_MISSING: 'missing',
  PULL_POLICY_ALWAYS: 'always',
  PULL_POLICY_NEVER: 'never',
};

function mountFromProto(mount: Mount__Output): MountSpec {
  const type =
    mount.type === 'MOUNT_TYPE_VOLUME' ? 'volume' : mount.type === 'MOUNT_TYPE_TMPFS' ? 'tmpfs' : 'bind';
  return { type, source: nonEmpty(mount.source), target: mount.target, readOnly: mount.readOnly };
}

function portFromProto(port: PortConfig__Output, ingressHostIp: string | undefined): PortSpec | undefined {
  const protocol = port.protocol === 'PORT_PROTOCOL_UDP' ? 'udp' : 'tcp';
  if (port.publishMode === 'PUBLISH_MODE_HOST') {
    // Swarm's host mode: the published port on this node itself (0: any free port), on the node's
    // mesh address when there is one, so that several nodes sharing a machine each own the port.
    return {
      targetPort: port.targetPort,
      protocol,
      ...(ingressHostIp !== undefined ? { hostIp: ingressHostIp } : {}),
      hostPort: port.publishedPort,
    };
  }
  // Ingress: the routing mesh forwards to the task at a port the engine picks on the mesh address.
  if (ingressHostIp === undefined) return undefined;
  return { targetPort: port.targetPort, protocol, hostIp: ingressHostIp, hostPort: 0 };
}

export interface FromProtoOptions {
  /**
   * Address on this node where ingress-mode ports are bound (each on a dynamic host port) for the
   * routing mesh to reach the task. Without it only host-mode ports are published.
   */
  ingressHostIp?: string;
  /**
   * Wins over what the proto says: networks as the engine names them, volume labels, and `files`
   * (the task's secrets and configs, from taskFilesFromProto with the data the agent holds).
   */
  extra?: Partial<TaskRunSpec>;
}

/** Maps a stored task onto what the executor runs. */
export function executorTaskFromProto(task: Task__Output, options: FromProtoOptions = {}): ExecutorTask {
  const service = task.spec;
  const container = service?.container;
  const limits = service?.resources?.limits;
  const health = container?.healthcheck;
  const ports = (task.endpoint?.ports ?? service?.endpoint?.ports ?? [])
    .map((p) => portFromProto(p, options.ingressHostIp))
    .filter((p): p is PortSpec => p !== undefined);
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
    mounts: (container?.mounts ?? []).map(mountFromProto),
    pullPolicy: PULL_POLICIES[container?.pullPolicy ?? 'PULL_POLICY_MISSING'] ?? 'missing',
    ports,
    attachments: (task.networks ?? []).map((n) => ({ networkId: n.networkId, aliases: [...n.aliases] })),
    tty: container?.tty ?? false,
    healthcheck:
      health && health.test.length > 0
        ? {
            test: [...health.test],
            intervalMs: positive(health.intervalMs),
            timeoutMs: positive(health.timeoutMs),
            retries: positive(health.retries),
            startPeriodMs: positive(health.startPeriodMs),
          }
        : undefined,
    ...options.extra,
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

/**
 * The bound ports as TaskStatus.ports: publishedPort is the host port the engine bound. They are
 * host-mode ports physically, whatever mode the spec asked for; the mesh reads them to reach the task.
 */
export function boundPortsToProto(ports: BoundPort[]): PortConfig[] {
  return ports.map((p) => ({
    protocol: p.protocol === 'udp' ? 'PORT_PROTOCOL_UDP' : 'PORT_PROTOCOL_TCP',
    targetPort: p.targetPort,
    publishedPort: p.hostPort,
    publishMode: 'PUBLISH_MODE_HOST',
  }));
}

/** Swarm's container name: `<service>.<slot>.<taskId>`, or `<service>.<nodeId>.<taskId>` for a global task. */
export function containerName(task: Pick<ExecutorTask, 'id' | 'serviceName' | 'slot' | 'nodeId'>): string {
  const service = task.serviceName || 'task';
  const name = `${service}.${task.slot > 0 ? task.slot : task.nodeId}.${task.id}`;
  // The engine accepts [a-zA-Z0-9][a-zA-Z0-9_.-]* only.
  return name.replace(/[^a-zA-Z0-9_.-]/g, '-').replace(/^[^a-zA-Z0-9]+/, '');
}
