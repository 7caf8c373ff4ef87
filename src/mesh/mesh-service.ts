// One service as the mesh on this node runs it: its normalized spec, its pool of backends and
// one listener per published port. It applies spec changes as a diff (listeners open and close
// only as ports appear and disappear) and retires listeners gracefully: a retired listener
// stops accepting at once and its connections are cut when the drain period ends.
import type { Logger } from 'pino';
import { BackendPool, type PooledBackend } from './backend-pool';
import type { IngressRoute } from './ingress-route';
import { MeshListenError } from './mesh-errors';
import type { MeshListenerSource, MeshMetrics } from './mesh-metrics';
import { backendEndpoint, type MeshBackend, type MeshPort, portKey } from './mesh-types';
import type { NormalizedServiceSpec } from './mesh-validate';
import type { FastPathEndpoint } from './nft-fast-path';
import { TcpIngress } from './tcp-ingress';
import { UdpIngress } from './udp-ingress';

export interface MeshServiceContext {
  meshAddress: string;
  logger: Logger;
  metrics: MeshMetrics | undefined;
  connectTimeoutMs: number;
  maxConnectAttempts: number;
  udpIdleTimeoutMs: number;
  udpMaxFlows: number;
  /** Where each service's round-robin starts (see BackendPoolOptions.startAt). */
  roundRobinStart: number;
  /** False when mesh workers serve the TCP ports: this process binds only UDP ones. */
  bindTcp: boolean;
  /** Bind exclusively (false in a mesh worker: the daemon shares the listening sockets). */
  exclusive: boolean;
  /** A listener being retired still holds `protocol/port`: close it now so the port can be reused. */
  reclaimPort(key: string): Promise<void>;
  /** Hands over a listener that must keep serving its open connections for `drainMs`. */
  retire(key: string, listener: Listener, drainMs: number, source: MeshListenerSource): void;
}

export type Listener = TcpIngress | UdpIngress;

export interface MeshListenerStatus {
  protocol: 'tcp' | 'udp';
  publishedPort: number;
  targetPort: number;
  address: string;
  listening: boolean;
  error?: MeshListenError;
}

class PortRoute implements IngressRoute {
  constructor(
    private readonly service: MeshService,
    public port: MeshPort,
  ) {}

  get serviceId(): string {
    return this.service.id;
  }

  get serviceName(): string {
    return this.service.spec.name;
  }

  get pool(): BackendPool {
    return this.service.pool;
  }

  endpointOf(backend: PooledBackend): { address: string; port: number } {
    return backendEndpoint(backend.backend, this.port, this.service.targetPortCount);
  }
}

interface PortEntry {
  route: PortRoute;
  listener: Listener | undefined;
  error: MeshListenError | undefined;
  source: MeshListenerSource | undefined;
}

export class MeshService {
  readonly pool: BackendPool;
  /** Number of distinct target ports; a backend's single `port` is only used when this is 1. */
  targetPortCount = 0;
  private readonly ports = new Map<string, PortEntry>();
  private readonly metricsSource;

  constructor(
    readonly id: string,
    public spec: NormalizedServiceSpec,
    private readonly context: MeshServiceContext,
  ) {
    this.pool = new BackendPool({
      lb: spec.lb,
      drainMs: spec.drainMs,
      startAt: context.roundRobinStart,
      onDrained: (b, forced) =>
        this.logger.info({ task: b.taskId, cutConnections: forced }, 'backend drained'),
    });
    this.metricsSource = { serviceId: id, serviceName: spec.name, pool: this.pool };
    context.metrics?.trackService(this.metricsSource);
  }

  private get logger(): Logger {
    return this.context.logger.child({ service: this.spec.name, serviceId: this.id });
  }

  /** Applies `spec` as a diff of the current one. Resolves when every new listener bound or failed. */
  async apply(spec: NormalizedServiceSpec): Promise<MeshListenerStatus[]> {
    this.spec = spec;
    this.metricsSource.serviceName = spec.name;
    this.pool.configure(spec.lb, spec.drainMs);
    this.targetPortCount = new Set(spec.ports.map((p) => p.targetPort)).size;
    const wanted = new Map(spec.ports.map((p) => [portKey(p.protocol, p.publishedPort), p]));

    for (const [key, entry] of this.ports) {
      if (wanted.has(key)) continue;
      this.ports.delete(key);
      this.retireEntry(key, entry);
    }
    const binds: Promise<void>[] = [];
    for (const [key, port] of wanted) {
      const entry = this.ports.get(key);
      if (entry) {
        entry.route.port = port;
        if (entry.source) entry.source.serviceName = spec.name;
        if (!entry.listener) binds.push(this.bind(key, entry)); // retry a port that failed to bind
        continue;
      }
      const created: PortEntry = {
        route: new PortRoute(this, port),
        listener: undefined,
        error: undefined,
        source: undefined,
      };
      this.ports.set(key, created);
      binds.push(this.bind(key, created));
    }
    await Promise.all(binds);
    return this.status();
  }

