import { type KvOperation, kvModel } from '../../../raft/sim/kv-model';
import { checkLinearizability, type Model, type Operation } from '../../../raft/sim/linearizability';

const NEVER = Number.POSITIVE_INFINITY;

function put(client: string, key: string, value: string, call: number, ret: number): KvOperation {
  return {
    clientId: client,
    input: { kind: 'put', key, value },
    call,
    return: ret,
    output: ret === NEVER ? undefined : {},
  };
}
function get(client: string, key: string, value: string | null, call: number, ret: number): KvOperation {
  return { clientId: client, input: { kind: 'get', key }, call, return: ret, output: { value } };
}
function cas(
  client: string,
  key: string,
  expected: string | null,
  value: string,
  ok: boolean | undefined,
  call: number,
  ret: number,
): KvOperation {
  return {
    clientId: client,
    input: { kind: 'cas', key, expected, value },
    call,
    return: ret,
    output: ok === undefined ? undefined : { ok },
  };
}

const verdict = (history: KvOperation[]) => checkLinearizability(kvModel, history).verdict;

describe('linearizability checker (key-value model)', () => {
  it('accepts an empty history', () => {
    expect(verdict([])).toBe('ok');
  });

  it('accepts a sequential history that follows the register semantics', () => {
    expect(
      verdict([
        get('a', 'x', null, 0, 1),
        put('a', 'x', '1', 2, 3),
        get('b', 'x', '1', 4, 5),
        cas('b', 'x', '1', '2', true, 6, 7),
      ]),
    ).toBe('ok');
  });

  it('rejects a read of a stale value after a completed write', () => {
    expect(verdict([put('a', 'x', '1', 0, 1), put('a', 'x', '2', 2, 3), get('b', 'x', '1', 4, 5)])).toBe(
      'violation',
    );
  });

  it('accepts concurrent overlapping writes observed in either order', () => {
    const writes = [put('a', 'x', '1', 0, 10), put('b', 'x', '2', 1, 9)];
    expect(verdict([...writes, get('c', 'x', '1', 11, 12)])).toBe('ok');
    expect(verdict([...writes, get('c', 'x', '2', 11, 12)])).toBe('ok');
  });

  it('rejects reads that see concurrent writes in two different orders after both completed', () => {
    const history = [
      put('a', 'x', '1', 0, 10),
      put('b', 'x', '2', 1, 9),
      get('c', 'x', '1', 11, 12),
      get('d', 'x', '2', 13, 14),
    ];
    expect(verdict(history)).toBe('violation');
  });

  it('rejects a read that sees a value before the write of that value was invoked', () => {
    expect(verdict([get('b', 'x', '1', 0, 2), put('a', 'x', '1', 3, 4)])).toBe('violation');
  });

  it('accepts a read that sees a write still in progress', () => {
    expect(verdict([put('a', 'x', '1', 0, 10), get('b', 'x', '1', 2, 3), get('c', 'x', '1', 4, 5)])).toBe(
      'ok',
    );
  });

  it('rejects a read that goes back to the old value after another read saw the in-progress write', () => {
    expect(verdict([put('a', 'x', '1', 0, 10), get('b', 'x', '1', 2, 3), get('c', 'x', null, 4, 5)])).toBe(
      'violation',
    );
  });

  it('treats an unknown-outcome write as possibly applied', () => {
    expect(verdict([put('a', 'x', '1', 0, NEVER), get('b', 'x', '1', 5, 6)])).toBe('ok');
  });

  it('treats an unknown-outcome write as possibly never applied', () => {
    expect(
      verdict([put('a', 'x', '1', 0, NEVER), get('b', 'x', null, 5, 6), get('b', 'x', null, 7, 8)]),
    ).toBe('ok');
  });

  it('lets an unknown-outcome write take effect only once', () => {
    const history = [
      put('a', 'x', '1', 0, NEVER),
      get('b', 'x', '1', 1, 2),
      put('c', 'x', '2', 3, 4),
      get('b', 'x', '1', 5, 6),
    ];
    expect(verdict(history)).toBe('violation');
  });

  it('still rejects a read of a value written only after the read returned, even with unknown writes', () => {
    expect(verdict([get('b', 'x', '1', 0, 1), put('a', 'x', '1', 2, NEVER)])).toBe('violation');
  });

  it('checks compare-and-set outcomes against the state', () => {
    expect(
      verdict([put('a', 'x', '1', 0, 1), cas('b', 'x', '1', '2', true, 2, 3), get('a', 'x', '2', 4, 5)]),
    ).toBe('ok');
    expect(verdict([put('a', 'x', '1', 0, 1), cas('b', 'x', '0', '2', true, 2, 3)])).toBe('violation');
    expect(verdict([put('a', 'x', '1', 0, 1), cas('b', 'x', '1', '2', false, 2, 3)])).toBe('violation');
  });

  it('lets an unknown compare-and-set succeed or fail, whichever the history needs', () => {
    const base = [put('a', 'x', '1', 0, 1), cas('b', 'x', '1', '2', undefined, 2, NEVER)];
    expect(verdict([...base, get('c', 'x', '2', 3, 4)])).toBe('ok');
    expect(verdict([...base, get('c', 'x', '1', 3, 4)])).toBe('ok');
  });

  it('needs two concurrent compare-and-sets from the same value to not both succeed', () => {
    const history = [
      put('a', 'x', '0', 0, 1),
      cas('b', 'x', '0', '1', true, 2, 10),
      cas('c', 'x', '0', '2', true, 3, 9),
    ];
    expect(verdict(history)).toBe('violation');
  });

  it('ignores reads whose answer never arrived', () => {
    const lost: KvOperation = {
      clientId: 'b',
      input: { kind: 'get', key: 'x' },
      call: 2,
      return: NEVER,
      output: undefined,
    };
    expect(verdict([put('a', 'x', '1', 0, 1), lost])).toBe('ok');
  });

  it('checks each key on its own and names the key that fails', () => {
    const result = checkLinearizability(kvModel, [
      put('a', 'x', '1', 0, 1),
      get('a', 'y', '1', 2, 3),
      get('b', 'x', '1', 4, 5),
    ]);
    expect(result.verdict).toBe('violation');
    expect(result.partitions.map((p) => [p.name, p.verdict])).toEqual([
      ['x', 'ok'],
      ['y', 'violation'],
    ]);
    expect(result.partitions[1]!.stuck![0]).toContain('get(y)');
  });

  it('treats an operation returning at the same instant another is called as concurrent', () => {
    expect(verdict([put('a', 'x', '1', 0, 5), get('b', 'x', null, 5, 6)])).toBe('ok');
  });

  it('handles a long history of many concurrent writers quickly thanks to memoisation', () => {
    const history: KvOperation[] = [];
    // 12 writers all overlapping, then a read: 12! orders, few distinct (set, state) pairs.
    for (let i = 0; i < 12; i++) history.push(put(`c${i}`, 'x', String(i), i, 100 + i));
    history.push(get('r', 'x', '7', 200, 201));
    for (let round = 1; round < 20; round++) {
      const t = 300 * round;
      for (let i = 0; i < 6; i++) history.push(put(`c${i}`, 'x', `${round}-${i}`, t + i, t + 50 + i));
      history.push(get('r', 'x', `${round}-3`, t + 100, t + 101));
    }
    const result = checkLinearizability(kvModel, history);
    expect(result.verdict).toBe('ok');
    expect(result.partitions[0]!.steps).toBeLessThan(200_000);
  });

  it('answers unknown, not a verdict, when the step budget runs out', () => {
    const history: KvOperation[] = [];
    for (let i = 0; i < 10; i++) history.push(put(`c${i}`, 'x', String(i), 0, 100));
    history.push(get('r', 'x', 'none of them', 101, 102));
    expect(checkLinearizability(kvModel, history, { maxStepsPerPartition: 50 }).verdict).toBe('unknown');
    expect(checkLinearizability(kvModel, history).verdict).toBe('violation');
  });

  it('works with any model: a counter whose increments are not idempotent', () => {
    type In = { add: number } | { read: true };
    type Out = { value: number } | Record<string, never>;
    const counter: Model<number, In, Out> = {
      init: () => 0,
      step: (s, input, output) => {
        if ('add' in input) return s + input.add;
        return output === undefined || ('value' in output && output.value === s) ? s : undefined;
      },
      stateKey: (s) => String(s),
    };
    const op = (input: In, output: Out | undefined, call: number, ret: number): Operation<In, Out> => ({
      clientId: 'c',
      input,
      output,
      call,
      return: ret,
    });
    expect(
      checkLinearizability(counter, [op({ add: 2 }, {}, 0, 3), op({ read: true }, { value: 2 }, 1, 2)])
        .verdict,
    ).toBe('ok');
    expect(
      checkLinearizability(counter, [op({ add: 2 }, {}, 0, 1), op({ read: true }, { value: 4 }, 2, 3)])
        .verdict,
    ).toBe('violation');
  });
});
