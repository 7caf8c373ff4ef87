// The ReadIndex protocol (Raft thesis §6.4): linearizable reads without writing to the log. The leader
// records its commit index for the request, confirms it is still leader with a heartbeat round acknowledged
// by a quorum, then answers with that index; the reader waits until it has applied up to it. A leader that
// has not yet committed an entry of its own term does not know the latest commit index, so it holds reads
// back until it has. Followers send their requests to the leader, which answers them directly.
import { ProposalDroppedError } from './errors';
import { hasQuorum } from './quorum';
import type { Raft } from './raft';
import type { ReadRequest } from './read-only';
import { bcastHeartbeat } from './replication';
import { MessageType, NONE, Role } from './types';
import { newMessage } from './util';

export function readIndex(r: Raft, context: Uint8Array): void {
  if (r.role === Role.Leader) {
    serveReadIndex(r, { from: r.id, context });
  } else if (r.leader === NONE) {
    throw new ProposalDroppedError('not-leader', NONE, 'read dropped: no known leader');
  } else {
    r.send(newMessage(MessageType.ReadIndex, r.id, r.leader, r.term, { context }));
  }
}

/** Leader: a read request (ours or a follower's). */
export function serveReadIndex(r: Raft, request: ReadRequest): void {
  if (r.tracker.voters.length === 1 && r.tracker.isVoter(r.id)) {
    // Nobody can have deposed a single voter: its commit index is always current.
    respondToRead(r, request, r.log.committed);
  } else if (r.log.termOrZero(r.log.committed) !== r.term) {
    r.pendingReadIndexRequests.push(request);
  } else {
    r.readOnly.addRequest(r.log.committed, request);
    r.readOnly.recvAck(r.id, request.context);
    bcastHeartbeat(r, request.context);
  }
}

/** Leader: a heartbeat response echoed a read context; answer every read a quorum has now confirmed. */
export function ackReadIndex(r: Raft, from: string, context: Uint8Array): void {
  const acks = r.readOnly.recvAck(from, context);
  if (!acks || !hasQuorum(r.tracker.voters, (id) => acks.has(id))) return;
  for (const status of r.readOnly.advance(context)) respondToRead(r, status.request, status.index);
}

/** Leader: an entry of this term committed; serve the reads that waited for it. */
export function releasePendingReads(r: Raft): void {
  if (r.pendingReadIndexRequests.length === 0) return;
  if (r.log.termOrZero(r.log.committed) !== r.term) return;
  const pending = r.pendingReadIndexRequests;
  r.pendingReadIndexRequests = [];
  for (const request of pending) serveReadIndex(r, request);
}

function respondToRead(r: Raft, request: ReadRequest, index: number): void {
  if (request.from === r.id) {
    r.readStates.push({ index, context: request.context });
  } else {
    r.send(
      newMessage(MessageType.ReadIndexResponse, r.id, request.from, r.term, {
        index,
        context: request.context,
      }),
    );
  }
}
