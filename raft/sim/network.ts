// The simulated network: virtual-time message delivery between named endpoints, with per-message
// drop, delay, duplication and reordering, and link cuts that model symmetric and asymmetric
// partitions. All randomness comes from the Prng handed in, so a seed decides every fate.
//
// The network only moves envelopes; it never looks inside them and never knows whether an
// endpoint is up (the simulation drops deliveries to crashed nodes).

import { EventQueue } from './event-queue';
import type { Prng } from './prng';

export interface Addressed {
  from: string;
  to: string;
}

/** How a link treats each message. Rates are probabilities per message. */
export interface LinkFaults {
  dropRate: number;
  duplicateRate: number;
  /** Normal one-way latency is uniform in [minDelayMs, maxDelayMs]: overlapping ranges reorder. */
  minDelayMs: number;
  maxDelayMs: number;
  /** A few messages are much slower (a congested or retransmitted packet): strong reordering. */
  slowRate: number;
  slowDelayMs: number;
}

export const RELIABLE_LINK: LinkFaults = {
  dropRate: 0,
  duplicateRate: 0,
  minDelayMs: 1,
  maxDelayMs: 1,
  slowRate: 0,
  slowDelayMs: 0,
};

export interface NetworkStats {
  sent: number;
  dropped: number;
  /** Dropped because a link was cut when the message was sent or when it arrived. */
  cut: number;
  duplicated: number;
  delivered: number;
}

export class SimNetwork<M extends Addressed> {
  private readonly inFlight = new EventQueue<M>();
  /** Directed links that are down, as "from>to". */
  private readonly cuts = new Set<string>();
  private faults: LinkFaults;
  readonly stats: NetworkStats = { sent: 0, dropped: 0, cut: 0, duplicated: 0, delivered: 0 };

  constructor(
    private readonly random: Prng,
    faults: LinkFaults = RELIABLE_LINK,
  ) {
    this.faults = { ...faults };
  }

  setFaults(faults: LinkFaults): void {
    this.faults = { ...faults };
  }

  getFaults(): LinkFaults {
    return { ...this.faults };
  }

  /** Hands a message to the network at virtual time `now`; it arrives later, or never. */
  send(message: M, now: number): void {
    this.stats.sent++;
    if (!this.connected(message.from, message.to)) {
      this.stats.cut++;
      return;
    }
    const f = this.faults;
    if (this.random.chance(f.dropRate)) {
      this.stats.dropped++;
      return;
    }
    this.inFlight.push(now + this.latency(), message);
    if (this.random.chance(f.duplicateRate)) {
      this.stats.duplicated++;
      this.inFlight.push(now + this.latency(), message);
    }
  }

  /** The virtual time of the next arrival, if any message is in flight. */
  nextArrival(): number | undefined {
    return this.inFlight.peekTime();
  }

  /**
   * Removes and returns the next message arriving at or before `until`, or undefined. A message
   * whose link was cut while it was in flight is lost.
   */
  deliverNext(until: number): M | undefined {
    for (;;) {
      const t = this.inFlight.peekTime();
      if (t === undefined || t > until) return undefined;
      const message = this.inFlight.pop()!.item;
      if (!this.connected(message.from, message.to)) {
        this.stats.cut++;
        continue;
      }
      this.stats.delivered++;
      return message;
    }
  }

  /** Forgets every in-flight message to or from `endpoint` (e.g. a node that was removed). */
  discardInFlight(endpoint: string): number {
    return this.inFlight.removeWhere((m) => m.from === endpoint || m.to === endpoint);
  }

  get inFlightCount(): number {
    return this.inFlight.size;
  }

  connected(from: string, to: string): boolean {
    return !this.cuts.has(`${from}>${to}`);
  }

  /** Cuts the one-way link from → to (an asymmetric partition: replies may still flow). */
  cutLink(from: string, to: string): void {
    if (from !== to) this.cuts.add(`${from}>${to}`);
  }

  /**
   * A symmetric partition: endpoints in different groups cannot talk; endpoints within a group,
   * and endpoints in no group, are unaffected. Adds to any cuts already in place.
   */
  partition(groups: readonly (readonly string[])[]): void {
    for (let g = 0; g < groups.length; g++) {
      for (let h = 0; h < groups.length; h++) {
        if (g === h) continue;
        for (const a of groups[g]!) for (const b of groups[h]!) this.cutLink(a, b);
      }
    }
  }

  /** Cuts `endpoint` off from every one of `others`, both ways. */
  isolate(endpoint: string, others: readonly string[]): void {
    this.partition([[endpoint], others.filter((o) => o !== endpoint)]);
  }

  /** Restores every link. */
  heal(): void {
    this.cuts.clear();
  }

  /** True when some link is cut. */
  get partitioned(): boolean {
    return this.cuts.size > 0;
  }

  /** The cut links, sorted (for traces and reports). */
  describeCuts(): string[] {
    return [...this.cuts].sort();
  }

  private latency(): number {
    const f = this.faults;
    let delay = this.random.between(f.minDelayMs, Math.max(f.minDelayMs, f.maxDelayMs));
    if (this.random.chance(f.slowRate)) delay += this.random.between(1, Math.max(1, f.slowDelayMs));
    return delay;
  }
}
