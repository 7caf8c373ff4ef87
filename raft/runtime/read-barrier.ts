// Linearizable reads by ReadIndex, batched: every reader that arrives while a ReadIndex request is
// in flight joins the next request, so one round of heartbeats serves any number of readers.
// A request that gets no answer (the leader changed, a message was lost) is retried after a few
// ticks with a fresh context. A reader resolves once the local applied index reaches the index
// the leader answered with.
import { AbortError } from './errors';

interface Reader {
  resolve: (index: number) => void;
  reject: (err: Error) => void;
}

interface Request {
  context: Uint8Array;
  readers: Reader[];
  ageTicks: number;
}

export class ReadBarrier {
  private nextContext = 1;
  private inFlight: Request | undefined;
  private next: Reader[] = [];
  /** Answered reads waiting for the state machine, by read index (ascending insertion order is not assumed). */
  private waitingApply: { index: number; readers: Reader[] }[] = [];

  constructor(
    /** Sends a ReadIndex request with this context to the core (throws when it cannot). */
    private readonly issue: (context: Uint8Array) => void,
    private readonly retryAfterTicks: number,
  ) {}

  /** Adds a reader; resolves with the read index once applied >= it (see applied()). */
  read(options: { signal?: AbortSignal } = {}): Promise<number> {
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(new AbortError({ cause: signal.reason }));
    return new Promise<number>((resolve, reject) => {
      const onAbort = () => {
        this.remove(reader);
        reject(new AbortError({ cause: signal?.reason }));
      };
      const reader: Reader = {
        resolve: (index) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(index);
        },
        reject: (err) => {
          signal?.removeEventListener('abort', onAbort);
          reject(err);
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.next.push(reader);
      if (this.inFlight === undefined) this.issueNext();
    });
  }

  /** The core answered a ReadIndex request. */
  answered(context: Uint8Array, index: number, appliedIndex: number): void {
    const request = this.inFlight;
    if (request === undefined || Buffer.compare(Buffer.from(context), Buffer.from(request.context)) !== 0)
      return;
    this.inFlight = undefined;
    this.waitingApply.push({ index, readers: request.readers });
    this.applied(appliedIndex);
    if (this.next.length > 0) this.issueNext();
  }

  /** The state machine reached `appliedIndex`: release the readers it satisfies. */
  applied(appliedIndex: number): void {
    if (this.waitingApply.length === 0) return;
    const still: { index: number; readers: Reader[] }[] = [];
    for (const group of this.waitingApply) {
      if (group.index <= appliedIndex) for (const r of group.readers) r.resolve(group.index);
      else still.push(group);
    }
    this.waitingApply = still;
  }

  /** One tick passed: retry a request that has waited too long. */
  tick(): void {
    const request = this.inFlight;
    if (request === undefined) return;
    request.ageTicks++;
    if (request.ageTicks < this.retryAfterTicks) return;
    this.inFlight = undefined;
    this.next = request.readers.concat(this.next);
    this.issueNext();
  }

  private remove(reader: Reader): void {
    const drop = (readers: Reader[]) => readers.filter((r) => r !== reader);
    this.next = drop(this.next);
    if (this.inFlight) this.inFlight.readers = drop(this.inFlight.readers);
    for (const group of this.waitingApply) group.readers = drop(group.readers);
  }

  rejectAll(err: Error): void {
    const all = [
      ...this.next,
      ...(this.inFlight?.readers ?? []),
      ...this.waitingApply.flatMap((g) => g.readers),
    ];
    this.next = [];
    this.inFlight = undefined;
    this.waitingApply = [];
    for (const r of all) r.reject(err);
  }

  private issueNext(): void {
    const readers = this.next;
    this.next = [];
    const context = Buffer.allocUnsafe(8);
    context.writeDoubleBE(this.nextContext++);
    const request: Request = { context, readers, ageTicks: 0 };
    this.inFlight = request;
    try {
      this.issue(context);
    } catch (err) {
      this.inFlight = undefined;
      for (const r of readers) r.reject(err as Error);
      if (this.next.length > 0) this.issueNext();
    }
  }
}
