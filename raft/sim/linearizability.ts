// A linearizability checker in the style of Wing & Gong, with Lowe's just-in-time linearization
// and the state memoisation of Porcupine (Athalye): a depth-first search over the history's call
// and return events that tries to give every completed operation a linearization point between
// its invocation and its response, consistent with a sequential model.
//
// - Memoisation: a (set of linearized operations, model state) pair that was already explored is
//   never explored again; that prunes the exponential search to what histories actually need.
// - P-compositionality: a model may split a history into independent parts (a key-value store per
//   key); the history is linearizable iff every part is, and each part is searched on its own.
// - Unknown outcomes: an operation whose response never came (a client timeout) has return time
//   +Infinity and no output. It may take effect at any point after its call, or never: linearizing
//   it after everything else observes nothing, so "never" is covered.
//
// The search is bounded by a step budget; when the budget runs out the verdict is 'unknown', never
// a false 'ok' or a false violation.

export interface Operation<I, O> {
  /** Who issued it, for reports. */
  clientId: string;
  input: I;
  /** Invocation time. Times only need to be ordered: equal call and return times count as concurrent. */
  call: number;
  /** Response time, or Infinity when the outcome is unknown. */
  return: number;
  /** The observed output, or undefined when the outcome is unknown. */
  output: O | undefined;
}

export interface Model<S, I, O> {
  init(): S;
  /**
   * The state after applying `input` to `state` if that step could have produced `output`
   * (undefined output: any output is acceptable), or undefined if it could not.
   */
  step(state: S, input: I, output: O | undefined): S | undefined;
  /** Equal states must have equal keys (used by the memoisation). */
  stateKey(state: S): string;
  /** Splits a history into independent parts (P-compositionality). Default: one part. */
  partition?(ops: readonly Operation<I, O>[]): { name: string; ops: Operation<I, O>[] }[];
  /** Human-readable description of an operation, for reports. */
  describe?(op: Operation<I, O>): string;
}

export type CheckVerdict = 'ok' | 'violation' | 'unknown';

export interface PartitionResult {
  name: string;
  verdict: CheckVerdict;
  operations: number;
  /** Search steps spent on this part. */
  steps: number;
  /** For a violation: the operations that could not be placed at the deepest point the search reached. */
  stuck?: string[];
}

export interface CheckResult {
  verdict: CheckVerdict;
  partitions: PartitionResult[];
}

export interface CheckOptions {
  /** Search steps allowed per partition before giving up with 'unknown'. */
  maxStepsPerPartition?: number;
}

const DEFAULT_MAX_STEPS = 2_000_000;

/** Checks a whole history against a model, one partition at a time. */
export function checkLinearizability<S, I, O>(
  model: Model<S, I, O>,
  history: readonly Operation<I, O>[],
  options: CheckOptions = {},
): CheckResult {
  const parts = model.partition ? model.partition(history) : [{ name: 'all', ops: history.slice() }];
  const partitions: PartitionResult[] = [];
  let verdict: CheckVerdict = 'ok';
  for (const part of parts) {
    const result = checkPartition(
      model,
      part.name,
      part.ops,
      options.maxStepsPerPartition ?? DEFAULT_MAX_STEPS,
    );
    partitions.push(result);
    if (result.verdict === 'violation') verdict = 'violation';
    else if (result.verdict === 'unknown' && verdict === 'ok') verdict = 'unknown';
  }
  return { verdict, partitions };
}

/**
 * The doubly linked list of call and return events the search walks. Node 0 is a sentinel head;
 * node 2i+1 is the call of operation i and node 2i+2 its return.
 */
class EventList {
  readonly next: Int32Array;
  readonly prev: Int32Array;

  constructor(order: readonly number[]) {
    const size = order.length + 1;
    this.next = new Int32Array(size + 1).fill(-1);
    this.prev = new Int32Array(size + 1).fill(-1);
    let last = 0;
    for (const node of order) {
      this.next[last] = node;
      this.prev[node] = last;
      last = node;
    }
  }

