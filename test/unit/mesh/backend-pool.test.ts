import { BackendPool, type MeshConnection, type PooledBackend } from '../../../src/mesh/backend-pool';
import type { MeshBackend } from '../../../src/mesh/mesh-types';

function backend(taskId: string, healthy = true, port = 8000): MeshBackend {
  return { taskId, address: '10.0.0.1', port, healthy };
}

function connection(): MeshConnection & { destroyed: boolean } {
  const c = {
    destroyed: false,
    destroy() {
      c.destroyed = true;
    },
  };
  return c;
}

function picks(pool: BackendPool, n: number, exclude?: Set<PooledBackend>): string[] {
  return Array.from({ length: n }, () => pool.pick(exclude)?.taskId ?? '-');
}

describe('backend pool', () => {
  afterEach(() => jest.useRealTimers());

  it('walks the healthy backends in order with round-robin', () => {
    const pool = new BackendPool({ lb: 'round-robin', drainMs: 1000 });
    pool.update([backend('a'), backend('b', false), backend('c')]);
    expect(picks(pool, 5)).toEqual(['a', 'c', 'a', 'c', 'a']);
  });

  it('starts round-robin where it is told, also after an empty first update (one start per mesh worker)', () => {
    const second = new BackendPool({ lb: 'round-robin', drainMs: 1000, startAt: 1 });
    second.update([]);
    second.update([backend('a'), backend('b'), backend('c')]);
    expect(picks(second, 4)).toEqual(['b', 'c', 'a', 'b']);
    const fifth = new BackendPool({ lb: 'round-robin', drainMs: 1000, startAt: 4 });
    fifth.update([backend('a'), backend('b'), backend('c')]);
    expect(picks(fifth, 2)).toEqual(['b', 'c']);
  });

  it('returns nothing when no backend is healthy', () => {
    const pool = new BackendPool({ lb: 'round-robin', drainMs: 1000 });
    expect(pool.pick()).toBeUndefined();
    pool.update([backend('a', false)]);
    expect(pool.pick()).toBeUndefined();
  });

  it('skips excluded backends (the ones that already refused this connection)', () => {
    const pool = new BackendPool({ lb: 'round-robin', drainMs: 1000 });
    pool.update([backend('a'), backend('b'), backend('c')]);
    const a = pool.pick()!;
    expect(pool.pick(new Set([a]))?.taskId).toBe('b');
    const all = new Set(pool.all());
    expect(pool.pick(all)).toBeUndefined();
  });

  it('prefers the backend with the fewest open connections, rotating among equals', () => {
    const pool = new BackendPool({ lb: 'least-connections', drainMs: 1000 });
    pool.update([backend('a'), backend('b'), backend('c')]);
    const a = pool.all()[0]!;
    pool.attach(a, connection());
    pool.attach(a, connection());
    const b = pool.all()[1]!;
    pool.attach(b, connection());
    expect(picks(pool, 3)).toEqual(['c', 'c', 'c']);
    pool.attach(pool.all()[2]!, connection());
    expect(picks(pool, 1)).toEqual(['b']);
    pool.attach(b, connection()); // a=2, b=2, c=1
    pool.attach(pool.all()[2]!, connection()); // all at 2: take turns
    expect(new Set(picks(pool, 3))).toEqual(new Set(['a', 'b', 'c']));
  });

  it('keeps an identical update from changing anything, the cursor included', () => {
    const pool = new BackendPool({ lb: 'round-robin', drainMs: 1000 });
    expect(pool.update([backend('a'), backend('b')])).toMatchObject({ added: 2, removed: 0, changed: 0 });
    expect(picks(pool, 1)).toEqual(['a']);
    expect(pool.update([backend('a'), backend('b')])).toMatchObject({ added: 0, removed: 0, changed: 0 });
    expect(picks(pool, 1)).toEqual(['b']);
  });

  it('drains a removed backend: no new connections, open ones cut after the drain period', () => {
    jest.useFakeTimers();
    const drained: [string, number][] = [];
    const pool = new BackendPool({
      lb: 'round-robin',
      drainMs: 5000,
      onDrained: (b, n) => drained.push([b.taskId, n]),
    });
    pool.update([backend('a'), backend('b')]);
    const a = pool.all()[0]!;
    const open = [connection(), connection()];
    for (const c of open) pool.attach(a, c);

    pool.update([backend('b')]);
    expect(a.state).toBe('draining');
    expect(picks(pool, 3)).toEqual(['b', 'b', 'b']);
    expect(pool.drainingCount).toBe(1);
    jest.advanceTimersByTime(4999);
    expect(open.some((c) => c.destroyed)).toBe(false);
    jest.advanceTimersByTime(1);
    expect(open.every((c) => c.destroyed)).toBe(true);
    expect(drained).toEqual([['a', 2]]);
    expect(pool.drainingCount).toBe(0);
  });

  it('ends a drain early when the last connection closes, and drops idle backends at once', () => {
    jest.useFakeTimers();
    const drained: string[] = [];
    const pool = new BackendPool({
      lb: 'round-robin',
      drainMs: 5000,
      onDrained: (b) => drained.push(b.taskId),
    });
    pool.update([backend('a'), backend('b')]);
    const a = pool.all()[0]!;
    const c = connection();
    pool.attach(a, c);
    pool.update([]);
    expect(drained).toEqual(['b']);
    pool.detach(a, c);
    expect(drained).toEqual(['b', 'a']);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('takes a draining backend back when it is listed again with the same endpoint', () => {
    jest.useFakeTimers();
    const pool = new BackendPool({ lb: 'round-robin', drainMs: 5000 });
    pool.update([backend('a')]);
    const a = pool.all()[0]!;
    const c = connection();
    pool.attach(a, c);
    pool.update([]);
    pool.update([backend('a')]);
    expect(a.state).toBe('active');
    jest.advanceTimersByTime(10_000);
    expect(c.destroyed).toBe(false);
    expect(pool.pick()).toBe(a);
  });

  it('treats a task whose endpoint changed as a new backend and drains the old one', () => {
    const pool = new BackendPool({ lb: 'round-robin', drainMs: 5000 });
    pool.update([backend('a', true, 8000)]);
    const old = pool.all()[0]!;
    pool.attach(old, connection());
    expect(pool.update([backend('a', true, 9000)])).toMatchObject({ added: 1, removed: 1, changed: 0 });
    expect(old.state).toBe('draining');
    expect(pool.pick()?.backend.port).toBe(9000);
    pool.close();
  });

  it('close() cuts every connection and clears every timer', () => {
    jest.useFakeTimers();
    const pool = new BackendPool({ lb: 'round-robin', drainMs: 5000 });
    pool.update([backend('a'), backend('b')]);
    const [a, b] = pool.all();
    const ca = connection();
    const cb = connection();
    pool.attach(a!, ca);
    pool.attach(b!, cb);
    pool.update([backend('b')]);
    pool.close();
    expect(ca.destroyed && cb.destroyed).toBe(true);
    expect(jest.getTimerCount()).toBe(0);
    expect(pool.pick()).toBeUndefined();
  });
});

describe('backend pool passive check', () => {
  function poolAt(
    clock: { now: number },
    lb: 'round-robin' | 'least-connections' = 'round-robin',
  ): BackendPool {
    const pool = new BackendPool({ lb, drainMs: 1000, setAsideMs: 2000, now: () => clock.now });
    pool.update([backend('a'), backend('b'), backend('c')]);
    return pool;
  }

  it('passes over a backend that failed a connection for the set-aside period, then takes it again', () => {
    const clock = { now: 1000 };
    const pool = poolAt(clock);
    pool.reportFailure(pool.all()[1]!);
    expect(picks(pool, 4)).toEqual(['a', 'c', 'a', 'c']);
    clock.now += 2000;
    expect(new Set(picks(pool, 3))).toEqual(new Set(['a', 'b', 'c']));
  });

  it('takes a set-aside backend back at once when it answers', () => {
    const clock = { now: 1000 };
    const pool = poolAt(clock, 'least-connections');
    const b = pool.all()[1]!;
    pool.reportFailure(b);
    expect(picks(pool, 4)).not.toContain('b');
    pool.reportSuccess(b);
    expect(picks(pool, 3)).toContain('b');
  });

  it('still uses set-aside backends when no other can take the connection', () => {
    const clock = { now: 1000 };
    const pool = poolAt(clock);
    for (const b of pool.all()) pool.reportFailure(b);
    expect(picks(pool, 3)).toEqual(['a', 'b', 'c']);
    const [a, , c] = pool.all();
    pool.reportSuccess(a!);
    expect(pool.pick(new Set([a!]))?.taskId).toBeDefined();
    expect(pool.pick(new Set([a!, c!]))?.taskId).toBe('b');
  });

  it('can be turned off', () => {
    const pool = new BackendPool({ lb: 'round-robin', drainMs: 1000, setAsideMs: 0 });
    pool.update([backend('a'), backend('b')]);
    pool.reportFailure(pool.all()[0]!);
    expect(picks(pool, 2)).toEqual(['a', 'b']);
  });
});
