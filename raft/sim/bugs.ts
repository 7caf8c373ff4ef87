// The deliberate Raft bugs the simulator can switch on (RaftBug in raft/types.ts), as a runtime
// list. The type assertion below stops compiling when RaftBug gains a member missing here.

import type { RaftBug } from '../types';

export const RAFT_BUGS = [
  'commit-old-term-entries',
  'vote-without-log-check',
  'vote-not-persisted',
  'apply-before-persist',
] as const satisfies readonly RaftBug[];

type Missing = Exclude<RaftBug, (typeof RAFT_BUGS)[number]>;
const everyBugListed: [Missing] extends [never] ? true : Missing = true;
void everyBugListed;

export function isRaftBug(name: string): name is RaftBug {
  return (RAFT_BUGS as readonly string[]).includes(name);
}
