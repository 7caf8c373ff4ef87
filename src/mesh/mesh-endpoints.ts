// The control plane's one translation for the routing mesh: from the cluster's objects (services,
// tasks, nodes) to what the mesh of every node needs per service with ingress-published ports —
// the ports, the drain period and the endpoints of the service's running tasks, wherever they run.
// Pure functions over store objects; managers apply them to their store replica
// (store-endpoint-source.ts), the dispatcher to the leader's store for the workers
// (endpoint-wire.ts carries the result), and per-network VIPs may reuse them.
// It never decides placement or health; it only reads what the store says.
import type { Node, Service, Task } from '../store/objects';
import {
  DEFAULT_DRAIN_MS,
  type LoadBalancing,
  type MeshBackend,
  type MeshBackendPort,
  type MeshPort,
  type MeshProtocol,
  type MeshServiceSpec,
} from './mesh-types';

/** One running task of a service as the mesh reaches it. */
export interface EndpointBackend {
  taskId: string;
  nodeId: string;
  /** The mesh address of the task's node (where its ingress ports are bound). */
  address: string;
  /** Per target port: the host port on `address` that reaches it. Sorted by protocol, target port. */
  ports: MeshBackendPort[];
  /** Only healthy backends get new connections (running, and healthy once health checks report). */
  healthy: boolean;
}

/** A service with ingress-published ports and its backends. */
export interface ServiceEndpoints {
  serviceId: string;
  name: string;
  /** The allocated ingress ports (published port never 0), in the service's order. */
  ports: MeshPort[];
  /** How long a removed backend's connections may drain: the service's stop grace period. */
  drainMs: number;
  /** Sorted by task ID, so equal tables compare equal. */
  backends: EndpointBackend[];
}

/** The endpoint table: service ID to its endpoints; services without ingress ports are absent. */
export type EndpointTableMap = ReadonlyMap<string, ServiceEndpoints>;

/** The ingress ports the allocator settled for the service (none until it allocated). */
export function ingressPortsOf(service: Service): MeshPort[] {
  const ports: MeshPort[] = [];
  for (const port of service.endpoint?.ports ?? []) {
    if (port.publishMode !== 'PUBLISH_MODE_INGRESS' || port.publishedPort === 0) continue;
    ports.push({
      protocol: protocolOf(port.protocol),
      publishedPort: port.publishedPort,
      targetPort: port.targetPort,
      mode: 'ingress',
    });
  }
  return ports;
}

export function protocolOf(wire: string): MeshProtocol {
  return wire === 'PORT_PROTOCOL_UDP' ? 'udp' : 'tcp';
}

/**
 * Where the routing mesh of `node` listens and binds its tasks' ingress ports: its declared mesh
 * address, else the host of the address it registered with. Empty when neither is known.
 */
export function nodeMeshAddress(node: Node | undefined): string {
  if (node === undefined) return '';
  const declared = node.description?.meshAddr ?? '';
  if (declared !== '') return declared;
  return hostOf(node.status?.addr ?? '');
}

/** The host of `host:port`, `[v6]:port` or a bare host. */
export function hostOf(addr: string): string {
  if (addr.startsWith('[')) {
    const end = addr.indexOf(']');
    return end > 0 ? addr.slice(1, end) : addr;
  }
  const colon = addr.lastIndexOf(':');
  // One colon: host:port. More: a bare IPv6 address.
  return colon > 0 && addr.indexOf(':') === colon ? addr.slice(0, colon) : addr;
}

/**
 * The backend a task is, or undefined when it must get no connection: not running, asked to stop,
 * on a node that is down or unknown, or with none of the service's ports bound.
 */
