// Errors of the manager wiring (raft + store + CA + leader loops). Each says in one line what the
// user can do about it; the CLI prints the message as is.
import { ControlError } from './controlapi/control-errors';

/**
 * Writes cannot commit: too few managers answer for a Raft majority. A ControlError, so the Control
 * API answers UNAVAILABLE with this message.
 */
export class QuorumLostError extends ControlError {
  override name = 'QuorumLostError';
  constructor(
    readonly unreachable: number,
    readonly managers: number,
    options?: { cause?: unknown },
  ) {
    super(
      `the cluster has lost quorum: ${unreachable} of ${managers} managers are unreachable; ` +
        'bring them back (orch daemon) before changing the cluster',
      options,
    );
  }
}

/** A membership operation the cluster refuses (it would lose quorum, the node is unknown, ...). */
export class MembershipRefusedError extends Error {
  override name = 'MembershipRefusedError';
}

/** The node named in a membership operation does not exist in the store. */
export class UnknownNodeIdError extends Error {
  override name = 'UnknownNodeIdError';
  constructor(
    readonly nodeId: string,
    options?: { cause?: unknown },
  ) {
    super(`node ${nodeId} is not part of this cluster`, options);
  }
}

/** The manager was stopped (or demoted) while a call was waiting on it. */
export class ManagerStoppedError extends Error {
  override name = 'ManagerStoppedError';
  constructor(options?: { cause?: unknown }) {
    super('this node is no longer running as a manager', options);
  }
}

/** The cluster state in the store is missing or inconsistent (e.g. no Cluster object yet). */
export class ClusterNotReadyError extends Error {
  override name = 'ClusterNotReadyError';
}
