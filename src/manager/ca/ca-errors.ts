// The ways joining, issuing and authorizing can fail. Each message is one line a user can act on.
// They become gRPC status codes only at the edge (ca-status.ts) and typed errors again on the client.
import type { NodeRole } from './node-identity';

/** The join token is malformed, carries the wrong secret, or names another cluster's CA. */
export class InvalidJoinTokenError extends Error {
  override name = 'InvalidJoinTokenError';
  constructor(
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`invalid join token: ${reason}`, options);
  }
}

/** The manager we dialled presented a CA other than the one the join token pins. */
export class CAMismatchError extends Error {
  override name = 'CAMismatchError';
  constructor(
    readonly expectedDigest: string,
    readonly actualDigest: string,
    options?: { cause?: unknown },
  ) {
    super("the manager's CA does not match the join token", options);
  }
}

/** The caller presented no certificate from this cluster's CA. */
export class UnauthenticatedError extends Error {
  override name = 'UnauthenticatedError';
  constructor(
    readonly target: string,
    options?: { cause?: unknown },
  ) {
    super(`${target} requires a node certificate from this cluster's CA`, options);
  }
}

/** A valid certificate whose role may not call the target (a worker calling a manager-only service). */
export class PermissionDeniedError extends Error {
  override name = 'PermissionDeniedError';
  constructor(
    readonly role: NodeRole,
    readonly target: string,
    options?: { cause?: unknown },
  ) {
    super(`this certificate (${role}) may not call ${target}`, options);
  }
}

/** The certificate belongs to a node that was removed from the cluster. */
export class CertificateRevokedError extends Error {
  override name = 'CertificateRevokedError';
  constructor(
    readonly nodeId: string,
    options?: { cause?: unknown },
  ) {
    super(`node ${nodeId} was removed from the cluster; its certificate is revoked`, options);
  }
}

/** The certificate names another cluster than the one this node belongs to. */
export class WrongClusterError extends Error {
  override name = 'WrongClusterError';
  constructor(
    readonly expectedClusterId: string,
    readonly actualClusterId: string,
    options?: { cause?: unknown },
  ) {
    super(`this certificate belongs to cluster ${actualClusterId}, not ${expectedClusterId}`, options);
  }
}

/** A CSR, advertise address or other request field the CA will not sign. */
export class InvalidCertificateRequestError extends Error {
  override name = 'InvalidCertificateRequestError';
  constructor(
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`invalid certificate request: ${reason}`, options);
  }
}

/** A renewal for a node the cluster has no record of. */
export class UnknownNodeError extends Error {
  override name = 'UnknownNodeError';
  constructor(
    readonly nodeId: string,
    options?: { cause?: unknown },
  ) {
    super(`node ${nodeId} is not known to this cluster`, options);
  }
}

/** Certificate or key material on disk or in the store that cannot be used. */
export class InvalidCertificateError extends Error {
  override name = 'InvalidCertificateError';
  constructor(
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`invalid certificate: ${reason}`, options);
  }
}

/** An error the remote CA reported that has no typed counterpart here (UNAVAILABLE, INTERNAL...). */
export class CARequestError extends Error {
  override name = 'CARequestError';
  constructor(
    message: string,
    readonly code: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
