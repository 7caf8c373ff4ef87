// A simulated key-value client: one operation at a time, sent to a node it picks; it follows
// leader hints, retries after a per-attempt timeout (same sequence number, so the store's session
// deduplicates), and gives up at the operation's deadline. Every operation lands in the history:
//  - ok:      a response arrived (the output is what the client observed);
//  - failed:  every attempt was explicitly rejected before being proposed: it never took effect;
//  - unknown: some attempt may have been proposed: it may or may not take effect, at any later time.

import type { ClientRequest, ClientResponse, Envelope } from './envelope';
import type { History, HistoryEntry } from './history';
import type { KvInput } from './kv-model';
import type { Prng } from './prng';

export interface ClientIo {
  now(): number;
  send(envelope: Envelope): void;
  /** Calls client.onTimer(token) after delayMs of virtual time. */
  setTimer(delayMs: number, token: number): void;
  /** The nodes a client may contact (the cluster's current members). */
  members(): readonly string[];
}

export interface ClientOptions {
  keys: readonly string[];
  attemptTimeoutMs: number;
  operationTimeoutMs: number;
  /** Pause between operations, uniform in [0, thinkTimeMs]. */
  thinkTimeMs: number;
  /** A fixed list of operations to issue instead of random ones; the client stops after the last. */
  script?: readonly KvInput[];
}

interface InFlight {
  entry: HistoryEntry;
  op: KvInput;
  seq: number;
  attempt: number;
  deadline: number;
  /** Attempts explicitly rejected before being proposed. Any other attempt may have been proposed. */
  answered: Set<number>;
}

export class SimClient {
  private seq = 0;
  private current: InFlight | undefined;
  private leaderGuess: string | undefined;
  private timerToken = 0;
  /** Values this client last saw per key: compare-and-set expects them (often right, sometimes stale). */
  private readonly seen = new Map<string, string | null>();
  stopped = false;
  private scripted = 0;

  constructor(
    readonly id: string,
    private readonly random: Prng,
    private readonly io: ClientIo,
    private readonly history: History,
    private readonly options: ClientOptions,
  ) {}

  /** Starts the first operation after a think pause. */
  start(): void {
    this.scheduleNext();
  }

  /** Stops issuing new operations; the one in flight still finishes or times out. */
  stop(): void {
    this.stopped = true;
  }

  get busy(): boolean {
    return this.current !== undefined;
  }

  /** A scripted client that has issued and finished its whole script. */
  get finished(): boolean {
    return this.options.script !== undefined && this.scripted >= this.options.script.length && !this.busy;
  }

  onTimer(token: number): void {
    if (token !== this.timerToken) return; // superseded
    const op = this.current;
    if (op === undefined) {
      this.invokeNext();
      return;
    }
    if (this.io.now() >= op.deadline) {
      this.finish(op.op.kind === 'get' || this.anyUnanswered(op) ? 'unknown' : 'failed', undefined);
      return;
    }
    // The attempt timed out: the leader guess was wrong or something was lost. Try elsewhere.
    if (!op.answered.has(op.attempt)) {
      this.leaderGuess = undefined;
    }
    this.sendAttempt();
  }

  onResponse(response: ClientResponse): void {
    const op = this.current;
    if (op === undefined || response.seq !== op.seq || response.attempt !== op.attempt) return; // stale
    if (response.kind === 'ok') {
      if (op.op.kind !== 'get') {
        op.entry.index = response.index;
        op.entry.term = response.term;
      }
      this.leaderGuess = undefined;
      this.finish('ok', response.output);
      return;
    }
    op.answered.add(op.attempt);
    this.leaderGuess = response.leaderHint !== '' ? response.leaderHint : undefined;
    // Retry soon: at once towards a hinted leader, after a short back-off otherwise.
    this.arm(this.leaderGuess !== undefined ? 1 : this.random.between(5, 30));
  }

  private scheduleNext(): void {
    if (this.stopped) return;
    this.arm(this.random.between(0, this.options.thinkTimeMs));
  }

  private invokeNext(): void {
    if (this.stopped) return;
    const script = this.options.script;
    if (script !== undefined && this.scripted >= script.length) return;
    const op = script !== undefined ? script[this.scripted++]! : this.randomOperation();
    const seq = ++this.seq;
    const entry = this.history.invoke(this.id, seq, op, this.io.now());
    this.current = {
      entry,
      op,
      seq,
      attempt: 0,
      deadline: this.io.now() + this.options.operationTimeoutMs,
      answered: new Set(),
    };
    this.sendAttempt();
  }

  private sendAttempt(): void {
    const op = this.current!;
    const members = this.io.members();
    const target =
      this.leaderGuess !== undefined && members.includes(this.leaderGuess)
        ? this.leaderGuess
        : this.random.pick(members);
    op.attempt++;
    const request: ClientRequest = { client: this.id, seq: op.seq, attempt: op.attempt, op: op.op };
    this.io.send({ kind: 'request', from: this.id, to: target, request });
    this.arm(Math.min(this.options.attemptTimeoutMs, Math.max(1, op.deadline - this.io.now())));
  }

  /** Whether some attempt lacks an explicit rejection (and so may have been proposed). */
  private anyUnanswered(op: InFlight): boolean {
    for (let a = 1; a <= op.attempt; a++) if (!op.answered.has(a)) return true;
    return false;
  }

  private finish(outcome: 'ok' | 'failed' | 'unknown', output: Parameters<History['complete']>[2]): void {
    const op = this.current!;
    this.history.complete(op.entry, outcome, output, this.io.now());
    if (outcome === 'ok') {
      const i = op.op;
      if (i.kind === 'get' && output !== undefined && 'value' in output) this.seen.set(i.key, output.value);
      if (i.kind === 'put') this.seen.set(i.key, i.value);
      if (i.kind === 'cas' && output !== undefined && 'ok' in output && output.ok)
        this.seen.set(i.key, i.value);
    }
    this.current = undefined;
    this.scheduleNext();
  }

  private arm(delayMs: number): void {
    this.io.setTimer(delayMs, ++this.timerToken);
  }

  private randomOperation(): KvInput {
    const key = this.random.pick(this.options.keys);
    const roll = this.random.float();
    // Values are unique per client and sequence number, so the checker can tell every write apart.
    const value = `${this.id}.${this.seq + 1}`;
    if (roll < 0.45) return { kind: 'get', key };
    if (roll < 0.8) return { kind: 'put', key, value };
    const expected = this.random.chance(0.8) ? (this.seen.get(key) ?? null) : `${this.id}.stale`;
    return { kind: 'cas', key, expected, value };
  }
}
