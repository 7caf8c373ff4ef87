// The routing mesh data plane of one node: for every published port of every service it
// listens on the node's mesh address and balances TCP connections and UDP flows over the
// service's healthy backends, wherever they run. The control plane (store on managers,
// dispatcher session on workers) drives it with setService / setBackends / removeService;
// every update is validated whole, applied as a diff, and serialized with the others.
// Optionally mirrors round-robin services into an nftables DNAT fast path (nft-fast-path.ts).
// It binds only the mesh address it was given.
import type { Logger } from 'pino';
import { IngressStats } from './ingress-stats';
import { MeshClosedError, MeshPortConflictError } from './mesh-errors';
import type { MeshListenerSource, MeshMetrics } from './mesh-metrics';
import { type Listener, type MeshListenerStatus, MeshService } from './mesh-service';
import type { MeshBackend, MeshServiceSpec } from './mesh-types';
import { type NormalizedServiceSpec, normalizeBackends, normalizeServiceSpec } from './mesh-validate';
import type { MeshWorkers } from './mesh-workers';
import type { FastPathCounts, FastPathRoute, MeshFastPath } from './nft-fast-path';
import { fastPathRoutes } from './nft-fast-path';

export interface RoutingMeshOptions {
  /** The node's mesh address (`--mesh-addr`): every published port listens here and only here. */
  meshAddress: string;
  logger: Logger;
  /** From createMeshMetrics(registry); omit for no metrics. */
  metrics?: MeshMetrics;
  /** A backend that has not accepted a TCP connection within this time is skipped. Default 1000. */
  connectTimeoutMs?: number;
  /** Backends tried per client connection before it is reset. Default 3. */
  maxConnectAttempts?: number;
  /** A UDP flow idle this long is closed. Default 30 000. */
  udpIdleTimeoutMs?: number;
  /** Live UDP flows per published port. Default 4096. */
  udpMaxFlows?: number;
  /**
   * Kernel fast path for round-robin services (see docs/mesh.md). Off by default: the kernel
   * path cannot retry a refusing backend, has no least-connections, and cannot cut drained
   * connections at the end of the drain period.
   */
  fastPath?: MeshFastPath;
  /**
   * Serve TCP ports in these worker processes instead of this one (`--mesh-workers`); this mesh
   * keeps UDP, the fast path, validation and the metrics. See mesh-workers.ts.
   */
  workers?: MeshWorkers;
  /**
   * Listen on sockets shared with other processes (in a mesh worker, whose node:cluster primary
   * binds each port once) instead of binding exclusively.
   */
  sharedListeners?: boolean;
  /** Where each service's round-robin starts among its backends (mesh worker i: i). Default 0. */
  roundRobinStart?: number;
}

export interface MeshServiceStatus {
  serviceId: string;
  name: string;
  listeners: MeshListenerStatus[];
}

interface RetiredListener {
  listener: Listener;
  source: MeshListenerSource;
  timer: NodeJS.Timeout;
}

export class RoutingMesh {
  readonly meshAddress: string;
  private readonly logger: Logger;
  private readonly options: RoutingMeshOptions;
  private readonly services = new Map<string, MeshService>();
  /** Backends that arrived before their service's spec. */
  private readonly pendingBackends = new Map<string, MeshBackend[]>();
  private readonly retired = new Map<string, RetiredListener>();
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;
  /** What the kernel was last told; undefined until the first sync creates the table. */
  private fastPathRoutes: FastPathRoute[] | undefined;
  /** With workers: their TCP listeners' statuses, per service. */
  private readonly workerListeners = new Map<string, MeshListenerStatus[]>();

  constructor(options: RoutingMeshOptions) {
    this.options = options;
    this.meshAddress = options.meshAddress;
    this.logger = options.logger.child({ module: 'mesh', meshAddress: options.meshAddress });
    const workers = options.workers;
    if (workers) options.metrics?.addRemoteSources(() => workers.metricsSources());
    const fastPath = options.fastPath;
    if (fastPath?.counts) {
      const counts = fastPath.counts.bind(fastPath);
      options.metrics?.addRemoteSources(async () => {
        // A failed read (nft gone, table removed by hand) leaves the kernel's series out of this
        // scrape instead of failing all of /metrics.
        const read = await counts().catch((err: unknown) => {
          this.logger.warn({ err }, 'cannot read the kernel fast path counters');
          return new Map<string, FastPathCounts>();
        });
        return { listeners: this.fastPathSources(read), draining: new Map() };
      });
    }
  }

