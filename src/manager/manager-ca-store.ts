// The CA's state kept in the replicated store (CAStore over MemoryStore): the Cluster object holds
// the root CA, the join secrets and the removed-node list; Node objects are the issued nodes with
// their desired role. Every manager's CA reads its local replica; writes go through the store (and
// so through Raft, forwarded to the leader when this manager follows). It also keeps the revocation
// list the authorization interceptor consults on every call, refreshed from store events.
import { createHash, X509Certificate } from 'node:crypto';
import type { Cluster, ClusterInput, MemoryStore, Node, NodeInput, ReadTx } from '../store';
import type { CANodeRecord, CAStore, ClusterCAState, IssuedCertificateRecord, RevocationList } from './ca';
import { availabilityToWire, caDigestOfDer, type JoinSecrets } from './ca';
import { ClusterNotReadyError } from './manager-errors';

/** Swarm keeps one Cluster object; so do we. */
export const DEFAULT_CLUSTER_NAME = 'default';

const ROLE_TO_WIRE = { manager: 'NODE_ROLE_MANAGER', worker: 'NODE_ROLE_WORKER' } as const;

export function roleToStore(role: 'manager' | 'worker'): 'NODE_ROLE_MANAGER' | 'NODE_ROLE_WORKER' {
  return ROLE_TO_WIRE[role];
}

export function roleFromStore(role: string): 'manager' | 'worker' {
  return role === 'NODE_ROLE_MANAGER' ? 'manager' : 'worker';
}

export function secretHash(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/** The one Cluster object, or undefined before `orch init` wrote it. */
export function clusterOf(tx: ReadTx): Cluster | undefined {
  return tx.clusters.list()[0];
}

/** What `orch init` writes into a new cluster's store. */
export interface ClusterSettings {
  heartbeatPeriodMs: number;
  electionTick: number;
  heartbeatTick: number;
}

/** The Cluster object of a new cluster, from the CA state `initializeCluster` made. */
export function newClusterObject(state: ClusterCAState, settings: ClusterSettings): ClusterInput {
  const der = new X509Certificate(state.rootCACertificatePem).raw;
  return {
    meta: { id: state.clusterId },
    spec: {
      name: DEFAULT_CLUSTER_NAME,
      orchestration: { taskHistoryRetentionLimit: 5 },
      dispatcher: { heartbeatPeriodMs: settings.heartbeatPeriodMs },
      caConfig: { nodeCertExpiryMs: state.nodeCertificateValidityMs },
      raft: { electionTick: settings.electionTick, heartbeatTick: settings.heartbeatTick },
    },
    rootCaCertPem: state.rootCACertificatePem,
    rootCaKeyPem: Buffer.from(state.rootCAKeyPem),
    rootCaCertDigest: caDigestOfDer(der),
    workerJoinSecret: state.joinSecrets.worker,
    managerJoinSecret: state.joinSecrets.manager,
    workerTokenSecretHash: secretHash(state.joinSecrets.worker),
    managerTokenSecretHash: secretHash(state.joinSecrets.manager),
    removedNodes: [],
  };
}

/** The Node object the CA's record of an issued certificate creates (join) or updates (renewal). */
export function nodeFromIssuedCertificate(record: IssuedCertificateRecord, existing?: Node): NodeInput {
  const role = roleToStore(record.role);
  const certificate = {
    role,
    serialNumber: record.serialNumber,
    notBeforeMs: record.notBeforeMs,
    notAfterMs: record.notAfterMs,
  };
  if (existing) {
    return {
      ...existing,
      role,
      certificate,
      status: { ...existing.status!, addr: record.advertiseAddr || existing.status?.addr || '' },
    };
  }
  return {
    meta: { id: record.nodeId },
    spec: {
      desiredRole: role,
      availability: availabilityToWire(record.availability ?? 'active'),
      labels: {},
    },
    role,
    status: { state: 'NODE_STATE_UNKNOWN', message: '', addr: record.advertiseAddr, lastHeartbeatMs: 0 },
    managerStatus:
      record.role === 'manager'
        ? {
            raftId: record.nodeId,
            // The node address: what agents dial, and where Raft is served.
            addr: record.advertiseAddr,
            leader: false,
            reachable: false,
          }
        : null,
    certificate,
  };
}

export class NodeAlreadyExistsError extends Error {
  override name = 'NodeAlreadyExistsError';
}

/** CAStore over the replicated store. */
export class StoreCAStore implements CAStore {
  private readonly removed = new Set<string>();
  private readonly subscription: { close(): void };

  constructor(private readonly store: MemoryStore) {
    this.refreshRevocations();
    // Synchronous: a removal takes effect for the very next call, on every manager as it applies.
    this.subscription = store.subscribe(() => this.refreshRevocations(), { tables: ['clusters'] });
  }

  /** Removed node IDs; a live view for the authorization interceptor. */
  get revocations(): RevocationList {
    return this.removed;
  }

  close(): void {
    this.subscription.close();
  }

  /** Re-reads the removed-node list (also after a snapshot restore). */
  refreshRevocations(): void {
    const cluster = this.store.view((tx) => clusterOf(tx));
    this.removed.clear();
    for (const removed of cluster?.removedNodes ?? []) this.removed.add(removed.nodeId);
  }

  async getClusterCA(): Promise<ClusterCAState> {
    const cluster = this.store.view((tx) => clusterOf(tx));
    if (!cluster) throw new ClusterNotReadyError('the cluster object is not in the store yet');
    return {
      clusterId: cluster.meta!.id,
      rootCACertificatePem: cluster.rootCaCertPem,
      rootCAKeyPem: Buffer.from(cluster.rootCaKeyPem).toString(),
      joinSecrets: { worker: cluster.workerJoinSecret, manager: cluster.managerJoinSecret },
      nodeCertificateValidityMs: cluster.spec?.caConfig?.nodeCertExpiryMs || 90 * 24 * 3600 * 1000,
    };
  }

  async setJoinSecrets(secrets: JoinSecrets): Promise<void> {
    await this.store.update((tx) => {
      const cluster = clusterOf(tx);
      if (!cluster) throw new ClusterNotReadyError('the cluster object is not in the store yet');
      tx.clusters.update({
        ...cluster,
        workerJoinSecret: secrets.worker,
        managerJoinSecret: secrets.manager,
        workerTokenSecretHash: secretHash(secrets.worker),
        managerTokenSecretHash: secretHash(secrets.manager),
      });
    });
  }

  async getNode(nodeId: string): Promise<CANodeRecord | undefined> {
    return this.store.view((tx) => {
      const node = tx.nodes.get(nodeId);
      const removed = (clusterOf(tx)?.removedNodes ?? []).some((r) => r.nodeId === nodeId);
      if (!node) return removed ? { nodeId, desiredRole: 'worker', removed: true } : undefined;
      return { nodeId, desiredRole: roleFromStore(node.spec?.desiredRole ?? ''), removed };
    });
  }

  async recordIssuedCertificate(record: IssuedCertificateRecord): Promise<void> {
    await this.store.update((tx) => {
      const existing = tx.nodes.get(record.nodeId);
      if (record.joined) {
        const removed = (clusterOf(tx)?.removedNodes ?? []).some((r) => r.nodeId === record.nodeId);
        if (existing || removed) throw new NodeAlreadyExistsError(`node ${record.nodeId} already exists`);
        tx.nodes.create(nodeFromIssuedCertificate(record));
      } else if (existing) {
        tx.nodes.update(nodeFromIssuedCertificate(record, existing));
      }
    });
  }
}
