import { encodeCommand, KvStore } from '../../../raft/sim/kv-store';

const cmd = (client: string, seq: number, op: Parameters<typeof encodeCommand>[0]['op']) =>
  encodeCommand({ client, seq, op });

describe('key-value state machine', () => {
  it('applies puts and compare-and-sets in log order', () => {
    const kv = new KvStore();
    expect(kv.applyEntry(1, 1, 0, cmd('c1', 1, { kind: 'put', key: 'x', value: 'a' }))?.output).toEqual({});
    expect(
      kv.applyEntry(2, 1, 0, cmd('c2', 1, { kind: 'cas', key: 'x', expected: 'a', value: 'b' }))?.output,
    ).toEqual({
      ok: true,
    });
    expect(
      kv.applyEntry(3, 1, 0, cmd('c2', 2, { kind: 'cas', key: 'x', expected: 'a', value: 'c' }))?.output,
    ).toEqual({
      ok: false,
    });
    expect(kv.get('x')).toBe('b');
    expect(kv.get('y')).toBeNull();
  });

  it('answers a retried write from the session instead of executing it twice', () => {
    const kv = new KvStore();
    kv.applyEntry(1, 1, 0, cmd('c1', 1, { kind: 'put', key: 'x', value: 'a' }));
    kv.applyEntry(2, 1, 0, cmd('c2', 1, { kind: 'put', key: 'x', value: 'b' }));
    const retry = kv.applyEntry(3, 2, 0, cmd('c1', 1, { kind: 'put', key: 'x', value: 'a' }));
    expect(retry?.executed).toBe(false);
    expect(kv.get('x')).toBe('b');
  });

  it('advances its chain digest on empty and configuration entries without touching the data', () => {
    const kv = new KvStore();
    const before = kv.chain;
    expect(kv.applyEntry(1, 2, 0, new Uint8Array())).toBeUndefined();
    expect(kv.chain).not.toBe(before);
    expect(kv.applied).toBe(1);
  });

  it('gives equal chains only to equal applied histories', () => {
    const a = new KvStore();
    const b = new KvStore();
    a.applyEntry(1, 1, 0, cmd('c1', 1, { kind: 'put', key: 'x', value: 'a' }));
    b.applyEntry(1, 2, 0, cmd('c1', 1, { kind: 'put', key: 'x', value: 'a' }));
    expect(a.chain).not.toBe(b.chain); // same command, different term: a different entry
  });

  it('restores exactly what it serialized, sessions and chain included', () => {
    const kv = new KvStore();
    kv.applyEntry(1, 1, 0, cmd('c1', 1, { kind: 'put', key: 'x', value: 'a' }));
    kv.applyEntry(2, 1, 0, cmd('c1', 2, { kind: 'put', key: 'y', value: 'b' }));
    const copy = KvStore.restore(kv.serialize(), 2);
    expect(copy.get('x')).toBe('a');
    expect(copy.chain).toBe(kv.chain);
    expect(KvStore.chainOf(kv.serialize())).toBe(kv.chain);
    expect(copy.applyEntry(3, 1, 0, cmd('c1', 2, { kind: 'put', key: 'y', value: 'b' }))?.executed).toBe(
      false,
    );
    expect(() => KvStore.restore(kv.serialize(), 5)).toThrow(/index/);
  });

  it('refuses to apply out of order', () => {
    const kv = new KvStore();
    expect(() => kv.applyEntry(2, 1, 0, new Uint8Array())).toThrow(/in order/);
  });
});
