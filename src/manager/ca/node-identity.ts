// Who a node is, as its certificate says: node ID (CN), role (OU) and cluster ID (O).
// One place maps roles to certificate fields and to the wire enum, and mints node and cluster IDs.
import { randomBytes } from 'node:crypto';

export type NodeRole = 'manager' | 'worker';

export const NODE_ROLES: readonly NodeRole[] = ['manager', 'worker'];

/** The identity a verified node certificate carries. */
export interface NodeIdentity {
  nodeId: string;
  role: NodeRole;
  clusterId: string;
}

const ROLE_TO_OU: Record<NodeRole, string> = { manager: 'orch-manager', worker: 'orch-worker' };
const OU_TO_ROLE: Record<string, NodeRole> = { 'orch-manager': 'manager', 'orch-worker': 'worker' };

/** The certificate subject OU that names a role. */
export function roleToOrganizationalUnit(role: NodeRole): string {
  return ROLE_TO_OU[role];
}

export function roleFromOrganizationalUnit(ou: string): NodeRole | undefined {
  return Object.hasOwn(OU_TO_ROLE, ou) ? OU_TO_ROLE[ou] : undefined;
}

/** The orch.objects.NodeRole enum value (strings on the wire, see LOADER_OPTIONS). */
export type WireNodeRole = 'NODE_ROLE_WORKER' | 'NODE_ROLE_MANAGER';

export function roleToWire(role: NodeRole): WireNodeRole {
  return role === 'manager' ? 'NODE_ROLE_MANAGER' : 'NODE_ROLE_WORKER';
}

export function roleFromWire(role: string | number | undefined): NodeRole {
  return role === 'NODE_ROLE_MANAGER' || role === 1 ? 'manager' : 'worker';
}

/** A node's availability for new tasks, as `orch join --availability` and `orch node update` say it. */
export type NodeAvailability = 'active' | 'pause' | 'drain';

/** The orch.objects.NodeAvailability enum value (strings on the wire, see LOADER_OPTIONS). */
export type WireNodeAvailability =
  | 'NODE_AVAILABILITY_ACTIVE'
  | 'NODE_AVAILABILITY_PAUSE'
  | 'NODE_AVAILABILITY_DRAIN';

const AVAILABILITY_TO_WIRE: Record<NodeAvailability, WireNodeAvailability> = {
  active: 'NODE_AVAILABILITY_ACTIVE',
  pause: 'NODE_AVAILABILITY_PAUSE',
  drain: 'NODE_AVAILABILITY_DRAIN',
};

export function availabilityToWire(availability: NodeAvailability): WireNodeAvailability {
  return AVAILABILITY_TO_WIRE[availability];
}

/** Unknown or unset values (an older joiner) read as active, the enum's zero value. */
export function availabilityFromWire(availability: string | number | undefined): NodeAvailability {
  if (availability === 'NODE_AVAILABILITY_PAUSE' || availability === 1) return 'pause';
  if (availability === 'NODE_AVAILABILITY_DRAIN' || availability === 2) return 'drain';
  return 'active';
}

const ID_LENGTH = 25;
const ID_PATTERN = /^[0-9a-z]{25}$/;

/**
 * A random 128-bit identifier in base36, padded to 25 characters: the shape of Swarm's node IDs.
 * The CA assigns node IDs; a joining node never chooses its own.
 */
export function newRandomId(): string {
  const value = BigInt(`0x${randomBytes(16).toString('hex')}`);
  return value.toString(36).padStart(ID_LENGTH, '0');
}

export function isValidNodeId(id: string): boolean {
  return ID_PATTERN.test(id);
}

/** Cluster IDs have the same shape as node IDs. */
export const isValidClusterId = isValidNodeId;
