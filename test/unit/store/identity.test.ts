import { generateId } from '../../../src/store';

describe('object IDs', () => {
  it('are 25 characters of [0-9a-z], like Swarm IDs', () => {
    for (let i = 0; i < 1_000; i++) expect(generateId()).toMatch(/^[0-9a-z]{25}$/);
  });

  it('do not repeat over 100,000 IDs (pooled random bytes are never reused)', () => {
    const ids = new Set<string>();
    for (let i = 0; i < 100_000; i++) ids.add(generateId());
    expect(ids.size).toBe(100_000);
  });

  it('use every character about equally often, in every position', () => {
    // 20,000 IDs: each of the 36 characters is expected ~555 times per position; a biased mapping
    // (byte % 36 over all 256 byte values) would give the first 4 characters ~14% more. The 5% bound
    // on the totals is about 6 standard deviations away for a uniform source.
    const counts = Array.from({ length: 25 }, () => new Map<string, number>());
    const n = 20_000;
    for (let i = 0; i < n; i++) {
      const id = generateId();
      for (let p = 0; p < 25; p++) counts[p]!.set(id[p]!, (counts[p]!.get(id[p]!) ?? 0) + 1);
    }
    const totals = new Map<string, number>();
    for (const position of counts) {
      expect(position.size).toBe(36);
      for (const [c, k] of position) totals.set(c, (totals.get(c) ?? 0) + k);
    }
    const expected = (n * 25) / 36;
    for (const k of totals.values()) expect(Math.abs(k - expected) / expected).toBeLessThan(0.05);
  });
});
