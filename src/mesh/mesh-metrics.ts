// Prometheus metrics of the routing mesh, attached to a registry the node daemon serves on
// `/metrics`. Values are read from the listeners' plain counters when the registry is scraped
// (collect callbacks), so the data path never touches prom-client. A removed service's series
// disappear with it.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { BackendPool } from './backend-pool';
import type { IngressStats } from './ingress-stats';
import type { MeshProtocol } from './mesh-types';

/** One published port's listener, as the metrics see it. */
export interface MeshListenerSource {
  serviceId: string;
  serviceName: string;
  protocol: MeshProtocol;
  publishedPort: number;
  stats: IngressStats;
}

/** One service's backend pool, as the metrics see it. */
export interface MeshServiceSource {
  serviceId: string;
  serviceName: string;
  pool: BackendPool;
}

const PORT_LABELS = ['service', 'service_id', 'protocol', 'published_port'] as const;
type PortLabel = (typeof PORT_LABELS)[number];

/**
 * Listeners counted elsewhere (mesh worker processes, the kernel fast path): fetched once per
 * scrape, added to the local ones. `draining` counts the backends still draining there, per
 * service id.
 */
export type RemoteMeshSources = () => Promise<{
  listeners: MeshListenerSource[];
  draining: ReadonlyMap<string, number>;
}>;

type Snapshot = Awaited<ReturnType<RemoteMeshSources>>;

export class MeshMetrics {
  private readonly listeners = new Set<MeshListenerSource>();
  private readonly services = new Set<MeshServiceSource>();
  private readonly remote: RemoteMeshSources[] = [];
  /** The fetch under way: the metrics of one scrape are collected together and share it. */
  private remoteFetch: Promise<Snapshot> | undefined;

  constructor(registry: Registry, prefix = 'orch_mesh_') {
    const self = this;
    const portCounter = (name: string, help: string, read: (s: MeshListenerSource) => number | undefined) =>
      new Counter<PortLabel>({
        name: prefix + name,
        help,
        labelNames: PORT_LABELS,
        registers: [registry],
        async collect() {
          const { listeners } = await self.snapshot();
          this.reset();
          for (const source of listeners) {
            const value = read(source);
            if (value !== undefined) this.inc(labelsOf(source), value);
          }
        },
      });
    const portGauge = (name: string, help: string, read: (s: MeshListenerSource) => number | undefined) =>
      new Gauge<PortLabel>({
        name: prefix + name,
        help,
        labelNames: PORT_LABELS,
        registers: [registry],
        async collect() {
          const { listeners } = await self.snapshot();
          this.reset();
          // Several sources of one port (the kernel fast path and userspace) add up.
          for (const source of listeners) {
            const value = read(source);
            if (value !== undefined) this.inc(labelsOf(source), value);
          }
        },
      });
    const tcp = (read: (s: IngressStats) => number) => (s: MeshListenerSource) =>
      s.protocol === 'tcp' ? read(s.stats) : undefined;
    const udp = (read: (s: IngressStats) => number) => (s: MeshListenerSource) =>
      s.protocol === 'udp' ? read(s.stats) : undefined;

    portCounter(
      'connections_total',
      'TCP connections accepted on a published port.',
      tcp((s) => s.connectionsTotal),
    );
    portGauge(
      'active_connections',
      'Open TCP connections on a published port.',
      tcp((s) => s.active),
    );
    portCounter(
      'udp_flows_total',
      'UDP flows (client address and port) opened.',
      udp((s) => s.connectionsTotal),
    );
    portGauge(
      'udp_flows',
      'Live UDP flows on a published port.',
      udp((s) => s.active),
    );
    portCounter(
      'udp_dropped_datagrams_total',
      'UDP datagrams from new clients dropped because the flow table was full.',
      udp((s) => s.udpDroppedTotal),
    );
    portCounter(
      'rejected_total',
      'Client connections or flows refused because no backend was healthy.',
      (s) => s.stats.rejectedTotal,
    );
    portCounter(
      'connect_errors_total',
      'Backend connect attempts that failed (refused, timed out, unreachable).',
      (s) => s.stats.connectErrorsTotal,
    );
    portCounter(
      'connect_retries_total',
      'Connect attempts to another backend after a failed one.',
      (s) => s.stats.connectRetriesTotal,
    );
    portCounter('received_bytes_total', 'Bytes received from clients and sent on to backends.', (s) => {
      return s.stats.bytesInClosed + s.stats.liveBytes().bytesIn;
    });
    portCounter('sent_bytes_total', 'Bytes received from backends and sent back to clients.', (s) => {
      return s.stats.bytesOutClosed + s.stats.liveBytes().bytesOut;
    });
    new Gauge<'service' | 'service_id' | 'state'>({
      name: `${prefix}backends`,
      help: 'Backends of a service on this node by state (healthy, unhealthy, draining).',
      labelNames: ['service', 'service_id', 'state'],
      registers: [registry],
      async collect() {
        const { draining } = await self.snapshot();
        this.reset();
        for (const source of self.services) {
          const counts = { healthy: 0, unhealthy: 0, draining: 0 };
          for (const b of source.pool.all()) {
            if (b.state === 'draining') counts.draining++;
            else if (b.backend.healthy) counts.healthy++;
            else counts.unhealthy++;
          }
          // A backend the workers still drain is one backend, however many workers hold it.
          counts.draining = Math.max(counts.draining, draining.get(source.serviceId) ?? 0);
          for (const [state, value] of Object.entries(counts)) {
            this.set({ service: source.serviceName, service_id: source.serviceId, state }, value);
          }
        }
      },
    });
  }

  /** Adds listeners counted elsewhere to every scrape (see RemoteMeshSources). */
  addRemoteSources(remote: RemoteMeshSources): void {
    this.remote.push(remote);
  }

  /** What this process tracks now (a mesh worker reports it to the daemon). */
  tracked(): { listeners: ReadonlySet<MeshListenerSource>; services: ReadonlySet<MeshServiceSource> } {
    return { listeners: this.listeners, services: this.services };
  }

  private async snapshot(): Promise<Snapshot> {
    const local = [...this.listeners];
    if (this.remote.length === 0) return { listeners: local, draining: new Map() };
    if (!this.remoteFetch) {
      this.remoteFetch = Promise.all(this.remote.map((fetch) => fetch()))
        .then((all) => {
          const draining = new Map<string, number>();
          for (const r of all) {
            for (const [id, n] of r.draining) draining.set(id, Math.max(draining.get(id) ?? 0, n));
          }
          return { listeners: all.flatMap((r) => r.listeners), draining };
        })
        .finally(() => {
          this.remoteFetch = undefined;
        });
    }
    const remote = await this.remoteFetch;
    return { listeners: [...local, ...remote.listeners], draining: remote.draining };
  }

  trackListener(source: MeshListenerSource): void {
    this.listeners.add(source);
  }

  untrackListener(source: MeshListenerSource): void {
    this.listeners.delete(source);
  }

  trackService(source: MeshServiceSource): void {
    this.services.add(source);
  }

  untrackService(source: MeshServiceSource): void {
    this.services.delete(source);
  }
}

function labelsOf(source: MeshListenerSource): Record<PortLabel, string> {
  return {
    service: source.serviceName,
    service_id: source.serviceId,
    protocol: source.protocol,
    published_port: String(source.publishedPort),
  };
}

/** Registers the mesh's metrics (prefix `orch_mesh_`) in `registry`; pass the result to RoutingMesh. */
export function createMeshMetrics(registry: Registry): MeshMetrics {
  return new MeshMetrics(registry);
}
