// Message handling on the leader: append and heartbeat responses drive each follower's Progress (and the
// commit index), read requests go through ReadIndex, everything else is ignored.
import { maybeFinishTransfer } from './leader-transfer';
import type { Raft } from './raft';
import { ackReadIndex, serveReadIndex } from './read-index';
import { maybeSendAppend, sendAppend } from './replication';
import { ProgressState } from './tracker/progress';
import { type Message, MessageType } from './types';

export function stepLeader(r: Raft, m: Message): void {
  if (m.type === MessageType.ReadIndex) {
    serveReadIndex(r, { from: m.from, context: m.context ?? new Uint8Array() });
    return;
  }
  const pr = r.tracker.progress.get(m.from);
  if (!pr) {
    r.logger.debug(
      { node: r.id, term: r.term, from: m.from, type: m.type },
      'ignoring message from non-member',
    );
    return;
  }
  switch (m.type) {
    case MessageType.AppendResponse:
      pr.recentActive = true;
      if (m.reject) handleAppendRejection(r, m);
      else handleAppendSuccess(r, m);
      break;
    case MessageType.HeartbeatResponse:
      pr.recentActive = true;
      pr.probeSent = false;
      // The follower is alive; if the window is full its answers may have been lost: make room for one
      // more append, which will either succeed or be rejected and put the follower back into probe.
      if (pr.state === ProgressState.Replicate && pr.inflights.full()) pr.inflights.freeFirstOne();
      if (pr.match < r.log.lastIndex() || pr.state === ProgressState.Probe) sendAppend(r, m.from);
      if (m.context !== undefined && r.readOnly.size() > 0) ackReadIndex(r, m.from, m.context);
      break;
    default:
      r.logger.debug({ node: r.id, term: r.term, type: m.type, from: m.from }, 'leader ignoring message');
  }
}

function handleAppendRejection(r: Raft, m: Message): void {
  const pr = r.tracker.progress.get(m.from)!;
  // The follower's log holds nothing after rejectHint with a term above hintTerm; find where our log can
  // match it: the last index <= rejectHint whose term is <= hintTerm.
  const hintTerm = m.rejectTerm ?? m.logTerm;
  const nextProbe = hintTerm > 0 ? r.log.findConflictByTerm(m.rejectHint, hintTerm).index : m.rejectHint;
  if (pr.maybeDecrTo(m.index, nextProbe)) {
    r.logger.debug(
      { node: r.id, to: m.from, rejected: m.index, next: pr.next },
      'append rejected; backing off',
    );
    if (pr.state === ProgressState.Replicate) pr.becomeProbe();
    sendAppend(r, m.from);
  }
}

function handleAppendSuccess(r: Raft, m: Message): void {
  const pr = r.tracker.progress.get(m.from)!;
  if (m.index > r.log.lastIndex()) {
    // Only possible when our log lacks entries the follower holds as committed: Leader Completeness was
    // broken (a bug switch, or lost storage). Never trust it.
    r.logger.error(
      { node: r.id, term: r.term, from: m.from, index: m.index, lastIndex: r.log.lastIndex() },
      'follower acknowledged an index beyond our log',
    );
    return;
  }
  const wasPaused = pr.isPaused();
  if (!pr.maybeUpdate(m.index) && !(pr.match === m.index && pr.state === ProgressState.Probe)) return;
  switch (pr.state) {
    case ProgressState.Probe:
      pr.becomeReplicate();
      break;
    case ProgressState.Snapshot:
      // The snapshot (or enough log) arrived: replicate from here on.
      if (pr.match + 1 >= r.log.firstIndex()) {
        pr.becomeProbe();
        pr.becomeReplicate();
      }
      break;
    case ProgressState.Replicate:
      pr.inflights.freeLE(m.index);
      break;
  }
  if (r.maybeCommit()) {
    r.onCommitAdvanced();
  } else if (wasPaused) {
    sendAppend(r, m.from);
  }
  // Pipelining: keep the window full while there are entries to send.
  while (maybeSendAppend(r, m.from, false)) {}
  maybeFinishTransfer(r, m.from);
}
