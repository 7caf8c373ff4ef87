// Which nodes are alive: one unref'd timer per node, re-armed on every heartbeat, that fires after
// `gracePeriods` heartbeat periods without one. The monitor only keeps time; what expiry means
// (close the session, mark the node down) is the dispatcher's callback. Re-arming uses
// Timeout.refresh(), so a heartbeat costs no allocation.

export interface HeartbeatMonitorOptions {
  /** Called once per expiry, with the node whose heartbeats stopped. */
  onExpired: (nodeId: string) => void;
  /** Missed periods before a node expires (Swarm: 3). */
  gracePeriods?: number;
}

interface Entry {
  timer: NodeJS.Timeout;
  timeoutMs: number;
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
    const entry = this.entries.get(nodeId);
    if (entry !== undefined && entry.timeoutMs === timeoutMs) {
      entry.timer.refresh();
      return;
    }
    if (entry !== undefined) clearTimeout(entry.timer);
    const timer = setTimeout(() => this.expire(nodeId), timeoutMs);
    timer.unref();
    this.entries.set(nodeId, { timer, timeoutMs });
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

  private expire(nodeId: string): void {
    this.entries.delete(nodeId);
    this.options.onExpired(nodeId);
  }
}
