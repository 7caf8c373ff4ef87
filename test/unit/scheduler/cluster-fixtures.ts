// Builders for the wire objects the scheduler and orchestrator tests feed in. Only the fields those
// modules read are filled; the casts keep the fixtures valid as the proto grows.

import type { Node__Output } from '../../../src/api/gen/types/orch/objects/Node';
import type { Service__Output } from '../../../src/api/gen/types/orch/objects/Service';
import type { ServiceSpec__Output } from '../../../src/api/gen/types/orch/objects/ServiceSpec';
import type { Task__Output } from '../../../src/api/gen/types/orch/objects/Task';
import type { TaskStateValue } from '../../../src/common/task-state';

export const GiB = 2 ** 30;
export const CPU = 1_000_000_000;

export interface NodeOptions {
  hostname?: string;
  role?: 'manager' | 'worker';
  state?: 'ready' | 'down' | 'disconnected' | 'unknown';
  availability?: 'active' | 'pause' | 'drain';
  labels?: Record<string, string>;
  engineLabels?: Record<string, string>;
  cpus?: number;
  memoryBytes?: number;
  os?: string;
  architecture?: string;
  lastHeartbeatMs?: number;
}

export function node(id: string, options: NodeOptions = {}): Node__Output {
  return {
    meta: { id, version: 1, createdAtMs: 0, updatedAtMs: 0 },
    spec: {
      desiredRole: options.role === 'manager' ? 'NODE_ROLE_MANAGER' : 'NODE_ROLE_WORKER',
      availability: `NODE_AVAILABILITY_${(options.availability ?? 'active').toUpperCase()}`,
      labels: options.labels ?? {},
    },
    role: options.role === 'manager' ? 'NODE_ROLE_MANAGER' : 'NODE_ROLE_WORKER',
    description: {
      hostname: options.hostname ?? `host-${id}`,
      os: options.os ?? 'linux',
      architecture: options.architecture ?? 'x86_64',
      nanoCpus: (options.cpus ?? 4) * CPU,
      memoryBytes: options.memoryBytes ?? 8 * GiB,
      engineVersion: '27.0.0',
      engineLabels: options.engineLabels ?? {},
    },
    status: {
      state: `NODE_STATE_${(options.state ?? 'ready').toUpperCase()}`,
      message: '',
      addr: '127.0.0.1',
      lastHeartbeatMs: options.lastHeartbeatMs ?? 0,
    },
    managerStatus: null,
  } as Node__Output;
}

export interface SpecOptions {
  name?: string;
  replicas?: number;
  global?: boolean;
  constraints?: string[];
  preferences?: string[];
  maxReplicasPerNode?: number;
  reserveCpus?: number;
  reserveMemoryBytes?: number;
  hostPorts?: number[];
  restart?: {
    condition?: 'any' | 'on-failure' | 'none';
    delayMs?: number;
    maxAttempts?: number;
    windowMs?: number;
  };
}

export function serviceSpec(options: SpecOptions = {}): ServiceSpec__Output {
  const restart = options.restart ?? {};
  const condition = {
    any: 'RESTART_CONDITION_ANY',
    'on-failure': 'RESTART_CONDITION_ON_FAILURE',
    none: 'RESTART_CONDITION_NONE',
  }[restart.condition ?? 'any'];
  return {
    name: options.name ?? 'web',
    labels: {},
    container: { image: 'orch/busybox:latest' },
    resources: {
      limits: null,
      reservations: {
        nanoCpus: Math.round((options.reserveCpus ?? 0) * CPU),
        memoryBytes: options.reserveMemoryBytes ?? 0,
        pids: 0,
      },
    },
    placement: {
      constraints: options.constraints ?? [],
      spreadPreferences: options.preferences ?? [],
      maxReplicasPerNode: options.maxReplicasPerNode ?? 0,
    },
    restartPolicy: {
      condition,
      delayMs: restart.delayMs ?? 0,
      maxAttempts: restart.maxAttempts ?? 0,
      windowMs: restart.windowMs ?? 0,
    },
    endpoint: {
      mode: 'RESOLUTION_MODE_VIP',
      ports: (options.hostPorts ?? []).map((port) => ({
        name: '',
        protocol: 'PORT_PROTOCOL_TCP',
        targetPort: 80,
        publishedPort: port,
        publishMode: 'PUBLISH_MODE_HOST',
      })),
    },
    ...(options.global
      ? { mode: 'global', global: {} }
      : { mode: 'replicated', replicated: { replicas: options.replicas ?? 1 } }),
  } as ServiceSpec__Output;
}

export function service(id: string, spec: ServiceSpec__Output, version = 1): Service__Output {
  return { meta: { id, version, createdAtMs: 0, updatedAtMs: 0 }, spec } as Service__Output;
}

export interface TaskOptions {
  id: string;
  serviceId?: string;
  slot?: number;
  nodeId?: string;
  spec?: ServiceSpec__Output;
  desired?: TaskStateValue;
  state?: TaskStateValue;
  timestampMs?: number;
  exitCode?: number;
  createdAtMs?: number;
}

export function task(options: TaskOptions): Task__Output {
  return {
    meta: { id: options.id, version: 1, createdAtMs: options.createdAtMs ?? 0, updatedAtMs: 0 },
    serviceId: options.serviceId ?? 'svc',
    slot: options.slot ?? 0,
    nodeId: options.nodeId ?? '',
    spec: options.spec ?? serviceSpec(),
    desiredState: options.desired ?? 'TASK_STATE_RUNNING',
    status: {
      state: options.state ?? (options.nodeId ? 'TASK_STATE_RUNNING' : 'TASK_STATE_PENDING'),
      message: '',
      err: '',
      exitCode: options.exitCode ?? 0,
      containerId: '',
      timestampMs: options.timestampMs ?? 0,
      ports: [],
    },
    endpoint: null,
    networks: [],
    jobIteration: 0,
  } as Task__Output;
}

/** `count` pending tasks of one service, slots 1..count, IDs `<prefix>1`.. */
export function pendingTasks(
  count: number,
  spec: ServiceSpec__Output,
  serviceId = 'svc',
  prefix = 't',
): Task__Output[] {
  return Array.from({ length: count }, (_, i) =>
    task({ id: `${prefix}${String(i + 1).padStart(5, '0')}`, serviceId, slot: i + 1, spec }),
  );
}

/** How many assignments went to each node. */
export function countByNode(assignments: Map<string, string>): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const nodeId of assignments.values()) counts[nodeId] = (counts[nodeId] ?? 0) + 1;
  return counts;
}
