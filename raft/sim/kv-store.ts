// The replicated key-value state machine the simulated cluster runs: get/put/compare-and-set
// on string keys, with client sessions that make retried writes take effect at most once
// (Raft dissertation §6.3: each client numbers its requests; a request at or below the session's
// last sequence number is answered from the session, never re-executed).
//
// It also keeps a chain digest over every entry it applied, so the safety checker can tell in
// O(1) whether two nodes applied exactly the same entries up to an index, snapshots included.

import { Digest } from './digest';
import type { KvInput, KvOutput } from './kv-model';

/** A write as it travels through the Raft log. Reads never enter the log (they use ReadIndex). */
export interface KvCommand {
  client: string;
  seq: number;
  op: Exclude<KvInput, { kind: 'get' }>;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodeCommand(command: KvCommand): Uint8Array {
  return encoder.encode(JSON.stringify(command));
}

export function decodeCommand(data: Uint8Array): KvCommand {
  return JSON.parse(decoder.decode(data)) as KvCommand;
}

interface Session {
  seq: number;
  output: KvOutput;
}

export interface ApplyResult {
  command: KvCommand;
  output: KvOutput;
  /** False when the command was a retry of one already applied (answered from the session). */
  executed: boolean;
}

interface SerializedKv {
  applied: number;
  chain: string;
  values: [string, string][];
  sessions: [string, Session][];
}

export class KvStore {
  private readonly values = new Map<string, string>();
  private readonly sessions = new Map<string, Session>();
  /** Index of the last entry applied (or of the snapshot restored). */
  applied = 0;
  /** Digest of every entry applied so far, in order. Equal chains ⇔ equal applied logs. */
  chain = '0';

  get(key: string): string | null {
    return this.values.get(key) ?? null;
  }

  /**
   * Applies the entry at `index`. Normal entries with data are commands; empty entries (a new
   * leader's no-op) and configuration changes only advance the chain.
   */
  applyEntry(index: number, term: number, type: number, data: Uint8Array): ApplyResult | undefined {
    if (index !== this.applied + 1) {
      throw new Error(
        `kv store applies index ${index} after ${this.applied}: entries must be applied in order`,
      );
    }
    this.applied = index;
    this.chain = new Digest()
      .addString(this.chain)
      .addNumber(index)
      .addNumber(term)
      .addNumber(type)
      .addBytes(data)
      .hex();
    if (type !== 0 || data.length === 0) return undefined;
    const command = decodeCommand(data);
    const session = this.sessions.get(command.client);
    if (session !== undefined && command.seq <= session.seq) {
      return { command, output: session.seq === command.seq ? session.output : {}, executed: false };
    }
    const output = this.execute(command.op);
    this.sessions.set(command.client, { seq: command.seq, output });
    return { command, output, executed: true };
  }

  private execute(op: KvCommand['op']): KvOutput {
    if (op.kind === 'put') {
      this.values.set(op.key, op.value);
      return {};
    }
    const swaps = this.get(op.key) === op.expected;
    if (swaps) this.values.set(op.key, op.value);
    return { ok: swaps };
  }

  /** The whole state, for a Raft snapshot. Sorted, so equal states serialize to equal bytes. */
  serialize(): Uint8Array {
    const state: SerializedKv = {
      applied: this.applied,
      chain: this.chain,
      values: [...this.values.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
      sessions: [...this.sessions.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
    };
    return encoder.encode(JSON.stringify(state));
  }

  /** A store holding a snapshot's state; empty data (a bootstrap snapshot) is the empty store at `index`. */
  static restore(data: Uint8Array, index: number): KvStore {
    const store = new KvStore();
    if (data.length === 0) {
      store.applied = index;
      return store;
    }
    const state = JSON.parse(decoder.decode(data)) as SerializedKv;
    if (state.applied !== index) {
      throw new Error(`snapshot at index ${index} holds a state machine at index ${state.applied}`);
    }
    store.applied = state.applied;
    store.chain = state.chain;
    for (const [k, v] of state.values) store.values.set(k, v);
    for (const [c, s] of state.sessions) store.sessions.set(c, s);
    return store;
  }

  /** The chain digest recorded inside snapshot data, without rebuilding the store. */
  static chainOf(data: Uint8Array): string {
    return data.length === 0 ? '0' : (JSON.parse(decoder.decode(data)) as SerializedKv).chain;
  }
}
