// Each deliberate Raft bug must be caught by the simulator's checkers within a few hundred seeds.
// The search stops at the first failing seed, so a caught bug costs only the seeds up to it.

import { RAFT_BUGS } from '../../raft/sim/bugs';
import { runSeeds } from '../../raft/sim/runner';
import type { ViolationKind } from '../../raft/sim/safety-monitor';
import type { RaftBug } from '../../raft/types';

/** What each bug is expected to break first (any of these). */
const EXPECTED: Record<RaftBug, ViolationKind[]> = {
  'commit-old-term-entries': [
    'commitment-rule',
    'state-machine-safety',
    'leader-completeness',
    'durability',
    'linearizability',
  ],
  'vote-without-log-check': [
    'leader-completeness',
    'durability',
    'state-machine-safety',
    'linearizability',
    'log-matching',
  ],
  'vote-not-persisted': ['vote-safety', 'election-safety'],
  'apply-before-persist': [
    'durability',
    'commitment-rule',
    'state-machine-safety',
    'leader-completeness',
    'linearizability',
  ],
};

describe('simulator against deliberate raft bugs', () => {
  it.each(RAFT_BUGS)('catches %s within 500 seeds', (bug) => {
    const results = runSeeds({ from: 1, count: 500, bug, stopOnFirstViolation: true });
    const failing = results[results.length - 1]!;
    expect(failing.violations.length).toBeGreaterThan(0);
    expect(EXPECTED[bug]).toContain(failing.violations[0]!.kind);
  });
});
