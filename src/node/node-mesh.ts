// The routing mesh of one node daemon: a RoutingMesh on the node's mesh address, kept in step with
// an endpoint table — the node's store replica while it is a manager, the dispatcher's Endpoints
// stream while it is a worker (useTable switches on a role change). Every table change becomes
// setService/setBackends/removeService calls, which the mesh applies in call order; a call the mesh
// refuses (e.g. a port another service still holds while ports move between services) is retried
// after the rest of the change. Its metrics go into the registry it is given. With --mesh-workers,
// worker processes serve the TCP ports (src/mesh/mesh-workers.ts).
import { createServer } from 'node:net';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { EndpointChange, EndpointSubscription, EndpointTable } from '../mesh/endpoint-table';
import { meshBackendsOf, meshServiceSpecOf, type ServiceEndpoints } from '../mesh/mesh-endpoints';
import { createMeshMetrics } from '../mesh/mesh-metrics';
import type { LoadBalancing } from '../mesh/mesh-types';
import { MeshWorkers } from '../mesh/mesh-workers';
import { startFastPath } from '../mesh/nft-fast-path';
import { type MeshServiceStatus, RoutingMesh } from '../mesh/routing-mesh';
import type { MeshFastPathMode } from './node-state';

export interface NodeMeshOptions {
  nodeId: string;
  meshAddress: string;
  /** Load balancing of every service on this node (`--mesh-lb`). */
  lb: LoadBalancing;
  /**
   * The kernel fast path (`--mesh-fast-path`): round-robin services routed by nftables. `auto`:
   * when root and nft allow, else the userspace proxy alone; `on`: refuse to start without it.
   */
  fastPath: MeshFastPathMode;
  /** The `nft` binary the fast path runs (default: `nft` on the PATH). */
  nftPath?: string;
  /** Processes serving the TCP ports (`--mesh-workers`); 0: this process. */
  workers: number;
  /** The daemon's log file, where the mesh workers log too (default: stderr). */
  logFile?: string;
  registry?: Registry;
  logger: Logger;
}

/** The mesh address is not one this host can listen on. */
export class MeshAddressError extends Error {
  override name = 'MeshAddressError';
}

/** Binds and releases a port on `address`: a typo'd or foreign --mesh-addr fails here, once, clearly. */
async function checkBindable(address: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const server = createServer();
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        new MeshAddressError(
          `the mesh address ${address} cannot be listened on (${err.code ?? err.message}): give --mesh-addr an address of this host (the default is the advertise host)`,
          { cause: err },
        ),
      ),
    );
    server.listen({ host: address, port: 0 }, () => server.close(() => resolve()));
  });
}

const BIND_RETRY_MIN_MS = 1_000;
const BIND_RETRY_MAX_MS = 30_000;

export class NodeMesh {
  readonly mesh: RoutingMesh;
  private readonly logger: Logger;
  private readonly lb: LoadBalancing;
  /** Processes serving the TCP ports; 0: this one. */
  readonly workerCount: number;
  /** What the mesh was last told, per service. */
  private readonly applied = new Map<string, ServiceEndpoints>();
  private subscription: EndpointSubscription | undefined;
  /** Services with a published port that did not bind: the next attempt, per service. */
  private readonly bindRetries = new Map<string, { delayMs: number; timer: NodeJS.Timeout | undefined }>();
  private table: EndpointTable | undefined;
  private closed = false;

  private constructor(
    mesh: RoutingMesh,
    options: NodeMeshOptions,
    /** `on`, `off`, or `unavailable: <why>` (for `orch info`). */
    readonly fastPathState: string,
  ) {
    this.mesh = mesh;
    this.lb = options.lb;
    this.workerCount = options.workers;
    this.logger = options.logger.child({ module: 'node-mesh' });
  }

  static async start(options: NodeMeshOptions): Promise<NodeMesh> {
    await checkBindable(options.meshAddress);
    const { fastPath, state: fastPathState } = await startFastPath(options.fastPath, {
      meshAddress: options.meshAddress,
      logger: options.logger,
      nftPath: options.nftPath,
    });
    // Forked when the first TCP port is published: a node that publishes nothing runs none.
    const workers =
      options.workers > 0
        ? new MeshWorkers({
            count: options.workers,
            config: {
              meshAddress: options.meshAddress,
              logLevel: options.logger.level,
              logFile: options.logFile,
              nodeId: options.nodeId,
            },
            logger: options.logger,
          })
        : undefined;
    const mesh = new RoutingMesh({
      meshAddress: options.meshAddress,
      logger: options.logger,
      metrics: options.registry ? createMeshMetrics(options.registry) : undefined,
      fastPath,
      workers,
    });
    options.logger.info(
      {
        meshAddress: options.meshAddress,
        lb: options.lb,
        fastPath: fastPathState,
        workers: options.workers,
      },
      'routing mesh started',
    );
    return new NodeMesh(mesh, options, fastPathState);
  }

