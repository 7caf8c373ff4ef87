// How the store reaches consensus without knowing Raft: it hands an encoded entry to a Proposer,
// and whoever drives Raft calls `applyCommitted(data, index)` on every manager's store in log order.
// The store never imports Raft; the manager wires a Proposer over its Raft runtime.

export interface ProposeOptions {
  signal?: AbortSignal;
}

export interface Proposer {
  /**
   * Proposes one entry (an encoded orch.store.StoreActions). Resolves with the entry's log index once
   * it is committed — before or after the store applied it, either works — or rejects when it cannot
   * be (not the leader, leadership lost, aborted). A rejection says nothing certain about whether the
   * entry will still commit; the store rejects the transaction with the proposer's error either way.
   */
  propose(data: Uint8Array, options?: ProposeOptions): Promise<{ index: number }>;
}

/** What a LocalProposer feeds: a MemoryStore, or anything else that applies committed entries. */
export interface CommittedEntryApplier {
  applyCommitted(data: Uint8Array, index: number): void;
}

/**
 * A Proposer without Raft: every proposal commits at once with the next index and is applied, in
 * order, to every attached store. For tests and for components tested alone; attaching several
 * stores models replicas that apply the same log. A proposal made while an entry is being applied
 * (say, by a listener reacting to it) is queued behind it, as Raft would order it, so every
 * subscriber still sees entries in log order.
 */
export class LocalProposer implements Proposer {
  private readonly appliers: CommittedEntryApplier[] = [];
  private readonly queue: Array<{ data: Uint8Array; index: number }> = [];
  private applying = false;
  private lastIndex: number;

  /** `lastIndex`: the index already used, e.g. a restored store's applied index. */
  constructor(options: { lastIndex?: number } = {}) {
    this.lastIndex = options.lastIndex ?? 0;
  }

  attach(applier: CommittedEntryApplier): this {
    this.appliers.push(applier);
    return this;
  }

  /** The last index handed out. */
  get index(): number {
    return this.lastIndex;
  }

  async propose(data: Uint8Array, options: ProposeOptions = {}): Promise<{ index: number }> {
    options.signal?.throwIfAborted();
    const index = ++this.lastIndex;
    this.queue.push({ data, index });
    if (!this.applying) {
      this.applying = true;
      try {
        for (let entry = this.queue.shift(); entry !== undefined; entry = this.queue.shift()) {
          for (const applier of this.appliers) applier.applyCommitted(entry.data, entry.index);
        }
      } finally {
        this.applying = false;
      }
    }
    return { index };
  }
}
