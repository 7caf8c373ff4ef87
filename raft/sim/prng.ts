// The simulator's only source of randomness: xoshiro128** seeded through splitmix32.
//
// Every random choice of a simulation run (fault injection, message delays, client choices, each
// Raft node's election jitter) comes from a Prng derived from the run's seed, so a seed replays
// exactly. Never use Math.random, Date.now or anything with ambient state next to it.

// Looked up once: inside Jest's sandbox every `Math.imul` goes through the context's global object.
const imul = Math.imul;

/** splitmix32: spreads a 32-bit seed into well-mixed words to fill xoshiro's state. */
function splitmix32(state: { s: number }): number {
  state.s = (state.s + 0x9e3779b9) | 0;
  let z = state.s;
  z = imul(z ^ (z >>> 16), 0x85ebca6b);
  z = imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** A seeded pseudo-random number generator (xoshiro128**, period 2^128 - 1). */
export class Prng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  /** `seed` is any integer; different seeds give unrelated streams. */
  constructor(seed: number) {
    const mix = { s: (seed >>> 0) ^ Math.floor(seed / 0x100000000) };
    this.a = splitmix32(mix);
    this.b = splitmix32(mix);
    this.c = splitmix32(mix);
    this.d = splitmix32(mix);
    if ((this.a | this.b | this.c | this.d) === 0) this.d = 1; // the all-zero state is a fixed point
  }

  /** The next 32 random bits as an unsigned integer. */
  nextUint32(): number {
    const result = imul(rotl(imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return result;
  }

  /** A float uniformly distributed in [0, 1), with 32 bits of precision. */
  float(): number {
    return this.nextUint32() / 0x100000000;
  }

  /** An integer uniformly distributed in [0, n). */
  int(n: number): number {
    if (!Number.isInteger(n) || n <= 0)
      throw new RangeError(`Prng.int needs a positive integer bound, got ${n}`);
    // Rejection sampling removes the modulo bias of the top partial bucket.
    const limit = 0x100000000 - (0x100000000 % n);
    for (;;) {
      const x = this.nextUint32();
      if (x < limit) return x % n;
    }
  }

  /** An integer uniformly distributed in [lo, hi] (both inclusive). */
  between(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return p > 0 && this.float() < p;
  }

  /** One element of a non-empty array, uniformly. */
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('Prng.pick needs a non-empty array');
    return items[this.int(items.length)]!;
  }

  /** A new array with the items in a uniformly random order (Fisher–Yates). */
  shuffle<T>(items: readonly T[]): T[] {
    const out = items.slice();
    for (let i = out.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = out[i]!;
      out[i] = out[j]!;
      out[j] = tmp;
    }
    return out;
  }

  /**
   * An independent generator derived from this one. Forking per consumer (each node, the network,
   * the clients) keeps one consumer's extra draws from shifting every other consumer's stream.
   */
  fork(): Prng {
    return new Prng(this.nextUint32() * 0x100000000 + this.nextUint32());
  }
}
