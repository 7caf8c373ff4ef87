// The Control API's own errors: what a request can get wrong beyond the store's checks (a reference
// that matches nothing or several objects, an operation the cluster's state forbids) and what the
// serving node can't do (not a manager, no leader, no quorum). Each message is one line a user can
// act on; control-status.ts turns them into gRPC statuses at the edge.

/** Base of every Control API error. */
export class ControlError extends Error {
  override name = 'ControlError';
}

export type ObjectKind = 'node' | 'service' | 'task' | 'network';

/** A reference (ID, prefix, name or hostname) that matches no object. */
export class NoSuchObjectError extends ControlError {
  override name = 'NoSuchObjectError';
  constructor(
    readonly kind: ObjectKind,
    readonly reference: string,
    options?: { cause?: unknown },
  ) {
    super(`no such ${kind}: ${reference}`, options);
  }
}

/** A reference (an ID prefix, a hostname) that matches more than one object. */
export class AmbiguousReferenceError extends ControlError {
  override name = 'AmbiguousReferenceError';
  constructor(
    readonly kind: ObjectKind,
    readonly reference: string,
    readonly candidates: readonly string[],
    options?: { cause?: unknown },
  ) {
    const shown = candidates.slice(0, 5).join(', ') + (candidates.length > 5 ? ', …' : '');
    super(
      `${kind} reference "${reference}" is ambiguous: it matches ${candidates.length} ${kind}s (${shown}); use a longer ID`,
      options,
    );
  }
}

/** The request is well formed but the cluster's state does not allow it (docker's FailedPrecondition). */
export class FailedPreconditionError extends ControlError {
  override name = 'FailedPreconditionError';
}

/** A field of the request itself is wrong (not the spec: SpecError covers that). */
export class InvalidRequestError extends ControlError {
  override name = 'InvalidRequestError';
  constructor(
    readonly field: string,
    problem: string,
    options?: { cause?: unknown },
  ) {
    super(`${field}: ${problem}`, options);
  }
}

/** The serving node is a worker: the Control API lives on managers only. */
export class NotManagerError extends ControlError {
  override name = 'NotManagerError';
  constructor() {
    super('this node is not a manager; run the command on a manager');
  }
}

/** This manager is not the leader and could not hand the write to one. */
export class NoLeaderError extends ControlError {
  override name = 'NoLeaderError';
  constructor(
    readonly leaderHint = '',
    options?: { cause?: unknown },
  ) {
    super(
      leaderHint
        ? `this manager is not the leader and could not reach the leader (${leaderHint}); try again`
        : 'the cluster has no leader at the moment (an election may be running); try again',
      options,
    );
  }
}

/**
 * The managers can't reach a majority of themselves: nothing can be written or read linearizably
 * until enough of them are back (or the cluster is recovered with --force-new-cluster).
 */
export class QuorumLostError extends ControlError {
  override name = 'QuorumLostError';
  constructor(options?: { cause?: unknown }) {
    super(
      'the cluster has lost its quorum of managers: bring enough managers back online to restore it',
      options,
    );
  }
}
