import { runSeeds } from '../../raft/sim/runner';
import { runSimulation } from '../../raft/sim/simulation';

describe('raft simulation', () => {
  it('finds no safety or linearizability violation in 300 seeds of every fault profile', () => {
    const results = runSeeds({ from: 1, count: 300 });
    const failures = results
      .filter((r) => r.violations.length > 0)
      .map((r) => `seed ${r.seed}: ${r.violations.map((v) => `${v.kind}: ${v.message}`).join('; ')}`);
    expect(failures).toEqual([]);
    expect(results).toHaveLength(300);
    // The runs did real work: clients got answers, leaders changed, nodes crashed, and every
    // history was decided (not left 'unknown' by the checker's budget).
    const total = (f: (r: (typeof results)[number]) => number) => results.reduce((sum, r) => sum + f(r), 0);
    expect(total((r) => r.stats.operations.ok)).toBeGreaterThan(300 * 40);
    expect(total((r) => r.stats.crashes)).toBeGreaterThan(300 * 5);
    expect(total((r) => r.stats.leaderTerms)).toBeGreaterThan(300 * 3);
    expect(total((r) => r.stats.membershipChanges)).toBeGreaterThan(100);
    expect(results.filter((r) => r.stats.linearizability !== 'ok').map((r) => r.seed)).toEqual([]);
    expect(new Set(results.map((r) => r.scenario.profile)).size).toBe(6);
  });

  it('replays a seed exactly: same trace, same digest, same outcome', () => {
    const first = runSimulation({ seed: 4242, trace: true });
    const second = runSimulation({ seed: 4242, trace: true });
    expect(second.digest).toBe(first.digest);
    expect(second.trace).toEqual(first.trace);
    expect(second.stats).toEqual(first.stats);
    expect(first.trace!.length).toBeGreaterThan(20);
  });

  it('replays a failing seed exactly, violations included', () => {
    const first = runSimulation({ seed: 1, bug: 'vote-without-log-check' });
    const second = runSimulation({ seed: 1, bug: 'vote-without-log-check' });
    expect(first.violations.length).toBeGreaterThan(0);
    expect(second.violations).toEqual(first.violations);
    expect(second.digest).toBe(first.digest);
  });

  it('gives different seeds different runs', () => {
    const digests = new Set([1, 2, 3, 4, 5].map((seed) => runSimulation({ seed }).digest));
    expect(digests.size).toBe(5);
  });

  it('honours the cluster size and length overrides', () => {
    const r = runSimulation({ seed: 7, nodes: 7, steps: 200 });
    expect(r.scenario).toMatchObject({ initialVoters: 7, ticks: 200 });
    expect(r.violations).toEqual([]);
    expect(r.stats.virtualMs).toBeGreaterThanOrEqual(2000);
  });
});