  /** The table the mesh follows (or last followed). */
  get lastTable(): EndpointTable | undefined {
    return this.table;
  }

  /** Follows `table` from now on (its complete table replaces whatever the mesh had). */
  useTable(table: EndpointTable): void {
    if (this.closed || table === this.table) return;
    this.subscription?.close();
    this.table = table;
    this.subscription = table.subscribe((change) => void this.apply(change));
  }

  /** The services the mesh serves now, with each listener's state. */
  status(): MeshServiceStatus[] {
    return [...this.applied.keys()]
      .map((id) => this.mesh.status(id))
      .filter((s): s is MeshServiceStatus => s !== undefined);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const retry of this.bindRetries.values()) clearTimeout(retry.timer);
    this.bindRetries.clear();
    this.subscription?.close();
    this.subscription = undefined;
    await this.mesh.close();
  }

  private async apply(change: EndpointChange): Promise<void> {
    const removed = [...change.removed];
    if (change.complete) {
      const present = new Set(change.updated.map((e) => e.serviceId));
      for (const id of this.applied.keys()) if (!present.has(id)) removed.push(id);
    }
    const work: Promise<unknown>[] = [];
    for (const id of removed) {
      this.applied.delete(id);
      work.push(this.mesh.removeService(id).catch((err: unknown) => this.failed(id, 'remove', err)));
    }
    const refused: ServiceEndpoints[] = [];
    for (const entry of change.updated) {
      this.applied.set(entry.serviceId, entry);
      work.push(this.set(entry).catch(() => refused.push(entry)));
    }
    await Promise.all(work);
    // A port released by another service of the same change is free now.
    for (const entry of refused) {
      if (this.closed || this.applied.get(entry.serviceId) !== entry) continue;
      await this.set(entry).catch((err: unknown) => this.failed(entry.serviceId, 'set', err));
    }
  }

  private async set(entry: ServiceEndpoints): Promise<void> {
    const status = await this.mesh.setService(entry.serviceId, meshServiceSpecOf(entry, this.lb));
    await this.mesh.setBackends(entry.serviceId, meshBackendsOf(entry));
    const unbound = status.listeners.filter((l) => l.error);
    for (const listener of unbound) {
      this.logger.warn(
        {
          service: entry.name,
          port: `${listener.protocol}/${listener.publishedPort}`,
          err: listener.error!.message,
        },
        'published port not listening; trying again',
      );
    }
    if (unbound.length > 0) this.retryBind(entry);
    else this.bindRetries.delete(entry.serviceId);
    this.logger.debug({ service: entry.name, backends: entry.backends.length }, 'mesh service updated');
  }

  /**
   * A port that could not be bound (still held by a process that is going away, such as the mesh
   * workers of a daemon killed a moment ago) is tried again, 1 s after the first failure and then
   * up to every 30 s, for as long as the service is in the table; a table change also tries at once.
   */
  private retryBind(entry: ServiceEndpoints): void {
    const previous = this.bindRetries.get(entry.serviceId);
    if (previous?.timer) return;
    const delayMs = Math.min(BIND_RETRY_MAX_MS, previous ? previous.delayMs * 2 : BIND_RETRY_MIN_MS);
    const retry = { delayMs, timer: undefined as NodeJS.Timeout | undefined };
    retry.timer = setTimeout(() => {
      retry.timer = undefined;
      const current = this.applied.get(entry.serviceId);
      if (this.closed || !current) return;
      void this.set(current).catch((err: unknown) => this.failed(entry.serviceId, 'set', err));
    }, delayMs);
    retry.timer.unref();
    this.bindRetries.set(entry.serviceId, retry);
  }

  private failed(serviceId: string, what: string, err: unknown): void {
    if (this.closed) return;
    this.logger.warn({ service: serviceId, err: (err as Error).message }, `mesh ${what} failed`);
  }
}
