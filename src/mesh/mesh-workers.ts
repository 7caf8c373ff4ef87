// The routing mesh's TCP data plane spread over worker processes (`--mesh-workers`), so that the
// proxy uses every core and relaying never runs on the event loop of the node's control plane.
// Each worker runs its own RoutingMesh over the node's TCP ingress ports; every worker accepts from
// the same listening socket, which node:cluster's primary (the daemon) binds once and shares
// (SCHED_NONE: the kernel hands each new connection to one waiting worker; the daemon itself
// accepts none). The daemon's RoutingMesh stays the source of truth: it validates every update,
// checks port conflicts, runs UDP and the nftables fast path, and forwards each TCP update here,
// which sends it to every worker in call order and keeps the whole desired state so that a worker
// that dies is replaced and brought up to date. Metrics are pulled from the workers when scraped.
import cluster, { type Worker } from 'node:cluster';
import { availableParallelism } from 'node:os';
import type { Logger } from 'pino';
import { IngressStats } from './ingress-stats';
import { MeshListenError } from './mesh-errors';
import type { MeshListenerSource } from './mesh-metrics';
import type { MeshListenerStatus } from './mesh-service';
import type { MeshBackend, MeshProtocol } from './mesh-types';
import type { NormalizedServiceSpec } from './mesh-validate';

/** What the daemon asks a worker; each is applied to the worker's RoutingMesh in arrival order. */
export type MeshWorkerRequest =
  | { op: 'setService'; serviceId: string; spec: NormalizedServiceSpec }
  | { op: 'setBackends'; serviceId: string; backends: MeshBackend[] }
  | { op: 'removeService'; serviceId: string }
  | { op: 'stats' }
  | { op: 'close' };

/** A listener's status as it crosses the IPC channel (errors as code and message). */
export interface WireListenerStatus extends Omit<MeshListenerStatus, 'error'> {
  /** Why the port is not listening: the errno code and the bind error's own message. */
  error?: { code?: string; reason: string };
}

/** One listener's counters in one worker (bytes include open connections). */
export interface WorkerListenerStats {
  serviceId: string;
  serviceName: string;
  protocol: MeshProtocol;
  publishedPort: number;
  connectionsTotal: number;
  rejectedTotal: number;
  connectErrorsTotal: number;
  connectRetriesTotal: number;
  active: number;
  bytesIn: number;
  bytesOut: number;
}

export interface WorkerStats {
  listeners: WorkerListenerStats[];
  /** Backends still draining, per service. */
  draining: Record<string, number>;
}

export interface MeshWorkerEnvelope {
  orchMeshWorker: 1;
  id: number;
  request: MeshWorkerRequest;
}

export interface MeshWorkerReply {
  orchMeshWorker: 1;
  id: number;
  ok: boolean;
  result?: unknown;
  error?: string;
}

/** The worker's settings, passed in its environment as JSON. */
export interface MeshWorkerConfig {
  meshAddress: string;
  /** This worker's number, 0 to count - 1 (a replacement takes the dead worker's). */
  index?: number;
  connectTimeoutMs?: number;
  maxConnectAttempts?: number;
  logLevel?: string;
  /** Where the worker logs (the daemon's log file); default: stderr. */
  logFile?: string;
  nodeId?: string;
}

export const MESH_WORKER_CONFIG_ENV = 'ORCH_MESH_WORKER';

export interface MeshWorkersOptions {
  /** Worker processes (>= 1). */
  count: number;
  config: MeshWorkerConfig;
  logger: Logger;
  /** The worker entry script; default: mesh-worker-main next to this file. */
  script?: string;
  /** Node options of the workers (tests run the TypeScript entry through a loader). */
  execArgv?: string[];
  /** An unanswered request counts as lost after this long. Default 10 000 ms. */
  requestTimeoutMs?: number;
}

/** `--mesh-workers auto`: one per core, at most 8; none on a single core (the daemon serves). */
export function autoMeshWorkers(cores = availableParallelism()): number {
  return cores <= 1 ? 0 : Math.min(cores, 8);
}

const RESTART_MIN_MS = 100;
const RESTART_MAX_MS = 5_000;
/** A worker that lived this long resets the restart back-off. */
const STABLE_MS = 30_000;

interface Pending {
  resolve: (reply: MeshWorkerReply | undefined) => void;
  timer: NodeJS.Timeout;
}

class WorkerHandle {
  readonly pending = new Map<number, Pending>();
  readonly startedAtMs = Date.now();
  exited = false;

  constructor(
    readonly worker: Worker,
    readonly index: number,
  ) {}
}

/** One desired service as every worker must have it. */
interface DesiredService {
  spec: NormalizedServiceSpec | undefined;
  backends: MeshBackend[] | undefined;
}

