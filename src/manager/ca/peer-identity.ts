// Reads a peer's node identity from the certificate its TLS connection presented.
// grpc-js reports the peer certificate only when the handshake verified it against our trusted
// root (call.getAuthContext()); a peer without one, or with one from another CA, has no identity.
import type { PeerCertificate } from 'node:tls';
import type * as grpc from '@grpc/grpc-js';
import { isValidNodeId, type NodeIdentity, roleFromOrganizationalUnit } from './node-identity';

/** Subject attributes as Node's TLS reports them: a string, or an array when repeated. */
export interface SubjectFields {
  CN?: string | readonly string[];
  OU?: string | readonly string[];
  O?: string | readonly string[];
}

function single(value: string | readonly string[] | undefined): string | undefined {
  if (typeof value === 'string') return value;
  return value?.length === 1 ? value[0] : undefined;
}

/** The identity in CN/OU/O, or undefined unless each is present exactly once and well formed. */
export function identityFromSubject(subject: SubjectFields): NodeIdentity | undefined {
  const nodeId = single(subject.CN);
  const ou = single(subject.OU);
  const clusterId = single(subject.O);
  if (!nodeId || !ou || !clusterId || !isValidNodeId(nodeId)) return undefined;
  const role = roleFromOrganizationalUnit(ou);
  return role ? { nodeId, role, clusterId } : undefined;
}

export function identityFromPeerCertificate(
  certificate: PeerCertificate | undefined,
): NodeIdentity | undefined {
  if (!certificate?.subject) return undefined;
  return identityFromSubject(certificate.subject as SubjectFields);
}

/** Anything with grpc-js's getAuthContext(): server calls, client calls. */
export interface AuthenticatedCall {
  getAuthContext(): ReturnType<grpc.ServerUnaryCall<unknown, unknown>['getAuthContext']> | null;
}

/**
 * The verified identity of the peer on the other end of a call, or undefined when the peer
 * presented no certificate our trusted root verifies (a joining node, or a stranger).
 */
export function peerIdentity(call: AuthenticatedCall): NodeIdentity | undefined {
  const context = call.getAuthContext();
  if (context?.transportSecurityType !== 'ssl') return undefined;
  return identityFromPeerCertificate(context.sslPeerCertificate);
}
