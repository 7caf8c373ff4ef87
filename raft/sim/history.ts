// The client history of a simulation run: every key-value operation with its invocation and
// response instants and its outcome, as the linearizability checker needs it.

import type { KvInput, KvOperation, KvOutput } from './kv-model';

export type OperationOutcome = 'ok' | 'failed' | 'unknown';

export interface HistoryEntry {
  client: string;
  seq: number;
  input: KvInput;
  /** Total order of simulation instants (strictly increasing across the whole run). */
  invokedAt: number;
  returnedAt: number | undefined;
  /** Virtual milliseconds, for humans. */
  invokedAtMs: number;
  returnedAtMs: number | undefined;
  outcome: OperationOutcome | 'pending';
  output: KvOutput | undefined;
  /** For acknowledged writes: where the command sits in the log. */
  index?: number;
  term?: number;
}

export class History {
  private readonly entries: HistoryEntry[] = [];
  private instant = 0;

  /** A new, strictly later instant. */
  tick(): number {
    return ++this.instant;
  }

  invoke(client: string, seq: number, input: KvInput, nowMs: number): HistoryEntry {
    const entry: HistoryEntry = {
      client,
      seq,
      input,
      invokedAt: this.tick(),
      returnedAt: undefined,
      invokedAtMs: nowMs,
      returnedAtMs: undefined,
      outcome: 'pending',
      output: undefined,
    };
    this.entries.push(entry);
    return entry;
  }

  complete(
    entry: HistoryEntry,
    outcome: OperationOutcome,
    output: KvOutput | undefined,
    nowMs: number,
  ): void {
    if (entry.outcome !== 'pending')
      throw new Error(`operation ${entry.client}#${entry.seq} completed twice`);
    entry.outcome = outcome;
    entry.output = outcome === 'ok' ? output : undefined;
    if (outcome !== 'unknown') {
      entry.returnedAt = this.tick();
      entry.returnedAtMs = nowMs;
    }
  }

  all(): readonly HistoryEntry[] {
    return this.entries;
  }

  /**
   * The operations for the checker: acknowledged ones with their interval, unknown (and still
   * pending) ones open-ended, definitely failed ones left out (they never took effect).
   */
  operations(): KvOperation[] {
    const ops: KvOperation[] = [];
    for (const e of this.entries) {
      if (e.outcome === 'failed') continue;
      const known = e.outcome === 'ok';
      ops.push({
        clientId: e.client,
        input: e.input,
        call: e.invokedAt,
        return: known ? e.returnedAt! : Number.POSITIVE_INFINITY,
        output: known ? e.output : undefined,
      });
    }
    return ops;
  }

  counts(): Record<OperationOutcome | 'pending', number> {
    const counts = { ok: 0, failed: 0, unknown: 0, pending: 0 };
    for (const e of this.entries) counts[e.outcome]++;
    return counts;
  }
}