  /**
   * The kernel's counts as listener sources of the services owning the ports. A refused connect
   * is retried through userspace, which counts the connection again: the kernel counts it only as
   * a connect error and a retry.
   */
  private fastPathSources(counts: Map<string, FastPathCounts>): MeshListenerSource[] {
    const sources: MeshListenerSource[] = [];
    for (const service of this.services.values()) {
      for (const port of service.spec.ports) {
        const c = counts.get(`${port.protocol}/${port.publishedPort}`);
        if (!c) continue;
        const stats = new IngressStats();
        stats.connectionsTotal = c.connections - c.refused;
        stats.connectErrorsTotal = c.refused;
        stats.connectRetriesTotal = c.refused;
        sources.push({
          serviceId: service.id,
          serviceName: service.spec.name,
          protocol: port.protocol,
          publishedPort: port.publishedPort,
          stats,
        });
      }
    }
    return sources;
  }

  /**
   * Creates or updates a service. Ports that appear start listening, ports that disappear stop
   * (their connections drain), everything else is untouched; a repeated identical call changes
   * nothing (except retrying a port that failed to bind). A port that cannot be bound is
   * reported in the result's `listeners[].error` (a MeshListenError) and logged; the others work.
   * Rejects with MeshConfigError (nothing applied) on an invalid spec or a published port
   * another service holds.
   */
  setService(serviceId: string, spec: MeshServiceSpec): Promise<MeshServiceStatus> {
    let normalized: NormalizedServiceSpec;
    try {
      normalized = normalizeServiceSpec(serviceId, spec);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.serialize(async () => {
      for (const [otherId, other] of this.services) {
        if (otherId === serviceId) continue;
        for (const p of other.spec.ports) {
          if (
            normalized.ports.some((q) => q.protocol === p.protocol && q.publishedPort === p.publishedPort)
          ) {
            throw new MeshPortConflictError(serviceId, p.protocol, p.publishedPort, otherId);
          }
        }
      }
      let service = this.services.get(serviceId);
      if (!service) {
        service = new MeshService(serviceId, normalized, this.serviceContext());
        this.services.set(serviceId, service);
        const pending = this.pendingBackends.get(serviceId);
        this.pendingBackends.delete(serviceId);
        if (pending) service.setBackends(pending); // nothing was routed before: nothing to drain
      }
      let listeners = await service.apply(normalized);
      const workers = this.options.workers;
      if (workers) {
        const tcpPorts = normalized.ports.filter((p) => p.protocol === 'tcp');
        this.workerListeners.set(
          serviceId,
          await workers.setService(serviceId, { ...normalized, ports: tcpPorts }),
        );
        listeners = this.withWorkerListeners(serviceId, listeners);
      }
      await this.syncFastPath();
      return { serviceId, name: normalized.name, listeners };
    });
  }

  /**
   * Replaces the backends of a service. Only healthy backends get new connections; a backend
   * no longer listed stops getting new ones at once and its open connections are cut after the
   * service's drain period. The userspace data path follows immediately; the returned promise
   * resolves when the kernel fast path (if any) follows too. Rejects with MeshConfigError
   * (nothing applied) on an invalid list.
   */
  setBackends(serviceId: string, backends: readonly MeshBackend[]): Promise<void> {
    let normalized: MeshBackend[];
    try {
      normalized = normalizeBackends(serviceId, backends);
    } catch (err) {
      return Promise.reject(err);
    }
    if (this.closed) return Promise.reject(new MeshClosedError());
    const forwarded = this.options.workers?.setBackends(serviceId, normalized);
    const service = this.services.get(serviceId);
    if (!service) {
      this.pendingBackends.set(serviceId, normalized);
      return Promise.resolve(forwarded);
    }
    const removed = service.setBackends(normalized);
    this.options.fastPath?.drain(removed, service.spec.drainMs);
    return Promise.all([forwarded, this.serialize(() => this.syncFastPath())]).then(() => {});
  }

  /** Stops every listener of the service now; its open connections drain for its drain period. */
  removeService(serviceId: string): Promise<void> {
    this.pendingBackends.delete(serviceId);
    return this.serialize(async () => {
      const service = this.services.get(serviceId);
      if (!service) {
        await this.options.workers?.removeService(serviceId); // backends they hold for it, if any
        return;
      }
      this.services.delete(serviceId);
      const removed = service.remove();
      this.options.fastPath?.drain(removed, service.spec.drainMs);
      this.workerListeners.delete(serviceId);
      await this.options.workers?.removeService(serviceId);
      await this.syncFastPath();
      this.logger.info({ serviceId, service: service.spec.name }, 'service removed from the mesh');
    });
  }

  status(serviceId: string): MeshServiceStatus | undefined {
    const service = this.services.get(serviceId);
    return (
      service && {
        serviceId,
        name: service.spec.name,
        listeners: this.withWorkerListeners(serviceId, service.status()),
      }
    );
  }

  /** Every listener still open, retiring ones included (for tests and diagnostics). */
  openListeners(): Listener[] {
    const live = [...this.services.values()].flatMap((s) => s.listeners());
    return [...live, ...[...this.retired.values()].map((r) => r.listener)];
  }

  /** Closes every listener, connection, flow and timer, and removes the fast path's rules. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.queue.catch(() => {});
    const closing: Promise<void>[] = [];
    for (const service of this.services.values()) closing.push(service.close());
    this.services.clear();
    this.pendingBackends.clear();
    for (const key of [...this.retired.keys()]) closing.push(this.reclaimPort(key));
    await Promise.all(closing);
    await this.options.workers?.close();
    if (this.options.fastPath) await this.options.fastPath.close();
  }

  /** With workers, the TCP entries of `local` (never bound here) are the workers' listeners. */
  private withWorkerListeners(serviceId: string, local: MeshListenerStatus[]): MeshListenerStatus[] {
    if (!this.options.workers) return local;
    const remote = this.workerListeners.get(serviceId) ?? [];
    return local.map((l) =>
      l.protocol === 'tcp' ? (remote.find((r) => r.publishedPort === l.publishedPort) ?? l) : l,
    );
  }

  private serialize<T>(op: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new MeshClosedError());
    const run = this.queue.then(() => {
      if (this.closed) throw new MeshClosedError();
      return op();
    });
    this.queue = run.catch(() => {});
    return run;
  }

