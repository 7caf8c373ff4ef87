// The sequential specification of the simulated key-value store, for the linearizability checker:
// one register per key (get / put / compare-and-set), partitioned per key because operations on
// different keys never constrain each other.

import type { Model, Operation } from './linearizability';

export type KvInput =
  | { kind: 'get'; key: string }
  | { kind: 'put'; key: string; value: string }
  | { kind: 'cas'; key: string; expected: string | null; value: string };

/** get: the value read (null when absent); put: nothing; cas: whether it swapped. */
export type KvOutput = { value: string | null } | { ok: boolean } | Record<string, never>;

export type KvOperation = Operation<KvInput, KvOutput>;

/** A key's value, or null when it was never written. */
type Register = string | null;

export const kvModel: Model<Register, KvInput, KvOutput> = {
  init: () => null,

  step(state, input, output) {
    switch (input.kind) {
      case 'get':
        if (output === undefined) return state;
        return 'value' in output && output.value === state ? state : undefined;
      case 'put':
        return input.value;
      case 'cas': {
        const swaps = state === input.expected;
        if (output !== undefined && (!('ok' in output) || output.ok !== swaps)) return undefined;
        return swaps ? input.value : state;
      }
    }
  },

  stateKey: (state) => (state === null ? '\u0000' : `=${state}`),

  partition(ops) {
    const byKey = new Map<string, Operation<KvInput, KvOutput>[]>();
    for (const op of ops) {
      // A read whose answer never arrived constrains nothing: leave it out.
      if (op.input.kind === 'get' && op.output === undefined) continue;
      let list = byKey.get(op.input.key);
      if (list === undefined) {
        list = [];
        byKey.set(op.input.key, list);
      }
      list.push(op);
    }
    return [...byKey.keys()].sort().map((key) => ({ name: key, ops: byKey.get(key)! }));
  },

  describe(op) {
    const when = `[${op.call}, ${op.return === Number.POSITIVE_INFINITY ? '∞' : op.return}]`;
    const i = op.input;
    const out = op.output === undefined ? '?' : JSON.stringify(op.output);
    const call =
      i.kind === 'get'
        ? `get(${i.key})`
        : i.kind === 'put'
          ? `put(${i.key}, ${JSON.stringify(i.value)})`
          : `cas(${i.key}, ${JSON.stringify(i.expected)} → ${JSON.stringify(i.value)})`;
    return `${op.clientId} ${call} → ${out} ${when}`;
  },
};
