// Majority quorum maths over a set of voters: the committed index and the outcome of an election.
// Pure functions of their inputs; learners never appear here (callers pass voters only).
import type { NodeId } from './types';

export type VoteResult = 'won' | 'lost' | 'pending';

/** The smallest number of voters that forms a majority of n. */
export function quorumSize(n: number): number {
  return Math.floor(n / 2) + 1;
}

/**
 * The highest index stored on a majority of voters: with the voters' match indexes sorted in descending
 * order, the quorum-th one. Voters without a known match count as 0. An empty voter set commits nothing.
 */
export function committedIndex(
  voters: readonly NodeId[],
  matchOf: (id: NodeId) => number | undefined,
): number {
  const n = voters.length;
  if (n === 0) return 0;
  // Insertion sort, descending: called on every acknowledgement a leader receives, for a handful of
  // voters, where Array.prototype.sort with a comparator allocated more than the rest of the step.
  const matches: number[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const match = matchOf(voters[i]!) ?? 0;
    let j = i;
    for (; j > 0 && matches[j - 1]! < match; j--) matches[j] = matches[j - 1]!;
    matches[j] = match;
  }
  return matches[quorumSize(n) - 1]!;
}

/**
 * Whether the recorded votes decide an election: won once a majority granted, lost once a majority can no
 * longer be reached, pending otherwise. Votes from non-voters are ignored.
 */
export function voteResult(voters: readonly NodeId[], votes: ReadonlyMap<NodeId, boolean>): VoteResult {
  if (voters.length === 0) return 'won';
  let granted = 0;
  let missing = 0;
  for (const id of voters) {
    const vote = votes.get(id);
    if (vote === undefined) missing++;
    else if (vote) granted++;
  }
  const q = quorumSize(voters.length);
  if (granted >= q) return 'won';
  if (granted + missing >= q) return 'pending';
  return 'lost';
}

/** Whether at least a majority of voters satisfy the predicate. */
export function hasQuorum(voters: readonly NodeId[], predicate: (id: NodeId) => boolean): boolean {
  let count = 0;
  for (const id of voters) if (predicate(id)) count++;
  return count >= quorumSize(voters.length);
}
