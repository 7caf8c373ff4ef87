// The backends of one service on this node: which ones may take new connections, which are
// draining, how many connections each holds, and the load-balancing choice among them. A backend
// that just failed a connection (refused it, or accepted it and closed it without a byte) is set
// aside for a short while — a passive check that hides a dead task in the moments before the
// control plane removes it — unless every backend is set aside.
// It owns the drain timers and the set of open connections/flows per backend so that a drained
// backend's traffic can be cut when the grace period ends. It never touches sockets itself:
// connections are registered as `MeshConnection`s that it can only `destroy()`.
import type { LoadBalancing, MeshBackend } from './mesh-types';

/** An open TCP connection or UDP flow that the pool may cut when its backend's drain ends. */
export interface MeshConnection {
  destroy(): void;
}

export type BackendState = 'active' | 'draining';

export class PooledBackend {
  /** Open connections and flows to this backend (what `active` counts). */
  readonly connections = new Set<MeshConnection>();
  state: BackendState = 'active';
  drainTimer: NodeJS.Timeout | undefined;
  /** Until then (ms, the pool's clock) new connections go elsewhere if any other backend can take them. */
  setAsideUntilMs = 0;

  constructor(public backend: MeshBackend) {}

  get taskId(): string {
    return this.backend.taskId;
  }

  get active(): number {
    return this.connections.size;
  }

  /** May take new connections. */
  get selectable(): boolean {
    return this.state === 'active' && this.backend.healthy;
  }
}

export interface BackendPoolOptions {
  lb: LoadBalancing;
  drainMs: number;
  /** Called when a draining backend is gone for good (closed or empty). */
  onDrained?: (backend: PooledBackend, forced: number) => void;
  /** How long a backend that failed a connection is passed over. Default 2000; 0 turns it off. */
  setAsideMs?: number;
  /** Clock for the set-aside period (default Date.now). */
  now?: () => number;
  /**
   * Where round-robin starts among the first backends (default 0). Mesh workers each start at
   * their own index, so that a few connections spread over the backends instead of every worker
   * sending its first one to the same backend.
   */
  startAt?: number;
}

export const DEFAULT_SET_ASIDE_MS = 2_000;

export interface BackendPoolDiff {
  added: number;
  removed: number;
  changed: number;
  /** The backends that left (now draining or already gone). */
  removedBackends: PooledBackend[];
}

function sameEndpoint(a: MeshBackend, b: MeshBackend): boolean {
  if (a.address !== b.address || a.port !== b.port) return false;
  const pa = a.ports ?? [];
  const pb = b.ports ?? [];
  if (pa.length !== pb.length) return false;
  return pa.every((p, i) => {
    const q = pb[i]!;
    return p.protocol === q.protocol && p.targetPort === q.targetPort && p.port === q.port;
  });
}

export class BackendPool {
  private lb: LoadBalancing;
  private drainMs: number;
  private readonly onDrained: BackendPoolOptions['onDrained'];
  /** Current backends by task id, in the order given by the last update. */
  private readonly current = new Map<string, PooledBackend>();
  private readonly draining = new Set<PooledBackend>();
  /** Selectable backends, rebuilt on every change; the round-robin cursor walks it. */
  private candidates: PooledBackend[] = [];
  private cursor = 0;
  private closed = false;
  private readonly setAsideMs: number;
  private readonly now: () => number;

  constructor(options: BackendPoolOptions) {
    this.lb = options.lb;
    this.drainMs = options.drainMs;
    this.onDrained = options.onDrained;
    this.setAsideMs = options.setAsideMs ?? DEFAULT_SET_ASIDE_MS;
    this.now = options.now ?? Date.now;
    this.cursor = options.startAt ?? 0;
  }

  /**
   * A connection to `backend` failed: it refused, timed out, or closed before sending a byte while
   * the client was still there. New connections pass it over for the set-aside period.
   */
  reportFailure(backend: PooledBackend): void {
    if (this.setAsideMs > 0) backend.setAsideUntilMs = this.now() + this.setAsideMs;
  }

  /** The backend answered: it is taken again at once. */
  reportSuccess(backend: PooledBackend): void {
    backend.setAsideUntilMs = 0;
  }

  configure(lb: LoadBalancing, drainMs: number): void {
    this.lb = lb;
    this.drainMs = drainMs;
  }

  /** Replaces the backend set. Missing backends start draining; identical input changes nothing. */
  update(backends: readonly MeshBackend[]): BackendPoolDiff {
    const diff: BackendPoolDiff = { added: 0, removed: 0, changed: 0, removedBackends: [] };
    const next = new Map<string, MeshBackend>();
    for (const b of backends) next.set(b.taskId, b);

    for (const [taskId, pooled] of this.current) {
      const wanted = next.get(taskId);
      if (!wanted || !sameEndpoint(wanted, pooled.backend)) {
        this.current.delete(taskId);
        this.startDrain(pooled);
        diff.removed++;
        diff.removedBackends.push(pooled);
      }
    }
    for (const [taskId, wanted] of next) {
      const pooled = this.current.get(taskId);
      if (pooled) {
        if (pooled.backend.healthy !== wanted.healthy) diff.changed++;
        pooled.backend = wanted;
        continue;
      }
      const revived = this.findDraining(wanted);
      if (revived) {
        this.stopDrain(revived);
        revived.backend = wanted;
        this.current.set(taskId, revived);
      } else {
        this.current.set(taskId, new PooledBackend(wanted));
      }
      diff.added++;
    }
    // Map order is insertion order: rebuild so that it follows the caller's order.
    const ordered = backends
      .map((b) => this.current.get(b.taskId)!)
      .filter((b, i, all) => all.indexOf(b) === i);
    this.current.clear();
    for (const b of ordered) this.current.set(b.taskId, b);
    this.rebuildCandidates();
    return diff;
  }