export class MeshWorkers {
  private readonly options: MeshWorkersOptions;
  private readonly logger: Logger;
  private readonly workers: WorkerHandle[] = [];
  /** Insertion order is the order the daemon created them in; replayed as is. */
  private readonly desired = new Map<string, DesiredService>();
  private nextId = 1;
  private started = false;
  private closed = false;
  private restartDelayMs = RESTART_MIN_MS;
  private readonly restartTimers = new Set<NodeJS.Timeout>();

  constructor(options: MeshWorkersOptions) {
    if (!Number.isInteger(options.count) || options.count < 1) {
      throw new RangeError(`mesh workers: count must be a positive integer, got ${options.count}`);
    }
    this.options = options;
    this.logger = options.logger.child({ module: 'mesh-workers' });
  }

  /** Live worker processes (for status and tests). */
  get pids(): number[] {
    return this.workers
      .filter((w) => !w.exited)
      .flatMap((w) => (w.worker.process.pid ? [w.worker.process.pid] : []));
  }

  get count(): number {
    return this.options.count;
  }

  /**
   * Sends a service's TCP ports to every worker (starting them on the first service that has
   * any). Resolves with the listener statuses of one worker (all bind the same shared socket).
   */
  async setService(serviceId: string, spec: NormalizedServiceSpec): Promise<MeshListenerStatus[]> {
    const entry = this.entry(serviceId);
    entry.spec = spec;
    if (!this.started && spec.ports.length > 0) this.start();
    const replies = await this.broadcast({ op: 'setService', serviceId, spec });
    const statuses = replies.find((r) => r?.ok)?.result as WireListenerStatus[] | undefined;
    return (statuses ?? spec.ports.map((p) => this.unanswered(p.publishedPort, p.targetPort))).map((s) =>
      fromWire(s),
    );
  }

  async setBackends(serviceId: string, backends: MeshBackend[]): Promise<void> {
    this.entry(serviceId).backends = backends;
    await this.broadcast({ op: 'setBackends', serviceId, backends });
  }

  async removeService(serviceId: string): Promise<void> {
    this.desired.delete(serviceId);
    await this.broadcast({ op: 'removeService', serviceId });
  }

  /** Every worker's counters (a worker that does not answer within a second is left out). */
  async stats(): Promise<WorkerStats[]> {
    const replies = await this.broadcast({ op: 'stats' }, 1_000);
    return replies.flatMap((r) => (r?.ok ? [r.result as WorkerStats] : []));
  }

  /** The workers' listeners summed per published port, for MeshMetrics.setRemoteSources. */
  async metricsSources(): Promise<{ listeners: MeshListenerSource[]; draining: Map<string, number> }> {
    const bySource = new Map<string, MeshListenerSource>();
    const draining = new Map<string, number>();
    for (const worker of await this.stats()) {
      for (const l of worker.listeners) {
        const key = `${l.serviceId}/${l.protocol}/${l.publishedPort}`;
        let source = bySource.get(key);
        if (!source) {
          const { serviceId, serviceName, protocol, publishedPort } = l;
          source = { serviceId, serviceName, protocol, publishedPort, stats: new IngressStats() };
          bySource.set(key, source);
        }
        const s = source.stats;
        s.connectionsTotal += l.connectionsTotal;
        s.rejectedTotal += l.rejectedTotal;
        s.connectErrorsTotal += l.connectErrorsTotal;
        s.connectRetriesTotal += l.connectRetriesTotal;
        s.active += l.active;
        s.bytesInClosed += l.bytesIn;
        s.bytesOutClosed += l.bytesOut;
      }
      for (const [serviceId, n] of Object.entries(worker.draining)) {
        draining.set(serviceId, Math.max(draining.get(serviceId) ?? 0, n));
      }
    }
    return { listeners: [...bySource.values()], draining };
  }

