// What a leader sends its followers: Append messages (batched by maxSizePerMsg, pipelined within the
// inflights window in replicate state, one at a time in probe state), snapshots when a follower needs
// entries that were compacted, and heartbeats. Flow control lives in Progress; this module decides what
// goes into each message.
import { CompactedError } from './errors';
import type { Raft } from './raft';
import { ProgressState } from './tracker/progress';
import { type Entry, MessageType, type NodeId, Role } from './types';
import { newMessage } from './util';

/**
 * Sends `to` the entries it is missing, if its Progress allows a message now. With sendIfEmpty, sends an
 * Append even without new entries (to probe, or to carry a new commit index). Returns whether it sent.
 */
export function maybeSendAppend(r: Raft, to: NodeId, sendIfEmpty: boolean): boolean {
  const pr = r.tracker.progress.get(to);
  if (!pr || to === r.id || pr.isPaused()) return false;
  const prevIndex = pr.next - 1;
  let prevTerm: number;
  let entries: Entry[];
  try {
    prevTerm = r.log.term(prevIndex);
    entries = r.log.entriesFrom(pr.next, r.cfg.maxSizePerMsg);
  } catch (err) {
    if (err instanceof CompactedError) return sendSnapshot(r, to);
    throw err;
  }
  if (entries.length === 0 && !sendIfEmpty) return false;
  const commit = r.log.committed;
  r.send(
    newMessage(MessageType.Append, r.id, to, r.term, {
      index: prevIndex,
      logTerm: prevTerm,
      entries,
      commit,
    }),
  );
  const last = entries.length > 0 ? entries[entries.length - 1]!.index : prevIndex;
  pr.sentEntries(last, entries.length);
  return true;
}

export function sendAppend(r: Raft, to: NodeId): void {
  maybeSendAppend(r, to, true);
}

/** The follower needs compacted entries: send the latest snapshot and wait for it to be installed. */
function sendSnapshot(r: Raft, to: NodeId): boolean {
  const pr = r.tracker.progress.get(to)!;
  if (!pr.recentActive) {
    // Do not ship a possibly large snapshot to a peer that has not answered lately.
    r.logger.debug({ node: r.id, to }, 'not sending snapshot to inactive peer');
    return false;
  }
  const snapshot = r.log.snapshot();
  r.logger.info(
    { node: r.id, term: r.term, to, snapshotIndex: snapshot.meta.index, match: pr.match },
    'sending snapshot to lagging follower',
  );
  pr.becomeSnapshot(snapshot.meta.index);
  r.send(newMessage(MessageType.Snapshot, r.id, to, r.term, { snapshot }));
  return true;
}

/** Sends every other member what it is missing (only those with new entries). */
export function bcastAppend(r: Raft): void {
  for (const id of r.tracker.members()) if (id !== r.id) sendAppend(r, id);
}

/**
 * A heartbeat carries commit = min(match, committed): a follower may not yet have entries up to our
 * commit index, and must never be told to commit what it might not hold.
 */
export function sendHeartbeat(r: Raft, to: NodeId, context: Uint8Array | undefined): void {
  const pr = r.tracker.progress.get(to);
  if (!pr) return;
  const commit = Math.min(pr.match, r.log.committed);
  const m = newMessage(MessageType.Heartbeat, r.id, to, r.term, { commit });
  if (context !== undefined) m.context = context;
  r.send(m);
}

export function bcastHeartbeat(
  r: Raft,
  context: Uint8Array | undefined = r.readOnly.lastPendingContext(),
): void {
  for (const id of r.tracker.members()) if (id !== r.id) sendHeartbeat(r, id, context);
}

/** The transport finished (or failed) sending a snapshot to `id`. */
export function reportSnapshot(r: Raft, id: NodeId, status: 'finish' | 'failure'): void {
  const pr = r.tracker.progress.get(id);
  if (r.role !== Role.Leader || !pr || pr.state !== ProgressState.Snapshot) return;
  if (status === 'failure') pr.pendingSnapshot = 0;
  // Probe from the snapshot (or from match after a failure) once the next heartbeat shows it alive.
  pr.becomeProbe();
  pr.probeSent = true;
  r.logger.debug({ node: r.id, to: id, status, next: pr.next }, 'snapshot reported');
}

/**
 * The transport could not reach `id`. On a leader: pipelined appends were probably lost, so probe
 * instead. On a follower, about its leader (e.g. the connection was reset: the leader's process
 * died): the leader's lease ends now instead of after a whole election timeout without news, so the
 * follower campaigns after only the random part of its timeout, [0, electionTick) ticks; the random
 * part keeps followers that lost the leader together from campaigning at the same tick. Harmless
 * when the leader is in fact alive: its next message restarts the timer, and a campaign that starts
 * anyway fails its pre-vote with every member still in the lease (see the lease check in step).
 */
export function reportUnreachable(r: Raft, id: NodeId): void {
  if (r.role === Role.Leader) {
    const pr = r.tracker.progress.get(id);
    if (pr?.state === ProgressState.Replicate) pr.becomeProbe();
    return;
  }
  if (r.role === Role.Follower && id === r.leader && r.electionElapsed < r.cfg.electionTick) {
    r.logger.debug({ node: r.id, term: r.term, leader: id }, 'leader unreachable: ending its lease');
    r.electionElapsed = r.cfg.electionTick;
  }
}