export function taskBackend(
  task: Task,
  ports: readonly MeshPort[],
  node: Node | undefined,
): EndpointBackend | undefined {
  if (task.status?.state !== 'TASK_STATE_RUNNING' || task.desiredState !== 'TASK_STATE_RUNNING') {
    return undefined;
  }
  if (node === undefined || node.status?.state === 'NODE_STATE_DOWN') return undefined;
  const address = nodeMeshAddress(node);
  if (address === '') return undefined;
  const bound = new Map<string, number>();
  for (const port of task.status.ports) {
    if (port.publishedPort > 0)
      bound.set(`${protocolOf(port.protocol)}/${port.targetPort}`, port.publishedPort);
  }
  const backendPorts: MeshBackendPort[] = [];
  const seen = new Set<string>();
  for (const port of ports) {
    const key = `${port.protocol}/${port.targetPort}`;
    const hostPort = bound.get(key);
    if (hostPort === undefined || seen.has(key)) continue;
    seen.add(key);
    backendPorts.push({ protocol: port.protocol, targetPort: port.targetPort, port: hostPort });
  }
  if (backendPorts.length === 0) return undefined;
  backendPorts.sort((a, b) => a.protocol.localeCompare(b.protocol) || a.targetPort - b.targetPort);
  return { taskId: task.meta!.id, nodeId: task.nodeId, address, ports: backendPorts, healthy: true };
}

/**
 * The endpoints of one service, or undefined when it publishes no ingress port (yet). `tasks` are
 * the service's tasks (any state); `nodeOf` looks up their nodes.
 */
export function serviceEndpoints(
  service: Service,
  tasks: readonly Task[],
  nodeOf: (nodeId: string) => Node | undefined,
): ServiceEndpoints | undefined {
  const ports = ingressPortsOf(service);
  if (ports.length === 0) return undefined;
  const backends: EndpointBackend[] = [];
  for (const task of tasks) {
    if (task.serviceId !== service.meta!.id) continue;
    const backend = taskBackend(task, ports, task.nodeId === '' ? undefined : nodeOf(task.nodeId));
    if (backend) backends.push(backend);
  }
  backends.sort((a, b) => (a.taskId < b.taskId ? -1 : a.taskId > b.taskId ? 1 : 0));
  const grace = service.spec?.container?.stopGracePeriodMs ?? 0;
  return {
    serviceId: service.meta!.id,
    name: service.spec?.name ?? '',
    ports,
    drainMs: grace > 0 ? grace : DEFAULT_DRAIN_MS,
    backends,
  };
}

/** What the store reads the translation needs (a ReadTx satisfies it). */
export interface EndpointSourceTx {
  services: { get(id: string): Service | undefined; list(): Service[] };
  tasks: { findByService(serviceId: string): Task[] };
  nodes: { get(id: string): Node | undefined };
}

/** One service's endpoints from a store view (undefined: gone or not published). */
export function serviceEndpointsFromStore(
  tx: EndpointSourceTx,
  serviceId: string,
): ServiceEndpoints | undefined {
  const service = tx.services.get(serviceId);
  // Most services publish nothing: never list their tasks (a big service has tens of thousands).
  if (service === undefined || ingressPortsOf(service).length === 0) return undefined;
  return serviceEndpoints(service, tx.tasks.findByService(serviceId), (id) => tx.nodes.get(id));
}

/** The whole endpoint table from a store view. */
export function endpointTableFromStore(tx: EndpointSourceTx): Map<string, ServiceEndpoints> {
  const table = new Map<string, ServiceEndpoints>();
  for (const service of tx.services.list()) {
    if (ingressPortsOf(service).length === 0) continue;
    const endpoints = serviceEndpointsFromStore(tx, service.meta!.id);
    if (endpoints) table.set(endpoints.serviceId, endpoints);
  }
  return table;
}

/** Whether two entries say the same (entries are normalized: sorted backends and ports). */
export function sameServiceEndpoints(
  a: ServiceEndpoints | undefined,
  b: ServiceEndpoints | undefined,
): boolean {
  if (a === undefined || b === undefined) return a === b;
  return JSON.stringify(a) === JSON.stringify(b);
}

/** The mesh's service spec for an entry, balanced the node's way (`--mesh-lb`). */
export function meshServiceSpecOf(endpoints: ServiceEndpoints, lb: LoadBalancing): MeshServiceSpec {
  return {
    name: endpoints.name,
    ports: endpoints.ports.map((p) => ({ ...p })),
    lb,
    drainMs: endpoints.drainMs,
  };
}

/** The mesh's backends for an entry. */
export function meshBackendsOf(endpoints: ServiceEndpoints): MeshBackend[] {
  return endpoints.backends.map((b) => ({
    taskId: b.taskId,
    address: b.address,
    ports: b.ports.map((p) => ({ ...p })),
    healthy: b.healthy,
  }));
}