  /**
   * The backend for a new connection, or undefined when none is selectable.
   * `exclude` holds backends that already failed for this connection (retry after refusal).
   */
  pick(exclude?: ReadonlySet<PooledBackend>): PooledBackend | undefined {
    if (this.candidates.length === 0) return undefined;
    const now = this.now();
    // Backends set aside are passed over while another can take the connection.
    return this.pickAmong(exclude, (b) => b.setAsideUntilMs <= now) ?? this.pickAmong(exclude, () => true);
  }

  private pickAmong(
    exclude: ReadonlySet<PooledBackend> | undefined,
    eligible: (backend: PooledBackend) => boolean,
  ): PooledBackend | undefined {
    const list = this.candidates;
    const n = list.length;
    if (this.lb === 'least-connections') {
      let best: PooledBackend | undefined;
      let bestIndex = 0;
      // Start at the cursor so that equally loaded backends take turns.
      for (let i = 0; i < n; i++) {
        const index = (this.cursor + i) % n;
        const b = list[index]!;
        if (exclude?.has(b) || !eligible(b)) continue;
        if (!best || b.active < best.active) {
          best = b;
          bestIndex = index;
        }
      }
      if (best) this.cursor = (bestIndex + 1) % n;
      return best;
    }
    for (let i = 0; i < n; i++) {
      const index = (this.cursor + i) % n;
      const b = list[index]!;
      if (exclude?.has(b) || !eligible(b)) continue;
      this.cursor = (index + 1) % n;
      return b;
    }
    return undefined;
  }

  /** Selectable backends in order (what the kernel fast path puts in its map). */
  selectable(): readonly PooledBackend[] {
    return this.candidates;
  }

  all(): PooledBackend[] {
    return [...this.current.values(), ...this.draining];
  }

  get size(): number {
    return this.current.size;
  }

  get drainingCount(): number {
    return this.draining.size;
  }

  attach(backend: PooledBackend, connection: MeshConnection): void {
    backend.connections.add(connection);
  }

  detach(backend: PooledBackend, connection: MeshConnection): void {
    if (!backend.connections.delete(connection)) return;
    if (backend.state === 'draining' && backend.connections.size === 0) this.finishDrain(backend, 0);
  }

  /** Every backend starts draining (the service was removed); timers do the rest. */
  drainAll(): PooledBackend[] {
    const removed = [...this.current.values()];
    for (const pooled of removed) this.startDrain(pooled);
    this.current.clear();
    this.rebuildCandidates();
    return removed;
  }

  /** Cuts every connection now and clears every timer. */
  close(): void {
    this.closed = true;
    for (const pooled of [...this.current.values(), ...this.draining]) {
      if (pooled.drainTimer) clearTimeout(pooled.drainTimer);
      pooled.drainTimer = undefined;
      for (const c of [...pooled.connections]) c.destroy();
      pooled.connections.clear();
    }
    this.current.clear();
    this.draining.clear();
    this.candidates = [];
  }

  private rebuildCandidates(): void {
    this.candidates = [...this.current.values()].filter((b) => b.selectable);
    // Keep the position (and a configured start) while there is nothing to pick from.
    if (this.candidates.length > 0) this.cursor %= this.candidates.length;
  }

  private findDraining(wanted: MeshBackend): PooledBackend | undefined {
    for (const d of this.draining) {
      if (d.taskId === wanted.taskId && sameEndpoint(d.backend, wanted)) return d;
    }
    return undefined;
  }

  private startDrain(pooled: PooledBackend): void {
    pooled.state = 'draining';
    if (pooled.connections.size === 0 || this.closed) {
      this.onDrained?.(pooled, 0);
      return;
    }
    this.draining.add(pooled);
    pooled.drainTimer = setTimeout(() => {
      pooled.drainTimer = undefined;
      const open = [...pooled.connections];
      pooled.connections.clear();
      for (const c of open) c.destroy();
      this.finishDrain(pooled, open.length);
    }, this.drainMs);
    pooled.drainTimer.unref();
  }

  private stopDrain(pooled: PooledBackend): void {
    if (pooled.drainTimer) clearTimeout(pooled.drainTimer);
    pooled.drainTimer = undefined;
    pooled.state = 'active';
    this.draining.delete(pooled);
  }

  private finishDrain(pooled: PooledBackend, forced: number): void {
    if (!this.draining.delete(pooled)) return;
    if (pooled.drainTimer) clearTimeout(pooled.drainTimer);
    pooled.drainTimer = undefined;
    this.onDrained?.(pooled, forced);
  }
}