  /** Unlinks a call node and its return node (the operation is linearized). */
  lift(call: number): void {
    this.unlink(call);
    this.unlink(call + 1);
  }

  /** Relinks them, in the reverse order of lift. */
  unlift(call: number): void {
    this.relink(call + 1);
    this.relink(call);
  }

  private unlink(node: number): void {
    const p = this.prev[node]!;
    const n = this.next[node]!;
    this.next[p] = n;
    if (n !== -1) this.prev[n] = p;
  }

  private relink(node: number): void {
    const p = this.prev[node]!;
    const n = this.next[node]!;
    this.next[p] = node;
    if (n !== -1) this.prev[n] = node;
  }
}

function checkPartition<S, I, O>(
  model: Model<S, I, O>,
  name: string,
  ops: readonly Operation<I, O>[],
  maxSteps: number,
): PartitionResult {
  const n = ops.length;
  // Event order: by time; at equal times calls come before returns (treated as concurrent).
  const events: { node: number; time: number; isCall: boolean }[] = [];
  for (let i = 0; i < n; i++) {
    const op = ops[i]!;
    if (!(op.return >= op.call))
      throw new RangeError(`operation ${i} of ${name} returns before it is called`);
    events.push({ node: 2 * i + 1, time: op.call, isCall: true });
    events.push({ node: 2 * i + 2, time: op.return, isCall: false });
  }
  events.sort((a, b) => a.time - b.time || (a.isCall === b.isCall ? a.node - b.node : a.isCall ? -1 : 1));
  const list = new EventList(events.map((e) => e.node));

  const linearized = new Uint32Array(Math.ceil(n / 32) || 1);
  const seen = new Set<string>();
  const stack: { call: number; state: S }[] = [];
  let state = model.init();
  let node = list.next[0]!;
  let steps = 0;
  let deepest = -1;
  let stuckAtDeepest: number[] = [];

  while (list.next[0] !== -1) {
    if (++steps > maxSteps) return { name, verdict: 'unknown', operations: n, steps };
    if (node !== -1 && node % 2 === 1) {
      const i = (node - 1) / 2;
      const op = ops[i]!;
      const after = model.step(state, op.input, op.output);
      if (after !== undefined) {
        linearized[i >>> 5]! |= 1 << (i & 31);
        const key = `${linearized.join(',')}|${model.stateKey(after)}`;
        if (!seen.has(key)) {
          seen.add(key);
          stack.push({ call: node, state });
          state = after;
          list.lift(node);
          node = list.next[0]!;
          continue;
        }
        linearized[i >>> 5]! &= ~(1 << (i & 31));
      }
      node = list.next[node]!;
      continue;
    }
    // A return event (or the end of the list) before every call was placed: this branch fails.
    if (stack.length > deepest) {
      deepest = stack.length;
      stuckAtDeepest = pendingCalls(list, node);
    }
    const top = stack.pop();
    if (top === undefined) {
      const describe = model.describe ?? ((op: Operation<I, O>) => JSON.stringify(op.input));
      const stuck = stuckAtDeepest.slice(0, 4).map((c) => describe(ops[(c - 1) / 2]!));
      return { name, verdict: 'violation', operations: n, steps, stuck };
    }
    const i = (top.call - 1) / 2;
    linearized[i >>> 5]! &= ~(1 << (i & 31));
    state = top.state;
    list.unlift(top.call);
    node = list.next[top.call]!;
  }
  return { name, verdict: 'ok', operations: n, steps };
}

/** The call nodes still in the list up to (and including the call of) the blocking return `upTo`. */
function pendingCalls(list: EventList, upTo: number): number[] {
  const calls: number[] = [];
  for (let node = list.next[0]!; node !== -1; node = list.next[node]!) {
    if (node % 2 === 1) calls.push(node);
    if (node === upTo) break;
  }
  // The operation whose return blocked the search is the most telling one: report it first.
  if (upTo !== -1 && upTo % 2 === 0) {
    const call = upTo - 1;
    return [call, ...calls.filter((c) => c !== call)];
  }
  return calls;
}
