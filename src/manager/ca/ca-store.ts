// What the CA keeps across restarts and shares between managers, as an interface: the replicated
// store backs it in a running cluster (the Cluster object holds the root CA and join secrets,
// Node objects the issued nodes and their desired role, the cluster's removed-node list the
// revocations). The CA never reaches the store any other way, so it is testable without Raft.
import type { JoinSecrets } from './join-token';
import type { NodeAvailability, NodeRole } from './node-identity';

export interface ClusterCAState {
  clusterId: string;
  rootCACertificatePem: string;
  /** PKCS#8 PEM. Only managers ever hold it. */
  rootCAKeyPem: string;
  joinSecrets: JoinSecrets;
  /** Validity of node certificates issued from now on (`--cert-expiry`). */
  nodeCertificateValidityMs: number;
}

/** The CA's view of a node: what the cluster says its role should be, and whether it was removed. */
export interface CANodeRecord {
  nodeId: string;
  /** The role the next certificate must carry; promote/demote change it. */
  desiredRole: NodeRole;
  removed: boolean;
}

/** Written each time the CA signs a certificate for a node (join and renewal). */
export interface IssuedCertificateRecord {
  nodeId: string;
  role: NodeRole;
  advertiseAddr: string;
  serialNumber: string;
  notBeforeMs: number;
  notAfterMs: number;
  /** True on join: the store creates the node (Swarm creates the Node object here). */
  joined: boolean;
  /** On join: the availability the created node starts with (`orch join --availability`). */
  availability?: NodeAvailability;
}

export interface CAStore {
  getClusterCA(): Promise<ClusterCAState>;
  /** Replaces the join secrets (token rotation). Tokens with the old secret fail from then on. */
  setJoinSecrets(secrets: JoinSecrets): Promise<void>;
  getNode(nodeId: string): Promise<CANodeRecord | undefined>;
  /**
   * Records an issued certificate. On join it creates the node with `role` as its desired role and
   * must fail if the node ID exists already; the CA only answers the joiner after this succeeded.
   */
  recordIssuedCertificate(record: IssuedCertificateRecord): Promise<void>;
}

/** Node IDs whose certificates are refused on every call. A Set<string> satisfies it. */
export interface RevocationList {
  has(nodeId: string): boolean;
}
