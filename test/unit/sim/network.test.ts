import { type LinkFaults, SimNetwork } from '../../../raft/sim/network';
import { Prng } from '../../../raft/sim/prng';

interface Msg {
  from: string;
  to: string;
  n: number;
}

function drain(net: SimNetwork<Msg>, until: number): Msg[] {
  const out: Msg[] = [];
  for (let m = net.deliverNext(until); m !== undefined; m = net.deliverNext(until)) out.push(m);
  return out;
}

const lossy: LinkFaults = {
  dropRate: 0.2,
  duplicateRate: 0.1,
  minDelayMs: 1,
  maxDelayMs: 20,
  slowRate: 0.05,
  slowDelayMs: 200,
};

describe('prng', () => {
  it('replays the same stream for the same seed and a different one for another seed', () => {
    const a = new Prng(42);
    const b = new Prng(42);
    const c = new Prng(43);
    const xs = Array.from({ length: 8 }, () => a.nextUint32());
    expect(Array.from({ length: 8 }, () => b.nextUint32())).toEqual(xs);
    expect(Array.from({ length: 8 }, () => c.nextUint32())).not.toEqual(xs);
  });

  it('draws integers in range with no visible bias', () => {
    const r = new Prng(7);
    const counts = [0, 0, 0, 0, 0, 0];
    for (let i = 0; i < 60_000; i++) counts[r.int(6)]!++;
    for (const c of counts) expect(Math.abs(c - 10_000)).toBeLessThan(500);
    for (let i = 0; i < 1000; i++) {
      const f = r.float();
      expect(f).toBeGreaterThanOrEqual(0);
      expect(f).toBeLessThan(1);
    }
  });

  it('forks generators that do not replay the parent stream', () => {
    const parent = new Prng(1);
    const child = parent.fork();
    expect(child.nextUint32()).not.toBe(parent.nextUint32());
  });
});

describe('simulated network', () => {
  it('delivers every message exactly once, after its delay, on a reliable link', () => {
    const net = new SimNetwork<Msg>(new Prng(1));
    net.send({ from: 'a', to: 'b', n: 1 }, 0);
    net.send({ from: 'b', to: 'a', n: 2 }, 0);
    expect(drain(net, 0)).toEqual([]);
    expect(drain(net, 1).map((m) => m.n)).toEqual([1, 2]);
    expect(net.stats).toMatchObject({ sent: 2, delivered: 2, dropped: 0 });
  });

  it('drops, duplicates and reorders messages at the configured rates, the same way for the same seed', () => {
    const run = (seed: number) => {
      const net = new SimNetwork<Msg>(new Prng(seed), lossy);
      for (let i = 0; i < 2000; i++) net.send({ from: 'a', to: 'b', n: i }, i);
      return { order: drain(net, 1e9).map((m) => m.n), stats: { ...net.stats } };
    };
    const first = run(5);
    expect(run(5)).toEqual(first);
    expect(run(6).order).not.toEqual(first.order);
    expect(first.stats.dropped).toBeGreaterThan(300);
    expect(first.stats.dropped).toBeLessThan(500);
    expect(first.stats.duplicated).toBeGreaterThan(100);
    const reordered = first.order.some((n, i) => i > 0 && n < first.order[i - 1]!);
    expect(reordered).toBe(true);
    expect(new Set(first.order).size).toBeLessThan(first.order.length); // some duplicates arrived
  });

  it('cuts both directions between the groups of a symmetric partition and heals', () => {
    const net = new SimNetwork<Msg>(new Prng(1));
    net.partition([['a', 'b'], ['c']]);
    for (const [from, to] of [
      ['a', 'b'],
      ['a', 'c'],
      ['c', 'a'],
      ['c', 'b'],
      ['b', 'a'],
    ] as const)
      net.send({ from, to, n: 0 }, 0);
    expect(drain(net, 10).map((m) => `${m.from}${m.to}`)).toEqual(['ab', 'ba']);
    net.heal();
    net.send({ from: 'c', to: 'a', n: 0 }, 10);
    expect(drain(net, 20)).toHaveLength(1);
  });

  it('leaves endpoints outside every group of a partition connected', () => {
    const net = new SimNetwork<Msg>(new Prng(1));
    net.partition([['a'], ['b']]);
    net.send({ from: 'client', to: 'a', n: 0 }, 0);
    net.send({ from: 'b', to: 'client', n: 0 }, 0);
    expect(drain(net, 10)).toHaveLength(2);
  });

  it('cuts one direction only for an asymmetric partition', () => {
    const net = new SimNetwork<Msg>(new Prng(1));
    net.cutLink('a', 'b');
    net.send({ from: 'a', to: 'b', n: 1 }, 0);
    net.send({ from: 'b', to: 'a', n: 2 }, 0);
    expect(drain(net, 10).map((m) => m.n)).toEqual([2]);
  });

  it('loses messages in flight on a link that is cut before they arrive', () => {
    const net = new SimNetwork<Msg>(new Prng(1), {
      ...lossy,
      dropRate: 0,
      duplicateRate: 0,
      minDelayMs: 5,
      maxDelayMs: 5,
      slowRate: 0,
    });
    net.send({ from: 'a', to: 'b', n: 1 }, 0);
    net.isolate('b', ['a', 'b', 'c']);
    expect(drain(net, 10)).toEqual([]);
    expect(net.stats.cut).toBe(1);
  });

  it('forgets in-flight messages of an endpoint that is discarded', () => {
    const net = new SimNetwork<Msg>(new Prng(1));
    net.send({ from: 'a', to: 'b', n: 1 }, 0);
    net.send({ from: 'c', to: 'a', n: 2 }, 0);
    net.send({ from: 'c', to: 'd', n: 3 }, 0);
    expect(net.discardInFlight('a')).toBe(2);
    expect(drain(net, 10).map((m) => m.n)).toEqual([3]);
  });
});
