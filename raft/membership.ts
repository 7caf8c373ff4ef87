// Applying a committed membership change to a running node.
//
// A change takes effect when the application applies its entry (as in etcd), not when it is appended:
// a configuration never has to be rolled back when a log tail is replaced, and every node switches at the
// same log position. This is safe with one-server changes because a leader proposes the next change only
// once the previous one is applied (Raft.proposeConfChange), and a node with committed but unapplied
// changes does not campaign (Raft.hup).
import { nextConfState } from './confchange';
import { InvalidConfChangeError } from './errors';
import type { Raft } from './raft';
import { maybeSendAppend } from './replication';
import { type ConfChange, type ConfState, NONE, Role } from './types';

export function applyConfChange(r: Raft, cc: ConfChange): ConfState {
  let next: ConfState;
  try {
    next = nextConfState(r.tracker.confState(), cc);
  } catch (err) {
    if (!(err instanceof InvalidConfChangeError)) throw err;
    // Deterministic on every node: the entry is committed, so all of them skip it alike.
    r.logger.warn({ node: r.id, err: err.message }, 'ignoring invalid conf change');
    return r.tracker.confState();
  }
  r.tracker.setConfState(next, r.log.lastIndex() + 1);
  const self = r.tracker.progress.get(r.id);
  r.isLearner = self?.isLearner ?? false;
  r.logger.info(
    { node: r.id, term: r.term, voters: next.voters, learners: next.learners },
    'configuration changed',
  );
  if (r.role !== Role.Leader) return r.tracker.confState();
  if (!self || self.isLearner) {
    // The change removing (or demoting) us is committed, and we have applied it: lead no longer. The
    // remaining voters elect a new leader once their election timeout passes.
    r.logger.info({ node: r.id, term: r.term }, 'stepping down: no longer a voter');
    r.becomeFollower(r.term, NONE);
    return r.tracker.confState();
  }
  // A smaller quorum may commit more; a new member needs its first probe.
  if (r.maybeCommit()) r.onCommitAdvanced();
  else for (const id of r.tracker.members()) maybeSendAppend(r, id, false);
  if (r.leadTransferee !== NONE && !r.tracker.isVoter(r.leadTransferee)) r.abortLeaderTransfer();
  return r.tracker.confState();
}
