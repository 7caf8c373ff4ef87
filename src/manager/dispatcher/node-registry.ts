// The dispatcher's writes to the nodes table: a node that opens a session is registered (created
// on first contact, its description and address refreshed after) and marked READY; a node whose
// heartbeats stop is marked DOWN. What happens to a down node's tasks is the orchestrator's call.
import type { NodeDescription__Output } from '../../api/gen/types/orch/objects/NodeDescription';
import type { MemoryStore } from '../../store';
import type { Node } from '../../store/objects';
import { type NodeRole, roleToWire } from '../ca/node-identity';
import type { ManagerPeer } from './dispatcher-grpc';

export interface NodeRegistration {
  nodeId: string;
  role: NodeRole;
  description: NodeDescription__Output | null;
  addr: string;
  nowMs: number;
}

/** Creates or refreshes the node's record and marks it READY. */
export async function registerNode(store: MemoryStore, registration: NodeRegistration): Promise<Node> {
  const { nodeId, role, description, addr, nowMs } = registration;
  return store.update((tx) => {
    const status = { state: 'NODE_STATE_READY' as const, message: '', addr, lastHeartbeatMs: nowMs };
    const existing = tx.nodes.get(nodeId);
    if (existing === undefined) {
      return tx.nodes.create({
        meta: { id: nodeId },
        role: roleToWire(role),
        spec: { desiredRole: roleToWire(role), availability: 'NODE_AVAILABILITY_ACTIVE' },
        description: description ?? undefined,
        status,
      });
    }
    return tx.nodes.update({
      ...existing,
      description: description ?? existing.description,
      status: { ...existing.status, ...status },
    });
  });
}

/** Marks the node DOWN (unless it is already, or gone); returns whether it wrote. */
export async function markNodeDown(store: MemoryStore, nodeId: string, message: string): Promise<boolean> {
  return store.update((tx) => {
    const node = tx.nodes.get(nodeId);
    if (node === undefined || node.status?.state === 'NODE_STATE_DOWN') return false;
    tx.nodes.update({ ...node, status: { ...node.status!, state: 'NODE_STATE_DOWN', message } });
    return true;
  });
}

/** The managers as the store knows them (role manager with an address), leader first. */
export function managersFromStore(store: MemoryStore): ManagerPeer[] {
  return store.view((tx) =>
    tx.nodes
      .findByRole('NODE_ROLE_MANAGER')
      .filter((n) => (n.managerStatus?.addr ?? '') !== '')
      .map((n) => ({ nodeId: n.meta!.id, addr: n.managerStatus!.addr, leader: n.managerStatus!.leader }))
      .sort((a, b) => Number(b.leader) - Number(a.leader) || a.nodeId.localeCompare(b.nodeId)),
  );
}

/** The host part of a grpc-js peer string ("127.0.0.1:5000", "[::1]:5000", "ipv4:…"). */
export function hostOfPeer(peer: string): string {
  const bare = peer.replace(/^(ipv4|ipv6|unix):/, '');
  if (bare.startsWith('[')) return bare.slice(1, bare.indexOf(']'));
  const colon = bare.lastIndexOf(':');
  return colon > 0 && bare.indexOf(':') === colon ? bare.slice(0, colon) : bare;
}
