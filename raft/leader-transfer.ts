// Leadership transfer (Raft thesis §3.10): the leader stops accepting proposals, brings the target's log
// up to date, then sends it TimeoutNow so it campaigns at once (its vote requests bypass the leader lease).
// The leader gives up after one election timeout (Raft.tickHeartbeat) or when the target leaves the voters.
import { LeadershipTransferError, ProposalDroppedError } from './errors';
import type { Raft } from './raft';
import { sendAppend } from './replication';
import { MessageType, type NodeId, Role } from './types';
import { newMessage } from './util';

export function transferLeadership(r: Raft, to: NodeId): void {
  if (r.role !== Role.Leader) {
    throw new ProposalDroppedError(
      'not-leader',
      r.leader,
      'leadership transfer must be requested on the leader',
    );
  }
  if (to === r.id) return;
  const pr = r.tracker.progress.get(to);
  if (!pr) throw new LeadershipTransferError(to, `cannot transfer leadership to ${to}: not a member`);
  if (pr.isLearner) throw new LeadershipTransferError(to, `cannot transfer leadership to learner ${to}`);
  if (r.leadTransferee === to) return;
  r.abortLeaderTransfer();
  // The transfer must finish within one election timeout, counted from now.
  r.electionElapsed = 0;
  r.leadTransferee = to;
  r.logger.info({ node: r.id, term: r.term, to, match: pr.match }, 'transferring leadership');
  if (pr.match === r.log.lastIndex()) sendTimeoutNow(r, to);
  else sendAppend(r, to);
}

/** Leader: the transfer target is caught up (called after each of its append responses). */
export function maybeFinishTransfer(r: Raft, from: NodeId): void {
  const pr = r.tracker.progress.get(from);
  if (from !== r.leadTransferee || !pr || pr.match !== r.log.lastIndex()) return;
  r.logger.info({ node: r.id, term: r.term, to: from }, 'transfer target caught up; sending TimeoutNow');
  sendTimeoutNow(r, from);
}

function sendTimeoutNow(r: Raft, to: NodeId): void {
  r.send(newMessage(MessageType.TimeoutNow, r.id, to, r.term));
}
