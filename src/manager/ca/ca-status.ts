// The edge between the CA's typed errors and gRPC statuses, in both directions.
// Servers call statusFromError(); clients call errorFromStatus() to get the same typed error back.
import * as grpc from '@grpc/grpc-js';
import {
  CARequestError,
  CertificateRevokedError,
  InvalidCertificateRequestError,
  InvalidJoinTokenError,
  PermissionDeniedError,
  UnauthenticatedError,
  UnknownNodeError,
  WrongClusterError,
} from './ca-errors';
import type { NodeRole } from './node-identity';

/** Trailing metadata naming the typed error and its fields, so the client can rebuild it. */
export const ERROR_METADATA_KEY = 'orch-error-bin';

interface WireForm {
  code: grpc.status;
  fields: (err: Error) => string[];
  revive: (fields: string[]) => Error;
}

const WIRE_FORMS: Record<string, WireForm> = {
  InvalidJoinTokenError: {
    code: grpc.status.UNAUTHENTICATED,
    fields: (e) => [(e as InvalidJoinTokenError).reason],
    revive: ([reason]) => new InvalidJoinTokenError(reason ?? ''),
  },
  UnauthenticatedError: {
    code: grpc.status.UNAUTHENTICATED,
    fields: (e) => [(e as UnauthenticatedError).target],
    revive: ([target]) => new UnauthenticatedError(target ?? ''),
  },
  PermissionDeniedError: {
    code: grpc.status.PERMISSION_DENIED,
    fields: (e) => [(e as PermissionDeniedError).role, (e as PermissionDeniedError).target],
    revive: ([role, target]) => new PermissionDeniedError(role as NodeRole, target ?? ''),
  },
  CertificateRevokedError: {
    code: grpc.status.PERMISSION_DENIED,
    fields: (e) => [(e as CertificateRevokedError).nodeId],
    revive: ([nodeId]) => new CertificateRevokedError(nodeId ?? ''),
  },
  WrongClusterError: {
    code: grpc.status.PERMISSION_DENIED,
    fields: (e) => [(e as WrongClusterError).expectedClusterId, (e as WrongClusterError).actualClusterId],
    revive: ([expected, actual]) => new WrongClusterError(expected ?? '', actual ?? ''),
  },
  InvalidCertificateRequestError: {
    code: grpc.status.INVALID_ARGUMENT,
    fields: (e) => [(e as InvalidCertificateRequestError).reason],
    revive: ([reason]) => new InvalidCertificateRequestError(reason ?? ''),
  },
  UnknownNodeError: {
    code: grpc.status.NOT_FOUND,
    fields: (e) => [(e as UnknownNodeError).nodeId],
    revive: ([nodeId]) => new UnknownNodeError(nodeId ?? ''),
  },
};

/** What a handler or interceptor sends for an error. Errors we do not know become INTERNAL. */
export function statusFromError(err: unknown): grpc.StatusObject {
  const metadata = new grpc.Metadata();
  if (err instanceof Error && Object.hasOwn(WIRE_FORMS, err.name)) {
    const form = WIRE_FORMS[err.name]!;
    metadata.set(
      ERROR_METADATA_KEY,
      Buffer.from(JSON.stringify({ name: err.name, fields: form.fields(err) })),
    );
    return { code: form.code, details: err.message, metadata };
  }
  return { code: grpc.status.INTERNAL, details: 'internal error in the certificate authority', metadata };
}

/** The error to pass to a unary callback: a gRPC ServiceError-shaped object. */
export function serviceErrorFromError(err: unknown): Partial<grpc.StatusObject> & Error {
  const status = statusFromError(err);
  return Object.assign(new Error(status.details), status);
}

function isServiceError(err: unknown): err is grpc.ServiceError {
  return err instanceof Error && typeof (err as grpc.ServiceError).code === 'number';
}

/**
 * The typed error a remote CA or an authorizing peer reported, rebuilt from the status and its
 * trailing metadata. Anything else becomes a CARequestError carrying the status code.
 */
export function errorFromStatus(err: unknown): Error {
  if (!isServiceError(err)) return err instanceof Error ? err : new Error(String(err));
  const [raw] = err.metadata?.get(ERROR_METADATA_KEY) ?? [];
  if (raw !== undefined) {
    try {
      const text = typeof raw === 'string' ? raw : raw.toString('utf8');
      const parsed = JSON.parse(text) as { name?: unknown; fields?: unknown };
      if (
        typeof parsed.name === 'string' &&
        Object.hasOwn(WIRE_FORMS, parsed.name) &&
        Array.isArray(parsed.fields) &&
        parsed.fields.every((f) => typeof f === 'string')
      ) {
        const revived = WIRE_FORMS[parsed.name]!.revive(parsed.fields as string[]);
        return Object.assign(revived, { cause: err });
      }
    } catch {
      // Malformed metadata from a foreign peer: fall through to the plain status.
    }
  }
  return new CARequestError(err.details || err.message, err.code, { cause: err });
}
