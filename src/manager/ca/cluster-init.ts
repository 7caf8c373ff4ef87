// `orch init`: everything a new cluster's CA starts with. A cluster ID, a root CA, worker and
// manager join secrets, and the first manager's certificate, signed locally (there is no one to
// join yet). The caller stores the state and writes the manager's material to its data dir.
import type { ClusterCAState, IssuedCertificateRecord } from './ca-store';
import { createKeyAndCertificateRequest } from './certificate-request';
import { generateJoinSecrets, joinTokensFor } from './join-token';
import type { NodeTLSMaterial } from './node-certificate-provider';
import { type NodeRole, newRandomId } from './node-identity';
import { DEFAULT_NODE_CERT_VALIDITY_MS, DEFAULT_ROOT_CA_VALIDITY_MS, RootCA } from './root-ca';

export interface InitializeClusterOptions {
  /** The first manager's advertise address (host:port). */
  advertiseAddr: string;
  /** `--cert-expiry`; default 90 days. */
  nodeCertificateValidityMs?: number;
  rootCAValidityMs?: number;
  now?: Date;
}

export interface InitializedCluster {
  state: ClusterCAState;
  /** The first manager's TLS material (write it with writeNodeTLSMaterial). */
  firstManager: NodeTLSMaterial;
  /** Record it in the store like any join, so the manager can renew. */
  firstManagerRecord: IssuedCertificateRecord;
  joinTokens: Record<NodeRole, string>;
}

export async function initializeCluster(options: InitializeClusterOptions): Promise<InitializedCluster> {
  const now = options.now ?? new Date();
  const clusterId = newRandomId();
  const nodeCertificateValidityMs = options.nodeCertificateValidityMs ?? DEFAULT_NODE_CERT_VALIDITY_MS;
  const root = await RootCA.create({
    clusterId,
    validityMs: options.rootCAValidityMs ?? DEFAULT_ROOT_CA_VALIDITY_MS,
    now,
  });
  const joinSecrets = generateJoinSecrets();
  const nodeId = newRandomId();
  const { keyPem, csrPem } = await createKeyAndCertificateRequest();
  const issued = await root.issueNodeCertificate({
    csrPem,
    nodeId,
    role: 'manager',
    advertiseAddr: options.advertiseAddr,
    validityMs: nodeCertificateValidityMs,
    now,
  });
  return {
    state: {
      clusterId,
      rootCACertificatePem: root.certificatePem,
      rootCAKeyPem: root.keyPem,
      joinSecrets,
      nodeCertificateValidityMs,
    },
    firstManager: {
      nodeId,
      role: 'manager',
      clusterId,
      rootCACertificatePem: root.certificatePem,
      certificatePem: issued.certificatePem,
      keyPem,
    },
    firstManagerRecord: {
      nodeId,
      role: 'manager',
      advertiseAddr: options.advertiseAddr,
      serialNumber: issued.serialNumber,
      notBeforeMs: issued.notBefore.getTime(),
      notAfterMs: issued.notAfter.getTime(),
      joined: true,
    },
    joinTokens: joinTokensFor(root.digest, joinSecrets),
  };
}
