// Errors of the dispatcher and how they cross the wire. Handlers throw these; grpcStatusOf turns
// them into a status at the service edge and the agent turns statuses back with dispatcherErrorOf.
import * as grpc from '@grpc/grpc-js';
import { LEADER_ADDR_METADATA_KEY } from './dispatcher-grpc';

export class DispatcherError extends Error {
  override name = 'DispatcherError';
}

/** This manager does not run the dispatcher (it is not the leader); `leaderAddr` is where to go. */
export class DispatcherNotLeaderError extends DispatcherError {
  override name = 'DispatcherNotLeaderError';
  constructor(
    readonly leaderAddr: string | undefined,
    options?: { cause?: unknown },
  ) {
    super(
      leaderAddr
        ? `dispatcher is not running on this manager: the leader is at ${leaderAddr}`
        : 'dispatcher is not running on this manager: no leader known',
      options,
    );
  }
}

/** The session ID is unknown, replaced by a newer session of the node, or belongs to another node. */
export class SessionInvalidError extends DispatcherError {
  override name = 'SessionInvalidError';
  constructor(readonly sessionId: string) {
    super(`session ${sessionId || '(none)'} is not valid: open a new session`);
  }
}

/** The call carried no verified node certificate. */
export class NodeUnauthenticatedError extends DispatcherError {
  override name = 'NodeUnauthenticatedError';
  constructor() {
    super('dispatcher: the caller presented no verified node certificate');
  }
}

/** The node's heartbeats stopped for longer than the grace period. */
export class HeartbeatExpiredError extends DispatcherError {
  override name = 'HeartbeatExpiredError';
  constructor(readonly nodeId: string) {
    super(`node ${nodeId}: heartbeat expired`);
  }
}

/** The dispatcher stopped (lost leadership or shut down) while the call was open. */
export class DispatcherStoppedError extends DispatcherError {
  override name = 'DispatcherStoppedError';
  constructor() {
    super('dispatcher stopped');
  }
}

export function grpcStatusOf(err: unknown): Partial<grpc.StatusObject> {
  const metadata = new grpc.Metadata();
  if (err instanceof DispatcherNotLeaderError) {
    if (err.leaderAddr) metadata.set(LEADER_ADDR_METADATA_KEY, err.leaderAddr);
    return { code: grpc.status.UNAVAILABLE, details: err.message, metadata };
  }
  if (err instanceof SessionInvalidError)
    return { code: grpc.status.NOT_FOUND, details: err.message, metadata };
  if (err instanceof NodeUnauthenticatedError)
    return { code: grpc.status.UNAUTHENTICATED, details: err.message, metadata };
  if (err instanceof HeartbeatExpiredError || err instanceof DispatcherStoppedError)
    return { code: grpc.status.UNAVAILABLE, details: err.message, metadata };
  const message = err instanceof Error ? err.message : String(err);
  return { code: grpc.status.UNAVAILABLE, details: `dispatcher: ${message}`, metadata };
}

/** What the agent makes of a failed call: NOT_FOUND means a new session; the rest, another try. */
export function dispatcherErrorOf(err: grpc.ServiceError): DispatcherError {
  if (err.code === grpc.status.NOT_FOUND) return new SessionInvalidError('');
  if (err.code === grpc.status.UNAVAILABLE) {
    const leader = err.metadata?.get(LEADER_ADDR_METADATA_KEY)[0];
    if (leader !== undefined || err.details.startsWith('dispatcher is not running'))
      return new DispatcherNotLeaderError(leader === undefined ? undefined : String(leader), { cause: err });
  }
  const error = new DispatcherError(`dispatcher call failed: ${err.details || err.message}`, { cause: err });
  return error;
}
