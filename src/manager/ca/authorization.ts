// Who may call what over node-to-node gRPC, decided from the peer's verified certificate on every
// call: the role in it, its cluster, and whether the node was removed since it was issued.
// Rules name a service ("orch.raft.Raft") or one method ("/orch.ca.CA/IssueNodeCertificate");
// anything no rule names is manager-only. Enforced by a grpc-js server interceptor, so a handler
// runs only after its caller passed.
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import {
  CertificateRevokedError,
  PermissionDeniedError,
  UnauthenticatedError,
  WrongClusterError,
} from './ca-errors';
import { CA_SERVICE_NAME } from './ca-grpc';
import { statusFromError } from './ca-status';
import type { RevocationList } from './ca-store';
import type { NodeIdentity, NodeRole } from './node-identity';
import { peerIdentity } from './peer-identity';

/** A caller class: a node role, or 'anonymous' for a peer without a verified cluster certificate. */
export type Caller = NodeRole | 'anonymous';

export type AccessRules = Readonly<Record<string, readonly Caller[]>>;

/** The dispatcher's service name: workers hold sessions with it. */
export const DISPATCHER_SERVICE_NAME = 'orch.dispatcher.Dispatcher';

/** Proposal forwarding between managers (proto/orch/manager.proto). */
export const FORWARDING_SERVICE_NAME = 'orch.manager.Forwarding';

/** The leader's role-change notice to a node (proto/orch/node.proto). */
export const NODE_ROLE_SERVICE_NAME = 'orch.node.NodeRole';

/**
 * Joining needs only the CA's root certificate and IssueNodeCertificate (which checks the token);
 * workers reach the CA (renewal) and the dispatcher; all else, Raft included, is manager-only.
 */
export const DEFAULT_ACCESS_RULES: AccessRules = {
  [`/${CA_SERVICE_NAME}/GetRootCACertificate`]: ['anonymous', 'worker', 'manager'],
  [`/${CA_SERVICE_NAME}/IssueNodeCertificate`]: ['anonymous', 'worker', 'manager'],
  [CA_SERVICE_NAME]: ['worker', 'manager'],
  [DISPATCHER_SERVICE_NAME]: ['worker', 'manager'],
  // Manager-only like everything unnamed; named so that a wider default never opens them.
  [FORWARDING_SERVICE_NAME]: ['manager'],
  [NODE_ROLE_SERVICE_NAME]: ['manager'],
};

const MANAGER_ONLY: readonly Caller[] = ['manager'];

export interface AuthorizationOptions {
  /** Certificates naming another cluster are refused. */
  clusterId: string;
  /** Removed nodes; consulted on every call, so a removal takes effect at once. */
  revoked: RevocationList;
  /** Merged over DEFAULT_ACCESS_RULES; a key set here replaces the default's. */
  rules?: AccessRules;
  logger?: Logger;
}

/** The service part of a method path: "/orch.raft.Raft/Stream" → "orch.raft.Raft". */
function serviceOfPath(path: string): string {
  const trimmed = path.startsWith('/') ? path.slice(1) : path;
  const slash = trimmed.indexOf('/');
  return slash < 0 ? trimmed : trimmed.slice(0, slash);
}

export class Authorizer {
  private readonly rules: AccessRules;

  constructor(private readonly options: AuthorizationOptions) {
    this.rules = { ...DEFAULT_ACCESS_RULES, ...options.rules };
  }

  /** Who may call a method, and the name errors should use for it. */
  private ruleFor(path: string): { allowed: readonly Caller[]; target: string } {
    const method = path.startsWith('/') ? path : `/${path}`;
    if (Object.hasOwn(this.rules, method)) return { allowed: this.rules[method]!, target: method.slice(1) };
    const service = serviceOfPath(method);
    if (Object.hasOwn(this.rules, service)) return { allowed: this.rules[service]!, target: service };
    return { allowed: MANAGER_ONLY, target: service };
  }

  /**
   * Throws UnauthenticatedError, WrongClusterError, CertificateRevokedError or PermissionDeniedError
   * unless `peer` may call the method at `path`. Returns the peer (undefined for an allowed anonymous call).
   */
  authorize(path: string, peer: NodeIdentity | undefined): NodeIdentity | undefined {
    const { allowed, target } = this.ruleFor(path);
    if (allowed.includes('anonymous')) return peer;
    if (!peer) throw new UnauthenticatedError(target);
    if (peer.clusterId !== this.options.clusterId)
      throw new WrongClusterError(this.options.clusterId, peer.clusterId);
    if (this.options.revoked.has(peer.nodeId)) throw new CertificateRevokedError(peer.nodeId);
    if (!allowed.includes(peer.role)) throw new PermissionDeniedError(peer.role, target);
    return peer;
  }

  /** A grpc-js server interceptor that refuses unauthorized calls before any handler sees them. */
  interceptor(): grpc.ServerInterceptor {
    const logger = this.options.logger?.child({ module: 'authorization' });
    return (method, call) =>
      new grpc.ServerInterceptingCall(call, {
        start: (next) => {
          next({
            onReceiveMetadata: (metadata, passOn) => {
              const peer = peerIdentity(call);
              try {
                this.authorize(method.path, peer);
              } catch (err) {
                logger?.warn(
                  { method: method.path, peer: peer?.nodeId, reason: (err as Error).message },
                  'call refused',
                );
                call.sendStatus(statusFromError(err));
                return;
              }
              passOn(metadata);
            },
          });
        },
      });
  }
}
