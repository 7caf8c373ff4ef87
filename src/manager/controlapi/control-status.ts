// The one place where errors become gRPC statuses for Control API callers. Every status carries the
// error's one-line message in `details` (what the CLI prints) and the error's class name in the
// `orch-error` trailer, so clients can tell kinds apart without parsing messages.
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { StoreError } from '../../store';
import { AllocatorError } from '../allocator';
import { SpecError } from '../spec';
import { ControlError } from './control-errors';

/** Trailer naming the error class (e.g. `VersionConflictError`). */
export const ERROR_NAME_METADATA_KEY = 'orch-error';
/** Trailer with the leader's address, when this manager is not the leader and knows it. */
export const LEADER_METADATA_KEY = 'orch-leader';

const CODE_BY_NAME: Readonly<Record<string, grpc.status>> = {
  // store
  VersionConflictError: grpc.status.ABORTED,
  NameConflictError: grpc.status.ALREADY_EXISTS,
  AlreadyExistsError: grpc.status.ALREADY_EXISTS,
  NotFoundError: grpc.status.NOT_FOUND,
  InvalidObjectError: grpc.status.INVALID_ARGUMENT,
  TransactionTooLargeError: grpc.status.INVALID_ARGUMENT,
  StoreClosedError: grpc.status.UNAVAILABLE,
  // spec validation
  SpecError: grpc.status.INVALID_ARGUMENT,
  // allocator rules the Control API enforces (published ports)
  PublishedPortConflictError: grpc.status.ALREADY_EXISTS,
  PortRangeExhaustedError: grpc.status.RESOURCE_EXHAUSTED,
  // control API
  NoSuchObjectError: grpc.status.NOT_FOUND,
  AmbiguousReferenceError: grpc.status.INVALID_ARGUMENT,
  InvalidRequestError: grpc.status.INVALID_ARGUMENT,
  FailedPreconditionError: grpc.status.FAILED_PRECONDITION,
  NotManagerError: grpc.status.UNAVAILABLE,
  NoLeaderError: grpc.status.UNAVAILABLE,
  QuorumLostError: grpc.status.UNAVAILABLE,
};

/**
 * Errors of the manager wiring (src/manager/manager-errors.ts) whose messages are already one line
 * for a user, known by name so this module does not import the manager.
 */
const MANAGER_CODES: Readonly<Record<string, grpc.status>> = {
  MembershipRefusedError: grpc.status.FAILED_PRECONDITION,
  UnknownNodeIdError: grpc.status.NOT_FOUND,
  ManagerStoppedError: grpc.status.UNAVAILABLE,
  ClusterNotReadyError: grpc.status.UNAVAILABLE,
  NotCaughtUpError: grpc.status.UNAVAILABLE,
};

/** Raft's errors, known by name so the Control API does not depend on the Raft runtime's classes. */
const RAFT_MESSAGES: Readonly<Record<string, string>> = {
  NotLeaderError: 'this manager is not the leader',
  LeadershipLostError:
    'leadership changed while the request was being applied; it may or may not have taken effect: check before retrying',
  ProposalOutcomeUnknownError:
    'the manager lost track of the request while it was being applied; it may or may not have taken effect: check before retrying',
  RaftStoppedError: 'the manager is shutting down; try again on another manager',
};

function isServiceError(err: unknown): err is grpc.ServiceError {
  return (
    err instanceof Error &&
    typeof (err as Partial<grpc.ServiceError>).code === 'number' &&
    typeof (err as Partial<grpc.ServiceError>).details === 'string'
  );
}

/** The status a Control handler answers with for `err`. Unknown errors are logged and become INTERNAL. */
export function controlStatusFromError(err: unknown, logger?: Logger): grpc.StatusObject {
  const metadata = new grpc.Metadata();
  // A status from the leader (forwarded call): pass it on unchanged.
  if (isServiceError(err)) {
    return { code: err.code, details: err.details, metadata: err.metadata ?? metadata };
  }
  if (!(err instanceof Error)) {
    logger?.error({ err }, 'control API: non-error thrown');
    return { code: grpc.status.INTERNAL, details: 'internal error in the control API', metadata };
  }
  metadata.set(ERROR_NAME_METADATA_KEY, err.name);
  if (err.name === 'AbortError' || err.name === 'RequestAbortedError') {
    return { code: grpc.status.CANCELLED, details: 'the request was cancelled', metadata };
  }
  const known = CODE_BY_NAME[err.name];
  if (
    known !== undefined &&
    (err instanceof ControlError ||
      err instanceof SpecError ||
      err instanceof StoreError ||
      err instanceof AllocatorError)
  ) {
    return { code: known, details: oneLine(err.message), metadata };
  }
  const managerCode = MANAGER_CODES[err.name];
  if (managerCode !== undefined) return { code: managerCode, details: oneLine(err.message), metadata };
  const raftMessage = RAFT_MESSAGES[err.name];
  if (raftMessage !== undefined) {
    let details = raftMessage;
    if (err.name === 'NotLeaderError') {
      const { leader, leaderAddress } = err as Error & { leader?: unknown; leaderAddress?: unknown };
      if (typeof leaderAddress === 'string' && leaderAddress)
        metadata.set(LEADER_METADATA_KEY, leaderAddress);
      details +=
        typeof leader === 'string' && leader
          ? `; the leader is ${leader}${typeof leaderAddress === 'string' && leaderAddress ? ` at ${leaderAddress}` : ''}`
          : '; no leader is known (an election may be running): try again';
    }
    return { code: grpc.status.UNAVAILABLE, details, metadata };
  }
  logger?.error({ err }, 'control API: internal error');
  return {
    code: grpc.status.INTERNAL,
    details: `internal error in the control API: ${oneLine(err.message)}`,
    metadata,
  };
}

/** The error object a unary callback or stream `destroy` takes for `err`. */
export function controlServiceError(err: unknown, logger?: Logger): grpc.ServiceError {
  const status = controlStatusFromError(err, logger);
  return Object.assign(new Error(status.details), status);
}

function oneLine(message: string): string {
  return message.replace(/\s*\n\s*/g, ' ').trim();
}
