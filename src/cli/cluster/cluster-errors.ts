// Turns the errors a cluster command can meet into one clear line for the user (UserError). An
// error this does not know stays as it is, so a real bug still reaches the "internal error" path.
import { RemoteCallError } from '../../manager/manager-json-rpc';
import { UserError } from '../errors';

/** Error classes whose message is already written for the user. */
const USER_FACING = new Set([
  'InvalidJoinTokenError',
  'CAMismatchError',
  'CARequestError',
  'UnauthenticatedError',
  'PermissionDeniedError',
  'CertificateRevokedError',
  'WrongClusterError',
  'InvalidCertificateRequestError',
  'UnknownNodeError',
  'NodeStateError',
  'DaemonAlreadyRunningError',
  'DaemonNotRunningError',
  'DaemonStartError',
  'AddressError',
  'SpecError',
  'QuorumLostError',
  'MembershipRefusedError',
  'UnknownNodeIdError',
  'ClusterNotReadyError',
  'NodeServerListenError',
  'TransportListenError',
  'NodeMetricsListenError',
  'MeshAddressError',
  'MeshFastPathError',
]);

export function toUserError(err: unknown): unknown {
  if (err instanceof UserError || !(err instanceof Error)) return err;
  if (USER_FACING.has(err.name)) return new UserError(oneLine(err.message), 1, { cause: err });
  if (err instanceof RemoteCallError) return new UserError(oneLine(err.message), 1, { cause: err });
  if ((err as NodeJS.ErrnoException).code === 'EACCES') {
    return new UserError(`permission denied: ${oneLine(err.message)}`, 1, { cause: err });
  }
  return err;
}

function oneLine(message: string): string {
  return message.replace(/\s*\n\s*/g, ' ').trim();
}

/** Runs a command body, turning known errors into UserError. */
export async function withUserErrors<T>(body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (err) {
    throw toUserError(err);
  }
}
