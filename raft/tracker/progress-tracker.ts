// ProgressTracker: the current configuration (voters and learners), the leader's Progress for every member,
// and the votes of the election in progress. Quorum questions (what is committed, who won, is a majority
// alive) are answered over voters only: learners are tracked and replicated to but never counted.
import { committedIndex, hasQuorum, type VoteResult, voteResult } from '../quorum';
import type { ConfState, NodeId } from '../types';
import { Progress } from './progress';

export class ProgressTracker {
  /** Sorted voter ids. Disjoint from learners. */
  voters: NodeId[] = [];
  /** Sorted learner ids. */
  learners: NodeId[] = [];
  /** One entry per voter and learner. */
  readonly progress = new Map<NodeId, Progress>();
  /** Votes received in the current (pre-)election, by voter. */
  readonly votes = new Map<NodeId, boolean>();
  private readonly maxInflight: number;

  constructor(maxInflight: number) {
    this.maxInflight = maxInflight;
  }

  confState(): ConfState {
    return { voters: [...this.voters], learners: [...this.learners] };
  }

  isVoter(id: NodeId): boolean {
    return this.voters.includes(id);
  }

  /** Every member, voters first, each group sorted: the order messages are sent in. */
  members(): NodeId[] {
    return [...this.voters, ...this.learners];
  }

  /** Switches to a configuration, creating Progress (next = nextIndex) for new members and dropping old ones. */
  setConfState(cs: ConfState, nextIndex: number): void {
    this.voters = [...new Set(cs.voters)].sort();
    this.learners = [...new Set(cs.learners)].filter((id) => !this.voters.includes(id)).sort();
    const members = new Set(this.members());
    for (const id of [...this.progress.keys()]) if (!members.has(id)) this.progress.delete(id);
    for (const id of members) {
      const isLearner = !this.voters.includes(id);
      const pr = this.progress.get(id);
      if (pr) {
        pr.isLearner = isLearner;
      } else {
        const fresh = new Progress(nextIndex, this.maxInflight, isLearner);
        // A new member counts as active so that adding it cannot make the leader step down at once.
        fresh.recentActive = true;
        this.progress.set(id, fresh);
      }
    }
  }

  /** Resets every Progress for a new term (next = nextIndex, nothing known to match). */
  resetProgress(nextIndex: number): void {
    for (const id of this.members()) {
      this.progress.set(id, new Progress(nextIndex, this.maxInflight, !this.voters.includes(id)));
    }
  }

  committed(): number {
    return committedIndex(this.voters, (id) => this.progress.get(id)?.match);
  }

  /** Whether a majority of voters were heard from recently (check-quorum). */
  quorumActive(): boolean {
    return hasQuorum(this.voters, (id) => this.progress.get(id)?.recentActive === true);
  }

  resetVotes(): void {
    this.votes.clear();
  }

  /** Records a vote; a voter's first answer in an election is the one that counts. */
  recordVote(id: NodeId, granted: boolean): void {
    if (!this.votes.has(id)) this.votes.set(id, granted);
  }

  tallyVotes(): { granted: number; rejected: number; result: VoteResult } {
    let granted = 0;
    let rejected = 0;
    for (const id of this.voters) {
      const v = this.votes.get(id);
      if (v === true) granted++;
      else if (v === false) rejected++;
    }
    return { granted, rejected, result: voteResult(this.voters, this.votes) };
  }
}
