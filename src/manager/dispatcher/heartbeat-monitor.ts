// Which nodes are alive: one unref'd timer per node, re-armed on every heartbeat, that fires after
// `gracePeriods` heartbeat periods without one. The monitor only keeps time; what expiry means
// (close the session, mark the node down) is the dispatcher's callback. Re-arming uses
// Timeout.refresh(), so a heartbeat costs no allocation.
//
// A stalled event loop (a long synchronous apply, a GC pause) must not make nodes look dead: their
// heartbeats wait unread in the sockets while the expiry timers come due. A timer that fires late
// by more than half a period therefore gives its node one more period — once — to be heard.

export interface HeartbeatMonitorOptions {
  /** Called once per expiry, with the node whose heartbeats stopped. */
  onExpired: (nodeId: string) => void;
  /** Missed periods before a node expires (Swarm: 3). */
  gracePeriods?: number;
}

interface Entry {
  timer: NodeJS.Timeout;
  timeoutMs: number;
  periodMs: number;
  /** When the timer is due (ms, monotonic clock). */
  dueAt: number;
  /** Already given an extra period after a late firing. */
  extended: boolean;
}

export const DEFAULT_HEARTBEAT_GRACE_PERIODS = 3;

export class HeartbeatMonitor {
  private readonly entries = new Map<string, Entry>();
  private readonly gracePeriods: number;

  constructor(private readonly options: HeartbeatMonitorOptions) {
    this.gracePeriods = options.gracePeriods ?? DEFAULT_HEARTBEAT_GRACE_PERIODS;
  }

  /** Records a sign of life from `nodeId`: it expires `gracePeriods × periodMs` from now unless beaten again. */
  beat(nodeId: string, periodMs: number): void {
    const timeoutMs = Math.max(1, periodMs * this.gracePeriods);
    const now = performance.now();
    const entry = this.entries.get(nodeId);
    // (An extended timer runs for one period: refresh() would re-arm it for that, not the timeout.)
    if (entry !== undefined && entry.timeoutMs === timeoutMs && !entry.extended) {
      entry.timer.refresh();
      entry.dueAt = now + timeoutMs;
      entry.extended = false;
      return;
    }
    if (entry !== undefined) clearTimeout(entry.timer);
    const timer = setTimeout(() => this.fired(nodeId), timeoutMs);
    timer.unref();
    this.entries.set(nodeId, { timer, timeoutMs, periodMs, dueAt: now + timeoutMs, extended: false });
  }

  /** Stops watching `nodeId` (it left the cluster, or its expiry was handled). */
  forget(nodeId: string): void {
    const entry = this.entries.get(nodeId);
    if (entry === undefined) return;
    clearTimeout(entry.timer);
    this.entries.delete(nodeId);
  }

  has(nodeId: string): boolean {
    return this.entries.has(nodeId);
  }

  get size(): number {
    return this.entries.size;
  }

  /** Clears every timer. */
  close(): void {
    for (const entry of this.entries.values()) clearTimeout(entry.timer);
    this.entries.clear();
  }

  private fired(nodeId: string): void {
    const entry = this.entries.get(nodeId);
    if (entry === undefined) return;
    const lateMs = performance.now() - entry.dueAt;
    if (lateMs > entry.periodMs / 2 && !entry.extended) {
      // We were not running when the node's heartbeats were due: hear them out first.
      entry.extended = true;
      entry.dueAt = performance.now() + entry.periodMs;
      clearTimeout(entry.timer);
      entry.timer = setTimeout(() => this.fired(nodeId), entry.periodMs);
      entry.timer.unref();
      return;
    }
    this.entries.delete(nodeId);
    this.options.onExpired(nodeId);
  }
}
