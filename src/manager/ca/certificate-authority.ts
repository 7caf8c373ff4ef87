// The cluster CA as managers run it: checks join tokens, assigns node IDs, signs node certificates
// on join and renewal, and rotates join tokens. Its state lives behind CAStore; it holds nothing
// a restart would lose. It never decides who may call it: authorization.ts does, before it runs.
import type { Logger } from 'pino';
import {
  CertificateRevokedError,
  InvalidJoinTokenError,
  UnknownNodeError,
  WrongClusterError,
} from './ca-errors';
import type { CAStore } from './ca-store';
import { type Clock, systemClock } from './clock';
import { joinTokensFor, parseJoinToken, roleForSecret, rotateJoinSecret } from './join-token';
import { type NodeAvailability, type NodeIdentity, type NodeRole, newRandomId } from './node-identity';
import { RootCA } from './root-ca';

/** What a node receives: its identity, its certificate and the root it chains to. */
export interface IssuedNode {
  nodeId: string;
  role: NodeRole;
  clusterId: string;
  certificatePem: string;
  rootCACertificatePem: string;
  notAfter: Date;
}

export interface IssueRequest {
  csrPem: string;
  token: string;
  advertiseAddr: string;
  /** The availability the joining node's Node object starts with; default active. */
  availability?: NodeAvailability;
}

export interface RenewRequest {
  csrPem: string;
  advertiseAddr: string;
}

export interface CertificateAuthorityOptions {
  store: CAStore;
  logger: Logger;
  clock?: Clock;
}

export class CertificateAuthority {
  private readonly store: CAStore;
  private readonly logger: Logger;
  private readonly clock: Clock;
  private cached?: { certificatePem: string; keyPem: string; root: Promise<RootCA> };

  constructor(options: CertificateAuthorityOptions) {
    this.store = options.store;
    this.logger = options.logger.child({ module: 'ca' });
    this.clock = options.clock ?? systemClock;
  }

  /** The root CA as the store has it now (parsed once per distinct certificate and key). */
  private async rootCA(): Promise<RootCA> {
    const state = await this.store.getClusterCA();
    if (
      this.cached?.certificatePem !== state.rootCACertificatePem ||
      this.cached.keyPem !== state.rootCAKeyPem
    ) {
      const root = RootCA.load(state.rootCACertificatePem, state.rootCAKeyPem);
      this.cached = { certificatePem: state.rootCACertificatePem, keyPem: state.rootCAKeyPem, root };
      root.catch(() => {
        if (this.cached?.root === root) this.cached = undefined;
      });
    }
    return this.cached.root;
  }

  async rootCertificatePem(): Promise<string> {
    return (await this.rootCA()).certificatePem;
  }

  /** The current worker and manager tokens (`orch join-token`). */
  async joinTokens(): Promise<Record<NodeRole, string>> {
    const [root, state] = await Promise.all([this.rootCA(), this.store.getClusterCA()]);
    return joinTokensFor(root.digest, state.joinSecrets);
  }

  /** Replaces one role's secret; returns the new token. Tokens with the old secret fail from now on. */
  async rotateJoinToken(role: NodeRole): Promise<string> {
    const state = await this.store.getClusterCA();
    const secrets = rotateJoinSecret(state.joinSecrets, role);
    await this.store.setJoinSecrets(secrets);
    this.logger.info({ role }, 'join token rotated');
    return joinTokensFor((await this.rootCA()).digest, secrets)[role];
  }

  /** Join: the token's secret decides the role; the CA assigns a new node ID. */
  async issueNodeCertificate(request: IssueRequest): Promise<IssuedNode> {
    const token = parseJoinToken(request.token);
    const [root, state] = await Promise.all([this.rootCA(), this.store.getClusterCA()]);
    if (token.caDigest !== root.digest) {
      throw new InvalidJoinTokenError("it was made for another cluster's CA");
    }
    const role = roleForSecret(state.joinSecrets, token.secret);
    if (!role) throw new InvalidJoinTokenError('wrong secret');

    let nodeId = newRandomId();
    while (await this.store.getNode(nodeId)) nodeId = newRandomId();
    const issued = await root.issueNodeCertificate({
      csrPem: request.csrPem,
      nodeId,
      role,
      advertiseAddr: request.advertiseAddr,
      validityMs: state.nodeCertificateValidityMs,
      now: new Date(this.clock.now()),
    });
    await this.store.recordIssuedCertificate({
      nodeId,
      role,
      advertiseAddr: request.advertiseAddr,
      serialNumber: issued.serialNumber,
      notBeforeMs: issued.notBefore.getTime(),
      notAfterMs: issued.notAfter.getTime(),
      joined: true,
      availability: request.availability ?? 'active',
    });
    this.logger.info({ nodeId, role, advertiseAddr: request.advertiseAddr }, 'node joined');
    return {
      nodeId,
      role,
      clusterId: root.clusterId,
      certificatePem: issued.certificatePem,
      rootCACertificatePem: root.certificatePem,
      notAfter: issued.notAfter,
    };
  }

  /**
   * Renewal for a node authenticated by its current certificate: same node ID, the role the
   * cluster now wants for it (so promote/demote take effect), a fresh validity period.
   */
  async renewNodeCertificate(peer: NodeIdentity, request: RenewRequest): Promise<IssuedNode> {
    const [root, state] = await Promise.all([this.rootCA(), this.store.getClusterCA()]);
    if (peer.clusterId !== root.clusterId) throw new WrongClusterError(root.clusterId, peer.clusterId);
    const node = await this.store.getNode(peer.nodeId);
    if (!node) throw new UnknownNodeError(peer.nodeId);
    if (node.removed) throw new CertificateRevokedError(peer.nodeId);
    const issued = await root.issueNodeCertificate({
      csrPem: request.csrPem,
      nodeId: peer.nodeId,
      role: node.desiredRole,
      advertiseAddr: request.advertiseAddr,
      validityMs: state.nodeCertificateValidityMs,
      now: new Date(this.clock.now()),
    });
    await this.store.recordIssuedCertificate({
      nodeId: peer.nodeId,
      role: node.desiredRole,
      advertiseAddr: request.advertiseAddr,
      serialNumber: issued.serialNumber,
      notBeforeMs: issued.notBefore.getTime(),
      notAfterMs: issued.notAfter.getTime(),
      joined: false,
    });
    this.logger.info(
      { nodeId: peer.nodeId, role: node.desiredRole, previousRole: peer.role },
      'node certificate renewed',
    );
    return {
      nodeId: peer.nodeId,
      role: node.desiredRole,
      clusterId: root.clusterId,
      certificatePem: issued.certificatePem,
      rootCACertificatePem: root.certificatePem,
      notAfter: issued.notAfter,
    };
  }
}
