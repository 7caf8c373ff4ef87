// What a node must know about the cluster to serve its networks: every service attached to a
// network, with its VIP and aliases there, the ports its VIP forwards and the endpoints of its
// running tasks on every node. Managers compute it from their store replica (StoreNetworkDirectory);
// anything else (a worker's feed from the dispatcher, tests) implements NetworkDirectory or feeds a
// StaticNetworkDirectory. Backends reuse the routing mesh's translation (src/mesh/mesh-endpoints.ts):
// the same endpoints ingress uses, i.e. task ports bound on their node's mesh address.
//
// Which ports a VIP forwards: every target port the service's running tasks have bound on their
// node, which is the service's declared ports (--publish, ingress or host mode) and the ports its
// image EXPOSEs (the executor binds those for network-attached tasks). Swarm forwards every port of a
// VIP; orch forwards declared and exposed ports only.
import type { Logger } from 'pino';
// Imports name mesh files, not its index: the mesh's StoreEndpointSource computes this directory for
// the dispatcher (networked-service-table.ts), so the index would be a cycle.
import { type EndpointBackend, protocolOf, taskBackend } from '../mesh/mesh-endpoints';
import { DEFAULT_DRAIN_MS, type MeshPort } from '../mesh/mesh-types';
import type { MemoryStore, Network, Node, Service, Task } from '../store';
import { addressOfCidr } from './ipv4';

export interface ServiceNetworkAttachment {
  networkId: string;
  networkName: string;
  /** The service's VIP on that network (an address, no prefix). */
  vip: string;
  aliases: string[];
}

export interface NetworkedService {
  serviceId: string;
  name: string;
  drainMs: number;
  attachments: ServiceNetworkAttachment[];
  /** What the VIP forwards, sorted by protocol then port. */
  ports: Array<{ protocol: 'tcp' | 'udp'; targetPort: number }>;
  /** Sorted by task ID. */
  backends: EndpointBackend[];
}

export interface NetworkDirectory {
  /** Service ID → what is known of it now. Services on no network are absent. */
  current(): ReadonlyMap<string, NetworkedService>;
  /**
   * The IDs of the networks that exist (a network removed from the cluster is absent), or undefined
   * when this directory does not know (then networks go only when no task uses them).
   */
  networks(): ReadonlySet<string> | undefined;
  /** Calls `listener` after every change; returns the unsubscribe function. */
  subscribe(listener: () => void): () => void;
}

/** What the translation reads (a ReadTx satisfies it). */
export interface DirectorySourceTx {
  services: { list(): Service[] };
  tasks: { findByService(serviceId: string): Task[] };
  nodes: { get(id: string): Node | undefined };
  networks: { get(id: string): Network | undefined; list(): Network[] };
}

/** One service as the directory shows it, or undefined when it has no VIP on any network (yet). */
export function networkedService(
  service: Service,
  tasks: readonly Task[],
  networkOf: (id: string) => Network | undefined,
  nodeOf: (id: string) => Node | undefined,
): NetworkedService | undefined {
  const spec = service.spec;
  const attachments: ServiceNetworkAttachment[] = [];
  for (const vip of service.endpoint?.virtualIps ?? []) {
    const network = networkOf(vip.networkId);
    if (!network) continue;
    const name = network.spec?.name ?? '';
    const id = network.meta?.id ?? '';
    const aliases = new Set<string>();
    for (const wanted of spec?.networks ?? [])
      if (
        wanted.target === id ||
        wanted.target === name ||
        (wanted.target.length >= 3 && id.startsWith(wanted.target))
      )
        for (const alias of wanted.aliases) aliases.add(alias);
    attachments.push({
      networkId: id,
      networkName: name,
      vip: addressOfCidr(vip.addr),
      aliases: [...aliases],
    });
  }
  if (attachments.length === 0) return undefined;
  const serviceId = service.meta?.id ?? '';
  const ports = new Map<string, MeshPort>();
  for (const task of tasks) {
    if (task.serviceId !== serviceId || task.status?.state !== 'TASK_STATE_RUNNING') continue;
    for (const port of task.status.ports) {
      if (port.publishedPort <= 0) continue;
      const protocol = protocolOf(port.protocol);
      ports.set(`${protocol}/${port.targetPort}`, {
        protocol,
        targetPort: port.targetPort,
        publishedPort: port.targetPort,
        mode: 'ingress',
      });
    }
  }
  const sortedPorts = [...ports.values()].sort(
    (a, b) => a.protocol.localeCompare(b.protocol) || a.targetPort - b.targetPort,
  );
  const backends: EndpointBackend[] = [];
  for (const task of tasks) {
    if (task.serviceId !== serviceId) continue;
    const backend = taskBackend(task, sortedPorts, task.nodeId ? nodeOf(task.nodeId) : undefined);
    if (backend) backends.push(backend);
  }
  backends.sort((a, b) => (a.taskId < b.taskId ? -1 : a.taskId > b.taskId ? 1 : 0));
  const grace = spec?.container?.stopGracePeriodMs ?? 0;
  return {
    serviceId,
    name: spec?.name ?? '',
    drainMs: grace > 0 ? grace : DEFAULT_DRAIN_MS,
    attachments,
    ports: sortedPorts.map((p) => ({ protocol: p.protocol, targetPort: p.targetPort })),
    backends,
  };
}

