// grpc-js credentials for node-to-node mutual TLS, fed by a certificate provider so a renewed
// certificate is served and presented from the next handshake on, without restarting anything.
//  - Servers present node certificate + root CA, request a client certificate and verify it
//    against the cluster root only. A manager's listener also lets a peer without a certificate
//    finish the handshake (it is joining); such a peer is anonymous and authorization.ts lets it
//    reach only GetRootCACertificate and IssueNodeCertificate.
//  - Clients trust only the cluster root and check the server as "a node of our cluster with the
//    expected role", never by host name: nodes are dialled by IP.
import type { PeerCertificate } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import type { Authorizer } from './authorization';
import type { RevocationList } from './ca-store';
import type { NodeCertificateProvider } from './node-certificate-provider';
import { type NodeRole, roleToOrganizationalUnit } from './node-identity';
import { identityFromPeerCertificate } from './peer-identity';

export interface NodeServerCredentialsOptions {
  certificates: NodeCertificateProvider;
  /** Enforced on every call through these credentials. */
  authorizer: Authorizer;
  /**
   * Let peers without a client certificate complete the handshake so they can join (a manager's
   * listener serving the CA). Default true. When false the handshake itself requires a
   * certificate signed by the cluster root: no certificate, or one from another CA, is refused
   * before any call.
   */
  acceptJoiners?: boolean;
}

export function createNodeServerCredentials(options: NodeServerCredentialsOptions): grpc.ServerCredentials {
  const { certificates } = options;
  const requireClientCertificate = options.acceptJoiners === false;
  // grpc-js names the parameters (ca, identity) but passes them on as (identity, ca); one
  // provider serves both, so the order cannot matter.
  const tls = grpc.experimental.createCertificateProviderServerCredentials(
    certificates,
    certificates,
    requireClientCertificate,
  );
  return grpc.experimental.createServerCredentialsWithInterceptors(tls, [options.authorizer.interceptor()]);
}

/** The TLS server name clients send; certificates carry it as a SAN. Never an IP (RFC 6066). */
export const MANAGER_SERVER_NAME = roleToOrganizationalUnit('manager');

/** Channel options to use with node channel credentials (server name, not the dialled IP). */
export const NODE_CHANNEL_OPTIONS: grpc.ChannelOptions = {
  'grpc.ssl_target_name_override': MANAGER_SERVER_NAME,
};

export class ServerIdentityError extends Error {
  override name = 'ServerIdentityError';
  code = 'ERR_ORCH_SERVER_IDENTITY';
}

/** A checkServerIdentity that accepts any node of `clusterId()` with `role`, ignoring host names. */
export function checkClusterServer(
  clusterId: () => string | undefined,
  role: NodeRole | undefined,
  revoked?: RevocationList,
): (hostname: string, certificate: PeerCertificate) => Error | undefined {
  return (_hostname, certificate) => {
    const identity = identityFromPeerCertificate(certificate);
    if (!identity) return new ServerIdentityError('the server certificate carries no orch node identity');
    if (revoked?.has(identity.nodeId)) {
      return new ServerIdentityError(
        `the server is node ${identity.nodeId}, which was removed from the cluster`,
      );
    }
    const expectedCluster = clusterId();
    if (expectedCluster !== undefined && identity.clusterId !== expectedCluster) {
      return new ServerIdentityError(
        `the server belongs to cluster ${identity.clusterId}, not ${expectedCluster}`,
      );
    }
    if (role && identity.role !== role) {
      return new ServerIdentityError(`the server is not a ${role} (its certificate says ${identity.role})`);
    }
    return undefined;
  };
}

export interface NodeChannelCredentialsOptions {
  /** The role the server must have. Default 'manager': nodes only ever dial managers. */
  serverRole?: NodeRole | 'any';
  /** Removed nodes: a server presenting one of their certificates is refused in the handshake. */
  revoked?: RevocationList;
}

/** Client side of node-to-node mTLS: present our certificate, trust only the cluster root. */
export function createNodeChannelCredentials(
  certificates: NodeCertificateProvider,
  options: NodeChannelCredentialsOptions = {},
): grpc.ChannelCredentials {
  const role = options.serverRole ?? 'manager';
  return grpc.experimental.createCertificateProviderChannelCredentials(certificates, certificates, {
    checkServerIdentity: checkClusterServer(
      () => certificates.current.clusterId,
      role === 'any' ? undefined : role,
      options.revoked,
    ),
  });
}

/** Built on first use and kept: see createUnverifiedChannelCredentials. */
let unverifiedChannelCredentials: grpc.ChannelCredentials | undefined;

/**
 * For the first step of a join only: TLS that accepts any server certificate, used to fetch the
 * root CA certificate whose digest the joiner then compares with its token. Nothing secret
 * travels over it. Built once per process and shared: grpc-js loads Node's whole root store into
 * a secure context for it (tens of ms), which a host joining many nodes paid on every join. The
 * credentials hold no per-join state, so every channel can use the same object.
 */
export function createUnverifiedChannelCredentials(): grpc.ChannelCredentials {
  unverifiedChannelCredentials ??= grpc.credentials.createSsl(null, null, null, {
    rejectUnauthorized: false,
  });
  return unverifiedChannelCredentials;
}

/** A joiner's credentials once it has pinned the root CA: trust it alone, present no certificate. */
export function createPinnedRootChannelCredentials(
  rootCACertificatePem: string,
  clusterId: string,
): grpc.ChannelCredentials {
  return grpc.credentials.createSsl(Buffer.from(rootCACertificatePem), null, null, {
    checkServerIdentity: checkClusterServer(() => clusterId, 'manager'),
  });
}
