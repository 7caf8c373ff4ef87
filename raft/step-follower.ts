// Message handling for the roles that follow or seek to lead: follower, pre-candidate and candidate, plus
// vote requests (answered the same way in every role). The follower side of AppendEntries, heartbeats and
// snapshots lives here too.
import type { Raft } from './raft';
import { bcastAppend } from './replication';
import { type Message, MessageType, NONE, Role, type Snapshot } from './types';
import { newMessage } from './util';

export function stepFollower(r: Raft, m: Message): void {
  switch (m.type) {
    case MessageType.Append:
      r.electionElapsed = 0;
      r.leader = m.from;
      handleAppend(r, m);
      break;
    case MessageType.Heartbeat:
      r.electionElapsed = 0;
      r.leader = m.from;
      handleHeartbeat(r, m);
      break;
    case MessageType.Snapshot:
      r.electionElapsed = 0;
      r.leader = m.from;
      handleSnapshot(r, m);
      break;
    case MessageType.TimeoutNow:
      // The leader hands leadership to us: campaign now, skipping pre-vote and the lease.
      r.logger.info({ node: r.id, term: r.term, from: m.from }, 'received TimeoutNow; campaigning');
      r.hup('transfer');
      break;
    case MessageType.ReadIndex:
      // A read sent to us by a node that thought we lead: pass it on, the answer goes straight back.
      if (r.leader === NONE) {
        r.logger.debug({ node: r.id, from: m.from }, 'dropping forwarded read: no known leader');
      } else {
        r.send({ ...m, to: r.leader, term: r.term });
      }
      break;
    case MessageType.ReadIndexResponse:
      r.readStates.push({ index: m.index, context: m.context ?? new Uint8Array() });
      break;
    default:
      r.logger.debug({ node: r.id, term: r.term, type: m.type, from: m.from }, 'follower ignoring message');
  }
}

export function stepCandidate(r: Raft, m: Message): void {
  const responseType = r.role === Role.PreCandidate ? MessageType.PreVoteResponse : MessageType.VoteResponse;
  switch (m.type) {
    case MessageType.Append:
      // A leader of our term exists: it won, we lost.
      r.becomeFollower(m.term, m.from);
      handleAppend(r, m);
      return;
    case MessageType.Heartbeat:
      r.becomeFollower(m.term, m.from);
      handleHeartbeat(r, m);
      return;
    case MessageType.Snapshot:
      r.becomeFollower(m.term, m.from);
      handleSnapshot(r, m);
      return;
    case responseType: {
      const result = r.poll(m.from, !m.reject);
      if (result === 'won') {
        if (r.role === Role.PreCandidate) {
          r.campaignAfterPreVote();
        } else {
          r.becomeLeader();
          bcastAppend(r);
        }
      } else if (result === 'lost') {
        // Back to follower in our (unchanged, for a pre-candidate) term; the next timeout retries.
        r.becomeFollower(r.term, NONE);
      }
      return;
    }
    default:
      r.logger.debug({ node: r.id, term: r.term, type: m.type, from: m.from }, 'candidate ignoring message');
  }
}

/**
 * Vote and PreVote requests whose term is not below ours (stale ones never get here). We grant when we
 * have not voted for someone else in this term (or, for a pre-vote, the election it asks about is in a
 * later term), and the candidate's log is at least as up-to-date as ours (§5.4.1).
 */
export function handleVoteRequest(r: Raft, m: Message): void {
  const isPreVote = m.type === MessageType.PreVote;
  const responseType = isPreVote ? MessageType.PreVoteResponse : MessageType.VoteResponse;
  const canVote =
    r.vote === m.from || (r.vote === NONE && r.leader === NONE) || (isPreVote && m.term > r.term);
  // BUG SWITCH 'vote-without-log-check': grant without the election restriction.
  const upToDate = r.hasBug('vote-without-log-check') || r.log.isUpToDate(m.index, m.logTerm);
  if (canVote && upToDate) {
    r.logger.debug(
      { node: r.id, term: r.term, to: m.from, msgTerm: m.term, preVote: isPreVote },
      'granting vote',
    );
    // A granted pre-vote carries the candidate's future term so it is counted in that election.
    r.send(newMessage(responseType, r.id, m.from, m.term));
    if (!isPreVote) {
      r.electionElapsed = 0;
      r.vote = m.from;
    }
  } else {
    r.logger.debug(
      { node: r.id, term: r.term, to: m.from, msgTerm: m.term, preVote: isPreVote },
      'rejecting vote',
    );
    r.send(newMessage(responseType, r.id, m.from, r.term, { reject: true }));
  }
}

/** AppendEntries on a follower: the consistency check, then append and commit; or a rejection with a hint. */
function handleAppend(r: Raft, m: Message): void {
  if (m.index < r.log.committed) {
    // Everything up to our commit index already matches the leader's log: tell it where we are.
    r.send(newMessage(MessageType.AppendResponse, r.id, m.from, r.term, { index: r.log.committed }));
    return;
  }
  const lastNew = r.log.maybeAppend(m.index, m.logTerm, m.commit, m.entries);
  if (lastNew !== undefined) {
    r.send(newMessage(MessageType.AppendResponse, r.id, m.from, r.term, { index: lastNew }));
    return;
  }
  // Fast back-off: point the leader at the last index whose term is <= the term it sent; it can then skip
  // every entry of a conflicting term in one round trip instead of one entry per round trip.
  const hint = r.log.findConflictByTerm(Math.min(m.index, r.log.lastIndex()), m.logTerm);
  r.logger.debug(
    {
      node: r.id,
      term: r.term,
      index: m.index,
      logTerm: m.logTerm,
      hintIndex: hint.index,
      hintTerm: hint.term,
    },
    'rejecting append',
  );
  r.send(
    newMessage(MessageType.AppendResponse, r.id, m.from, r.term, {
      index: m.index,
      reject: true,
      rejectHint: hint.index,
      rejectTerm: hint.term,
      // Also carried in logTerm, for transports that predate rejectTerm.
      logTerm: hint.term,
    }),
  );
}

function handleHeartbeat(r: Raft, m: Message): void {
  // The leader sends min(our match, its commit): never more than we hold.
  r.log.commitTo(Math.min(m.commit, r.log.lastIndex()));
  const response = newMessage(MessageType.HeartbeatResponse, r.id, m.from, r.term);
  if (m.context !== undefined) response.context = m.context;
  r.send(response);
}

function handleSnapshot(r: Raft, m: Message): void {
  if (!m.snapshot) return;
  const index = restore(r, m.snapshot) ? r.log.lastIndex() : r.log.committed;
  r.send(newMessage(MessageType.AppendResponse, r.id, m.from, r.term, { index }));
}

/** Installs a leader's snapshot. Returns false when it brings nothing new. */
function restore(r: Raft, snap: Snapshot): boolean {
  if (snap.meta.index <= r.log.committed) return false;
  if (r.log.matchTerm(snap.meta.index, snap.meta.term)) {
    // We already hold the snapshot's last entry: just fast-forward commit.
    r.log.commitTo(snap.meta.index);
    return false;
  }
  r.log.restore(snap);
  // The configuration comes with the snapshot; the tracker's progress is meaningless on a follower.
  r.tracker.setConfState(snap.meta.confState, r.log.lastIndex() + 1);
  r.tracker.resetProgress(r.log.lastIndex() + 1);
  r.isLearner = r.tracker.learners.includes(r.id);
  r.logger.info(
    { node: r.id, term: r.term, snapshotIndex: snap.meta.index, snapshotTerm: snap.meta.term },
    'restored snapshot',
  );
  return true;
}