  /** Stops every worker: their listeners close and their connections are cut. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.restartTimers) clearTimeout(t);
    this.restartTimers.clear();
    await Promise.all(
      this.workers.map(async (handle) => {
        if (handle.exited) return;
        const exited = new Promise<void>((resolve) => handle.worker.once('exit', () => resolve()));
        await this.request(handle, { op: 'close' }, 2_000);
        const killer = setTimeout(() => handle.worker.process.kill('SIGKILL'), 2_000);
        await exited;
        clearTimeout(killer);
      }),
    );
    this.workers.length = 0;
  }

  private entry(serviceId: string): DesiredService {
    let entry = this.desired.get(serviceId);
    if (!entry) {
      entry = { spec: undefined, backends: undefined };
      this.desired.set(serviceId, entry);
    }
    return entry;
  }

  private start(): void {
    this.started = true;
    // The daemon binds each port once and every worker accepts on it; the kernel picks the worker.
    cluster.schedulingPolicy = cluster.SCHED_NONE;
    for (let i = 0; i < this.options.count; i++) this.fork(i);
    this.logger.info({ workers: this.options.count }, 'mesh workers started');
  }

  private fork(index: number): void {
    cluster.setupPrimary({
      exec: this.options.script ?? require.resolve('./mesh-worker-main'),
      execArgv: this.options.execArgv ?? [],
      args: [],
    });
    const config: MeshWorkerConfig = { ...this.options.config, index };
    const worker = cluster.fork({ [MESH_WORKER_CONFIG_ENV]: JSON.stringify(config) });
    const handle = new WorkerHandle(worker, index);
    this.workers.push(handle);
    worker.on('message', (message: MeshWorkerReply) => this.onReply(handle, message));
    worker.on('error', (err) => this.logger.warn({ err, pid: worker.process.pid }, 'mesh worker IPC error'));
    worker.once('exit', (code, signal) => this.onExit(handle, code, signal));
    // IPC keeps order: the worker learns the whole state before any later update.
    for (const [serviceId, entry] of this.desired) {
      if (entry.spec) void this.request(handle, { op: 'setService', serviceId, spec: entry.spec });
      if (entry.backends)
        void this.request(handle, { op: 'setBackends', serviceId, backends: entry.backends });
    }
  }

  private onExit(handle: WorkerHandle, code: number | null, signal: string | null): void {
    handle.exited = true;
    for (const p of handle.pending.values()) {
      clearTimeout(p.timer);
      p.resolve(undefined);
    }
    handle.pending.clear();
    const index = this.workers.indexOf(handle);
    if (index >= 0) this.workers.splice(index, 1);
    if (this.closed) return;
    const lived = Date.now() - handle.startedAtMs;
    if (lived >= STABLE_MS) this.restartDelayMs = RESTART_MIN_MS;
    const delay = this.restartDelayMs;
    this.restartDelayMs = Math.min(RESTART_MAX_MS, this.restartDelayMs * 2);
    this.logger.error(
      { pid: handle.worker.process.pid, code, signal, restartInMs: delay },
      'mesh worker exited; starting another',
    );
    const timer = setTimeout(() => {
      this.restartTimers.delete(timer);
      if (!this.closed) this.fork(handle.index);
    }, delay);
    this.restartTimers.add(timer);
  }

  private onReply(handle: WorkerHandle, message: MeshWorkerReply): void {
    if (message?.orchMeshWorker !== 1) return;
    const pending = handle.pending.get(message.id);
    if (!pending) return;
    handle.pending.delete(message.id);
    clearTimeout(pending.timer);
    if (!message.ok) {
      this.logger.warn(
        { pid: handle.worker.process.pid, err: message.error },
        'mesh worker refused an update',
      );
    }
    pending.resolve(message);
  }

  private broadcast(
    request: MeshWorkerRequest,
    timeoutMs?: number,
  ): Promise<(MeshWorkerReply | undefined)[]> {
    if (this.closed) return Promise.resolve([]);
    return Promise.all(this.workers.map((w) => this.request(w, request, timeoutMs)));
  }

  /** Sends one request; resolves with the reply, or undefined when the worker died or timed out. */
  private request(
    handle: WorkerHandle,
    request: MeshWorkerRequest,
    timeoutMs = this.options.requestTimeoutMs ?? 10_000,
  ): Promise<MeshWorkerReply | undefined> {
    if (handle.exited) return Promise.resolve(undefined);
    const id = this.nextId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        handle.pending.delete(id);
        this.logger.warn({ pid: handle.worker.process.pid, op: request.op }, 'mesh worker did not answer');
        resolve(undefined);
      }, timeoutMs);
      timer.unref();
      handle.pending.set(id, { resolve, timer });
      const envelope: MeshWorkerEnvelope = { orchMeshWorker: 1, id, request };
      handle.worker.send(envelope, (err: Error | null) => {
        if (!err) return;
        handle.pending.delete(id);
        clearTimeout(timer);
        resolve(undefined);
      });
    });
  }

  private unanswered(publishedPort: number, targetPort: number): WireListenerStatus {
    return {
      protocol: 'tcp',
      publishedPort,
      targetPort,
      address: this.options.config.meshAddress,
      listening: false,
      error: { reason: 'no mesh worker answered' },
    };
  }
}

export function toWireStatus(status: MeshListenerStatus): WireListenerStatus {
  const { error, ...rest } = status;
  if (!error) return rest;
  const reason = error.cause instanceof Error ? error.cause.message : error.message;
  return { ...rest, error: { code: error.code, reason } };
}

function fromWire(status: WireListenerStatus): MeshListenerStatus {
  const { error, ...rest } = status;
  if (!error) return rest;
  const cause = new Error(error.reason);
  return {
    ...rest,
    error: new MeshListenError(rest.protocol, rest.address, rest.publishedPort, error.code, { cause }),
  };
}
