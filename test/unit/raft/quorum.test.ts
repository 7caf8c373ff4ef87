import { committedIndex, quorumSize, voteResult } from '../../../raft/index';
import { Inflights } from '../../../raft/tracker/inflights';
import { mulberry32 } from './network';

describe('raft quorum maths', () => {
  it('needs a strict majority', () => {
    expect([1, 2, 3, 4, 5, 6, 7].map(quorumSize)).toEqual([1, 2, 2, 3, 3, 4, 4]);
  });

  it('commits the quorum-th largest match index (property, random matches)', () => {
    const random = mulberry32(42);
    for (let run = 0; run < 500; run++) {
      const n = 1 + Math.floor(random() * 7);
      const voters = Array.from({ length: n }, (_, i) => `n${i}`);
      const match = new Map(voters.map((id) => [id, Math.floor(random() * 100)]));
      const committed = committedIndex(voters, (id) => match.get(id));
      const sorted = [...match.values()].sort((a, b) => b - a);
      expect(committed).toBe(sorted[quorumSize(n) - 1]);
      // Defining property: a majority has at least the committed index, and no larger index has a majority.
      const atLeast = (i: number) => [...match.values()].filter((m) => m >= i).length;
      expect(atLeast(committed)).toBeGreaterThanOrEqual(quorumSize(n));
      expect(atLeast(committed + 1)).toBeLessThan(quorumSize(n));
    }
  });

  it('counts voters without a known match as 0 and commits nothing without voters', () => {
    expect(committedIndex(['a', 'b', 'c'], (id) => (id === 'a' ? 10 : undefined))).toBe(0);
    expect(committedIndex([], () => 5)).toBe(0);
  });

  it('decides elections once a majority granted or can no longer grant (property)', () => {
    const random = mulberry32(7);
    for (let run = 0; run < 500; run++) {
      const n = 1 + Math.floor(random() * 7);
      const voters = Array.from({ length: n }, (_, i) => `n${i}`);
      const votes = new Map<string, boolean>();
      for (const id of voters) {
        const r = random();
        if (r < 0.4) votes.set(id, true);
        else if (r < 0.8) votes.set(id, false);
      }
      const granted = [...votes.values()].filter(Boolean).length;
      const rejected = votes.size - granted;
      const expected = granted >= quorumSize(n) ? 'won' : n - rejected >= quorumSize(n) ? 'pending' : 'lost';
      expect(voteResult(voters, votes)).toBe(expected);
    }
  });

  it('ignores votes from non-voters', () => {
    expect(
      voteResult(
        ['a', 'b', 'c'],
        new Map([
          ['x', true],
          ['y', true],
          ['a', true],
        ]),
      ),
    ).toBe('pending');
  });
});

describe('raft inflights window', () => {
  it('fills up to capacity and frees acknowledged messages in order', () => {
    const inflights = new Inflights(3);
    inflights.add(5);
    inflights.add(7);
    inflights.add(9);
    expect(inflights.full()).toBe(true);
    expect(() => inflights.add(10)).toThrow(RangeError);
    inflights.freeLE(7);
    expect(inflights.size()).toBe(1);
    inflights.add(11);
    inflights.add(12);
    expect(inflights.full()).toBe(true);
    inflights.freeFirstOne();
    expect(inflights.size()).toBe(2);
    inflights.freeLE(100);
    expect(inflights.size()).toBe(0);
  });

  it('wraps around its ring buffer (property)', () => {
    const random = mulberry32(3);
    const inflights = new Inflights(8);
    const model: number[] = [];
    let next = 1;
    for (let step = 0; step < 2000; step++) {
      if (random() < 0.6 && !inflights.full()) {
        inflights.add(next);
        model.push(next);
        next += 1 + Math.floor(random() * 3);
      } else {
        const upTo = model.length > 0 ? model[Math.floor(random() * model.length)]! : 0;
        inflights.freeLE(upTo);
        while (model.length > 0 && model[0]! <= upTo) model.shift();
      }
      expect(inflights.size()).toBe(model.length);
      expect(inflights.full()).toBe(model.length === 8);
    }
  });
});