/** What reading one service needs (a ReadTx satisfies it). */
export interface NetworkedServiceSourceTx {
  services: { get(id: string): Service | undefined };
  tasks: { findByService(serviceId: string): Task[] };
  nodes: { get(id: string): Node | undefined };
  networks: { get(id: string): Network | undefined };
}

/** One service from a store view: undefined when it is gone or has no VIP on any network. */
export function networkedServiceFromStore(
  tx: NetworkedServiceSourceTx,
  serviceId: string,
): NetworkedService | undefined {
  const service = tx.services.get(serviceId);
  // Most services are on no network: never list their tasks (a big service has tens of thousands).
  if (service === undefined || (service.endpoint?.virtualIps.length ?? 0) === 0) return undefined;
  return networkedService(
    service,
    tx.tasks.findByService(serviceId),
    (id) => tx.networks.get(id),
    (id) => tx.nodes.get(id),
  );
}

/** The whole directory from a store view. */
export function networkDirectoryFromStore(tx: DirectorySourceTx): Map<string, NetworkedService> {
  const result = new Map<string, NetworkedService>();
  for (const service of tx.services.list()) {
    if ((service.endpoint?.virtualIps.length ?? 0) === 0) continue;
    const entry = networkedService(
      service,
      tx.tasks.findByService(service.meta?.id ?? ''),
      (id) => tx.networks.get(id),
      (id) => tx.nodes.get(id),
    );
    if (entry) result.set(entry.serviceId, entry);
  }
  return result;
}

/** A directory set from outside (a worker's feed, tests). */
export class StaticNetworkDirectory implements NetworkDirectory {
  private services = new Map<string, NetworkedService>();
  private networkIds: Set<string> | undefined;
  private readonly listeners = new Set<() => void>();

  set(services: Iterable<NetworkedService>, networkIds?: Iterable<string>): void {
    this.services = new Map([...services].map((s) => [s.serviceId, s]));
    this.networkIds = networkIds === undefined ? undefined : new Set(networkIds);
    for (const listener of [...this.listeners]) listener();
  }

  current(): ReadonlyMap<string, NetworkedService> {
    return this.services;
  }

  networks(): ReadonlySet<string> | undefined {
    return this.networkIds;
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

/**
 * Keeps a directory current from a store replica: recomputed once per turn of the event loop in
 * which entries applied (services on networks are few; the whole view is cheap), and only announced
 * when it changed.
 */
export class StoreNetworkDirectory implements NetworkDirectory {
  private readonly inner = new StaticNetworkDirectory();
  private subscription: { close(): void } | undefined;
  private scheduled = false;
  private lastJson = '';

  constructor(
    private readonly store: MemoryStore,
    private readonly logger: Logger,
  ) {}

  start(): void {
    if (this.subscription) return;
    this.subscription = this.store.subscribe(
      (event) => {
        if (event.type === 'commit' || event.type === 'restored') this.schedule();
      },
      { tables: ['services', 'tasks', 'nodes', 'networks'], commits: true },
    );
    this.recompute();
  }

  close(): void {
    this.subscription?.close();
    this.subscription = undefined;
  }

  current(): ReadonlyMap<string, NetworkedService> {
    return this.inner.current();
  }

  networks(): ReadonlySet<string> | undefined {
    return this.inner.networks();
  }

  subscribe(listener: () => void): () => void {
    return this.inner.subscribe(listener);
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      if (this.subscription) this.recompute();
    });
  }

  private recompute(): void {
    const { services, networks } = this.store.view((tx) => ({
      services: networkDirectoryFromStore(tx),
      networks: tx.networks.list().map((n) => n.meta?.id ?? ''),
    }));
    const json = JSON.stringify([[...services.values()], networks]);
    if (json === this.lastJson) return;
    this.lastJson = json;
    this.logger.debug({ services: services.size, networks: networks.length }, 'network directory changed');
    this.inner.set(services.values(), networks);
  }
}

/** Follows whichever directory the node's role calls for (use() switches and notifies). */
export class SwitchingNetworkDirectory implements NetworkDirectory {
  private inner: NetworkDirectory = new StaticNetworkDirectory();
  private readonly listeners = new Set<() => void>();
  private unsubscribe: () => void = () => {};

  use(directory: NetworkDirectory): void {
    this.unsubscribe();
    this.inner = directory;
    this.unsubscribe = directory.subscribe(() => this.notify());
    this.notify();
  }

  current() {
    return this.inner.current();
  }

  networks() {
    return this.inner.networks();
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private notify(): void {
    for (const listener of [...this.listeners]) listener();
  }
}
