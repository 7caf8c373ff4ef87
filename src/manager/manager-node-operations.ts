// Membership operations as store transactions: promote, demote and remove change Node objects and
// the cluster's removed-node list; the leader's membership loop turns that into Raft changes, the
// CA into the role of the next certificate, and authorization into refusing a removed node at once.
// The checks Swarm makes come first, so a refused request writes nothing.
import type { Logger } from 'pino';
import type { MemoryStore, Node, WriteTx } from '../store';
import { clusterOf } from './manager-ca-store';
import { ClusterNotReadyError, MembershipRefusedError, UnknownNodeIdError } from './manager-errors';

export interface MembershipContext {
  store: MemoryStore;
  selfId: string;
  logger: Logger;
}

function getNode(tx: WriteTx, nodeId: string): Node {
  const node = tx.nodes.get(nodeId);
  if (!node) throw new UnknownNodeIdError(nodeId);
  return node;
}

function isManager(node: Node): boolean {
  return node.spec?.desiredRole === 'NODE_ROLE_MANAGER' || node.role === 'NODE_ROLE_MANAGER';
}

export async function promoteNodeInStore(
  context: MembershipContext,
  nodeId: string,
  options: { signal?: AbortSignal },
): Promise<void> {
  await context.store.update(
    (tx) => {
      const node = getNode(tx, nodeId);
      if (node.spec?.desiredRole === 'NODE_ROLE_MANAGER') return;
      const addr = node.status?.addr ?? '';
      if (!addr)
        throw new MembershipRefusedError(
          `node ${nodeId} has no address to reach it at; it cannot be a manager`,
        );
      tx.nodes.update({
        ...node,
        spec: { ...node.spec!, desiredRole: 'NODE_ROLE_MANAGER' },
        managerStatus: { raftId: nodeId, addr, leader: false, reachable: false },
      });
    },
    { signal: options.signal },
  );
  context.logger.info({ nodeId }, 'node promoted to manager');
}

export async function demoteNodeInStore(
  context: MembershipContext,
  nodeId: string,
  options: { signal?: AbortSignal },
): Promise<void> {
  await context.store.update(
    (tx) => {
      const node = getNode(tx, nodeId);
      if (node.spec?.desiredRole === 'NODE_ROLE_WORKER') return;
      const managers = tx.nodes.list().filter((n) => n.spec?.desiredRole === 'NODE_ROLE_MANAGER');
      if (managers.length <= 1) {
        throw new MembershipRefusedError(
          `node ${nodeId} is the last manager of the cluster; it cannot be demoted`,
        );
      }
      // After the demotion the remaining managers must still reach a majority among themselves.
      const remaining = managers.filter((n) => n.meta!.id !== nodeId);
      const reachable = remaining.filter((n) => n.managerStatus?.reachable || n.meta!.id === context.selfId);
      const quorum = Math.floor(remaining.length / 2) + 1;
      if (reachable.length < quorum) {
        throw new MembershipRefusedError(
          `demoting ${nodeId} would leave the cluster without quorum: only ${reachable.length} of the ${remaining.length} remaining managers are reachable`,
        );
      }
      tx.nodes.update({ ...node, spec: { ...node.spec!, desiredRole: 'NODE_ROLE_WORKER' } });
    },
    { signal: options.signal },
  );
  context.logger.info({ nodeId }, 'manager demoted to worker');
}

export async function removeNodeFromStore(
  context: MembershipContext,
  nodeId: string,
  options: { force?: boolean; signal?: AbortSignal },
): Promise<void> {
  await context.store.update(
    (tx) => {
      const node = getNode(tx, nodeId);
      if (isManager(node)) {
        throw new MembershipRefusedError(
          `node ${nodeId} is a manager and a member of the raft cluster; demote it (orch node demote) before removing it`,
        );
      }
      if (!options.force && node.status?.state === 'NODE_STATE_READY') {
        throw new MembershipRefusedError(
          `node ${nodeId} is not down and can't be removed; stop it first, or use --force`,
        );
      }
      const cluster = clusterOf(tx);
      if (!cluster) throw new ClusterNotReadyError('the cluster object is not in the store yet');
      tx.nodes.delete(nodeId);
      tx.clusters.update({
        ...cluster,
        removedNodes: [
          ...cluster.removedNodes.filter((r) => r.nodeId !== nodeId),
          { nodeId, certExpiresAtMs: node.certificate?.notAfterMs ?? 0 },
        ],
      });
    },
    { signal: options.signal },
  );
  context.logger.info({ nodeId, force: options.force === true }, 'node removed');
}