  private serviceContext() {
    const o = this.options;
    return {
      meshAddress: this.meshAddress,
      logger: this.logger,
      metrics: o.metrics,
      connectTimeoutMs: o.connectTimeoutMs ?? 1_000,
      maxConnectAttempts: o.maxConnectAttempts ?? 3,
      udpIdleTimeoutMs: o.udpIdleTimeoutMs ?? 30_000,
      udpMaxFlows: o.udpMaxFlows ?? 4_096,
      roundRobinStart: o.roundRobinStart ?? 0,
      bindTcp: o.workers === undefined,
      exclusive: !o.sharedListeners,
      reclaimPort: (key: string) => this.reclaimPort(key),
      retire: (key: string, listener: Listener, drainMs: number, source: MeshListenerSource) =>
        this.retire(key, listener, drainMs, source),
    };
  }

  private retire(key: string, listener: Listener, drainMs: number, source: MeshListenerSource): void {
    void listener.stopAccepting();
    const timer = setTimeout(() => void this.reclaimPort(key), drainMs);
    timer.unref();
    this.retired.set(key, { listener, source, timer });
  }

  private async reclaimPort(key: string): Promise<void> {
    const retired = this.retired.get(key);
    if (!retired) return;
    this.retired.delete(key);
    clearTimeout(retired.timer);
    this.options.metrics?.untrackListener(retired.source);
    await retired.listener.close();
  }

  private async syncFastPath(): Promise<void> {
    const fastPath = this.options.fastPath;
    if (!fastPath || this.closed) return;
    const routes = fastPathRoutes(this.meshAddress, this.services.values());
    if (JSON.stringify(routes) === JSON.stringify(this.fastPathRoutes)) return;
    try {
      await fastPath.apply(routes);
      this.fastPathRoutes = routes;
    } catch (err) {
      // The userspace listeners still serve every port: the kernel path is only an accelerator.
      this.logger.error({ err }, 'kernel fast path update failed; userspace proxy keeps serving');
    }
  }
}
