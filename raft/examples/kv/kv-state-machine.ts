// The replicated state of the example key-value server: a map of keys to values, plus the HTTP
// address each member announced when it became leader (so followers can forward writes to it).
// Commands are JSON in the log; snapshots are JSON of the whole state.
import type { AppliedEntry, StateMachine } from '../../runtime';

export type KvCommand =
  | { op: 'put'; key: string; value: string }
  | { op: 'announce'; id: string; http: string };

export function encodeCommand(command: KvCommand): Uint8Array {
  return Buffer.from(JSON.stringify(command));
}

interface KvSnapshot {
  kv: [string, string][];
  http: [string, string][];
}

export class KvStateMachine implements StateMachine {
  private readonly kv = new Map<string, string>();
  private readonly httpById = new Map<string, string>();

  get(key: string): string | undefined {
    return this.kv.get(key);
  }

  get size(): number {
    return this.kv.size;
  }

  /** The HTTP address member `id` announced, if any. */
  httpOf(id: string): string | undefined {
    return this.httpById.get(id);
  }

  apply(entries: readonly AppliedEntry[]): void {
    for (const e of entries) {
      const command = JSON.parse(Buffer.from(e.data).toString()) as KvCommand;
      if (command.op === 'put') this.kv.set(command.key, command.value);
      else if (command.op === 'announce') this.httpById.set(command.id, command.http);
    }
  }

  snapshot(): Uint8Array {
    const state: KvSnapshot = { kv: [...this.kv], http: [...this.httpById] };
    return Buffer.from(JSON.stringify(state));
  }

  restore(data: Uint8Array): void {
    this.kv.clear();
    this.httpById.clear();
    if (data.byteLength === 0) return;
    const state = JSON.parse(Buffer.from(data).toString()) as KvSnapshot;
    for (const [k, v] of state.kv) this.kv.set(k, v);
    for (const [id, http] of state.http) this.httpById.set(id, http);
  }
}
