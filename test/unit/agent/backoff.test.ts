import { Backoff, spreadDelay } from '../../../src/agent/backoff';

describe('backoff', () => {
  it('doubles its ceiling per attempt up to the maximum and draws from the upper half of it', () => {
    const low = new Backoff({ initialMs: 100, maxMs: 1_000, random: () => 0 });
    expect([low.next(), low.next(), low.next(), low.next(), low.next()]).toEqual([50, 100, 200, 400, 500]);
    const high = new Backoff({ initialMs: 100, maxMs: 1_000, random: () => 1 });
    expect([high.next(), high.next(), high.next(), high.next(), high.next()]).toEqual([
      100, 200, 400, 800, 1_000,
    ]);
  });

  it('starts over after reset', () => {
    const backoff = new Backoff({ initialMs: 100, random: () => 1 });
    backoff.next();
    backoff.next();
    backoff.reset();
    expect(backoff.attempts).toBe(0);
    expect(backoff.next()).toBe(100);
  });
});

describe('spreadDelay', () => {
  it('draws uniformly from the whole window, from zero to its end', () => {
    expect(spreadDelay(1_000, () => 0)).toBe(0);
    expect(spreadDelay(1_000, () => 0.25)).toBe(250);
    expect(spreadDelay(1_000, () => 1)).toBe(1_000);
  });

  it('spreads many agents evenly rather than bunching them at the start', () => {
    let seed = 42;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const buckets = new Array<number>(10).fill(0);
    for (let i = 0; i < 10_000; i++) buckets[Math.min(9, Math.floor(spreadDelay(1_000, random) / 100))]! += 1;
    for (const count of buckets) expect(count).toBeGreaterThan(800);
  });

  it('treats a negative window as none', () => {
    expect(spreadDelay(-5, () => 0.5)).toBe(0);
  });
});
