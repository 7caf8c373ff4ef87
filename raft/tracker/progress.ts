// Progress: the leader's view of one peer's log, and the flow-control state that decides what to send it.
//
//  probe      we do not know where the follower's log matches: send one Append per heartbeat interval
//             (or per response) and back off on rejection until it matches;
//  replicate  the follower accepts our appends: send optimistically (pipelining), up to the inflights window;
//  snapshot   the follower needs a snapshot; nothing else is sent until it is reported installed or failed.

import { Inflights } from './inflights';

export enum ProgressState {
  Probe = 'probe',
  Replicate = 'replicate',
  Snapshot = 'snapshot',
}

export class Progress {
  /** Highest index known to match the leader's log. Invariant: match < next. */
  match = 0;
  /** Index of the next entry to send. */
  next: number;
  state = ProgressState.Probe;
  /** In snapshot state, the index of the snapshot being sent. */
  pendingSnapshot = 0;
  /** Heard from since the last check-quorum round (the leader's own entry is always active). */
  recentActive = false;
  /** In probe state, an Append was sent and we wait for its answer (or the next heartbeat response). */
  probeSent = false;
  isLearner: boolean;
  readonly inflights: Inflights;

  constructor(next: number, maxInflight: number, isLearner: boolean) {
    this.next = next;
    this.isLearner = isLearner;
    this.inflights = new Inflights(maxInflight);
  }

  private resetState(state: ProgressState): void {
    this.probeSent = false;
    this.pendingSnapshot = 0;
    this.state = state;
    this.inflights.reset();
  }

  becomeProbe(): void {
    // After a snapshot, probe from the snapshot's index: the follower has at least that.
    if (this.state === ProgressState.Snapshot) {
      const pending = this.pendingSnapshot;
      this.resetState(ProgressState.Probe);
      this.next = Math.max(this.match + 1, pending + 1);
    } else {
      this.resetState(ProgressState.Probe);
      this.next = this.match + 1;
    }
  }

  becomeReplicate(): void {
    this.resetState(ProgressState.Replicate);
    this.next = this.match + 1;
  }

  becomeSnapshot(snapshotIndex: number): void {
    this.resetState(ProgressState.Snapshot);
    this.pendingSnapshot = snapshotIndex;
  }

  /** An acknowledgement up to n arrived; returns false when it is stale (n is not above match). */
  maybeUpdate(n: number): boolean {
    let updated = false;
    if (this.match < n) {
      this.match = n;
      updated = true;
      this.probeSent = false;
    }
    this.next = Math.max(this.next, n + 1);
    return updated;
  }

  /** Records that entries up to lastIndex were just sent (pipelining in replicate, one probe otherwise). */
  sentEntries(lastIndex: number, entryCount: number): void {
    if (this.state === ProgressState.Replicate) {
      if (entryCount > 0) {
        this.next = lastIndex + 1;
        this.inflights.add(lastIndex);
      }
    } else if (this.state === ProgressState.Probe) {
      this.probeSent = true;
    }
  }

  /**
   * A rejection of the Append at `rejected` arrived, with the follower's hint of where its log may match.
   * Returns false when the rejection is stale (it answers an earlier message than the one that matters).
   */
  maybeDecrTo(rejected: number, matchHint: number): boolean {
    if (this.state === ProgressState.Replicate) {
      if (rejected <= this.match) return false;
      // Pipelined appends past the gap are all doomed: restart right after what is known to match.
      this.next = this.match + 1;
      return true;
    }
    // In probe state only the answer to the latest probe (sent at next-1) counts. A rejection at or below
    // what the follower already confirmed cannot happen while logs are safe; ignoring it keeps a broken
    // cluster (bug switches, lost storage) from looping on the same probe.
    if (this.next - 1 !== rejected || rejected <= this.match) return false;
    this.next = Math.max(Math.min(rejected, matchHint + 1), this.match + 1);
    this.probeSent = false;
    return true;
  }

  /** Whether the leader must hold off sending appends to this peer for now. */
  isPaused(): boolean {
    switch (this.state) {
      case ProgressState.Probe:
        return this.probeSent;
      case ProgressState.Replicate:
        return this.inflights.full();
      case ProgressState.Snapshot:
        return true;
    }
  }
}