  /** Where `backend` serves `port` (the kernel fast path builds its maps with this). */
  endpointFor(backend: PooledBackend, port: MeshPort): { address: string; port: number } {
    return backendEndpoint(backend.backend, port, this.targetPortCount);
  }

  /** Replaces the backends; returns the endpoints (per published port) of the ones that left. */
  setBackends(backends: MeshBackend[]): FastPathEndpoint[] {
    const { removedBackends, ...diff } = this.pool.update(backends);
    if (diff.added || diff.removed || diff.changed) {
      this.logger.debug({ ...diff, backends: backends.length }, 'backends updated');
    }
    return this.endpointsOf(removedBackends);
  }

  private endpointsOf(backends: PooledBackend[]): FastPathEndpoint[] {
    return backends.flatMap((b) =>
      this.spec.ports.map((port) => ({ protocol: port.protocol, ...this.endpointFor(b, port) })),
    );
  }

  status(): MeshListenerStatus[] {
    return [...this.ports.values()].map(({ route, listener, error }) => ({
      protocol: route.port.protocol,
      publishedPort: route.port.publishedPort,
      targetPort: route.port.targetPort,
      address: this.context.meshAddress,
      listening: listener?.listening ?? false,
      ...(error ? { error } : {}),
    }));
  }

  listeners(): Listener[] {
    return [...this.ports.values()].flatMap((e) => (e.listener ? [e.listener] : []));
  }

  /**
   * The service goes away: listeners stop accepting now, open connections drain.
   * Returns the endpoints of its backends (for the kernel fast path's own drain).
   */
  remove(): FastPathEndpoint[] {
    for (const [key, entry] of this.ports) this.retireEntry(key, entry);
    const endpoints = this.endpointsOf(this.pool.drainAll());
    this.ports.clear();
    this.context.metrics?.untrackService(this.metricsSource);
    return endpoints;
  }

  /** Cuts everything now. */
  async close(): Promise<void> {
    const closing = [...this.ports.values()].map((e) => e.listener?.close());
    for (const e of this.ports.values()) if (e.source) this.context.metrics?.untrackListener(e.source);
    this.ports.clear();
    this.pool.close();
    this.context.metrics?.untrackService(this.metricsSource);
    await Promise.all(closing);
  }

  private retireEntry(key: string, entry: PortEntry): void {
    if (!entry.listener || !entry.source) return;
    this.context.retire(key, entry.listener, this.spec.drainMs, entry.source);
    entry.listener = undefined;
  }

  private async bind(key: string, entry: PortEntry): Promise<void> {
    const { context } = this;
    const port = entry.route.port;
    if (port.protocol === 'tcp' && !context.bindTcp) return;
    await context.reclaimPort(key);
    const options = {
      exclusive: context.exclusive,
      address: context.meshAddress,
      port: port.publishedPort,
      route: entry.route,
      logger: context.logger.child({ service: this.spec.name, port: key }),
      maxConnectAttempts: context.maxConnectAttempts,
    };
    const listener: Listener =
      port.protocol === 'tcp'
        ? new TcpIngress({ ...options, connectTimeoutMs: context.connectTimeoutMs })
        : new UdpIngress({
            ...options,
            idleTimeoutMs: context.udpIdleTimeoutMs,
            maxFlows: context.udpMaxFlows,
          });
    try {
      await listener.listen();
    } catch (err) {
      await listener.close();
      const error =
        err instanceof MeshListenError
          ? err
          : new MeshListenError(port.protocol, context.meshAddress, port.publishedPort, undefined, {
              cause: err,
            });
      if (this.ports.get(key) === entry) entry.error = error;
      this.logger.error({ err: error, code: error.code }, error.message);
      return;
    }
    if (this.ports.get(key) !== entry) {
      // The port was removed (or the service closed) while binding.
      await listener.close();
      return;
    }
    entry.listener = listener;
    entry.error = undefined;
    entry.source = {
      serviceId: this.id,
      serviceName: this.spec.name,
      protocol: port.protocol,
      publishedPort: port.publishedPort,
      stats: listener.stats,
    };
    context.metrics?.trackListener(entry.source);
    this.logger.info({ address: context.meshAddress, port: key }, 'published port listening');
  }
}
