// Membership changes during the fault phase, one server at a time through the leader: add a
// fresh node as a learner, promote a learner once it has caught up, remove a voter (the leader
// too, sometimes), always keeping between 3 and 7 voters (learners included in the upper bound).

import { ConfChangeType } from '../types';
import type { SimNode } from './node';
import type { Prng } from './prng';
import type { ClusterControl } from './simulation';

const MIN_VOTERS = 3;
const MAX_MEMBERS = 7;

export class MembershipController {
  changes = 0;

  constructor(
    private readonly cluster: ClusterControl,
    private readonly random: Prng,
  ) {}

  act(): void {
    const c = this.cluster;
    const leader = c.leader();
    if (leader === undefined) return;
    const { voters, learners } = leader.members;

    // A learner that has caught up is promoted first: learners exist only to become voters.
    for (const learner of learners) {
      if (voters.length < MAX_MEMBERS && leader.matchOf(learner) >= leader.commitIndex - 2) {
        this.propose(leader, ConfChangeType.AddVoter, learner);
        return;
      }
    }
    const roll = this.random.float();
    if (roll < 0.5 && voters.length + learners.length < MAX_MEMBERS) {
      // Reuse a node whose earlier AddLearner was lost, rather than piling up strays.
      const stray = c
        .memberNodes()
        .find((n) => n.up && !voters.includes(n.id) && !learners.includes(n.id) && n.applied === 0);
      const node = stray ?? c.addNode();
      this.propose(leader, ConfChangeType.AddLearner, node.id);
    } else if (voters.length > MIN_VOTERS) {
      const candidates = this.random.chance(0.2) ? voters : voters.filter((id) => id !== leader.id);
      this.propose(leader, ConfChangeType.RemoveNode, this.random.pick(candidates));
    }
  }

  private propose(leader: SimNode, type: ConfChangeType, nodeId: string): void {
    const accepted = leader.proposeConfChange({ type, nodeId });
    this.cluster.trace(
      `membership ${ConfChangeType[type]} ${nodeId} via ${leader.id}: ${accepted ? 'proposed' : 'dropped'}`,
    );
    if (accepted) this.changes++;
  }
}
