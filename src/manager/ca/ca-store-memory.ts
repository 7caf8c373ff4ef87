// An in-memory CAStore: the CA's state for tests and for a single process that does not need it
// to survive a restart. It also keeps the revocation list the authorization layer reads.
import type {
  CANodeRecord,
  CAStore,
  ClusterCAState,
  IssuedCertificateRecord,
  RevocationList,
} from './ca-store';
import type { JoinSecrets } from './join-token';
import type { NodeRole } from './node-identity';

export class NodeExistsError extends Error {
  override name = 'NodeExistsError';
  constructor(
    readonly nodeId: string,
    options?: { cause?: unknown },
  ) {
    super(`node ${nodeId} already exists`, options);
  }
}

export class MemoryCAStore implements CAStore {
  private state: ClusterCAState;
  private readonly nodes = new Map<string, CANodeRecord>();
  private readonly removedNodeIds = new Set<string>();
  /** Every certificate recorded, oldest first (for inspection). */
  readonly issued: IssuedCertificateRecord[] = [];

  constructor(state: ClusterCAState) {
    this.state = { ...state, joinSecrets: { ...state.joinSecrets } };
  }

  /** Live view of removed node IDs, for the authorization interceptor. */
  get revocations(): RevocationList {
    return this.removedNodeIds;
  }

  async getClusterCA(): Promise<ClusterCAState> {
    return { ...this.state, joinSecrets: { ...this.state.joinSecrets } };
  }

  async setJoinSecrets(secrets: JoinSecrets): Promise<void> {
    this.state = { ...this.state, joinSecrets: { ...secrets } };
  }

  async getNode(nodeId: string): Promise<CANodeRecord | undefined> {
    const node = this.nodes.get(nodeId);
    return node && { ...node };
  }

  async recordIssuedCertificate(record: IssuedCertificateRecord): Promise<void> {
    if (record.joined) {
      if (this.nodes.has(record.nodeId) || this.removedNodeIds.has(record.nodeId)) {
        throw new NodeExistsError(record.nodeId);
      }
      this.nodes.set(record.nodeId, { nodeId: record.nodeId, desiredRole: record.role, removed: false });
    }
    this.issued.push({ ...record });
  }

  /** Adds a node that exists without having joined through the CA (the first manager at init). */
  addNode(nodeId: string, role: NodeRole): void {
    this.nodes.set(nodeId, { nodeId, desiredRole: role, removed: false });
  }

  /** Promote or demote: the next certificate the node gets carries this role. */
  setDesiredRole(nodeId: string, role: NodeRole): void {
    const node = this.nodes.get(nodeId);
    if (node) node.desiredRole = role;
  }

  /** `orch node rm`: the node's certificate is refused from now on. */
  removeNode(nodeId: string): void {
    const node = this.nodes.get(nodeId);
    if (node) node.removed = true;
    this.removedNodeIds.add(nodeId);
  }

  setNodeCertificateValidity(validityMs: number): void {
    this.state = { ...this.state, nodeCertificateValidityMs: validityMs };
  }
}
