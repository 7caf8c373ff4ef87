// orch.node.NodeRole: how the leader tells a node that the cluster changed its role (promote or
// demote), so the node renews its certificate at once and follows the new role instead of learning
// it at its next scheduled renewal. Every node serves it on its node server; the authorization
// rules make it manager-only (no rule names it), so only a manager of the cluster can call it.
import type * as grpc from '@grpc/grpc-js';
import { callJson, jsonHandlers, jsonService } from '../manager/manager-json-rpc';

export const NODE_ROLE_SERVICE_NAME = 'orch.node.NodeRole';
export const NODE_ROLE_SERVICE = jsonService(NODE_ROLE_SERVICE_NAME, ['RoleChanged']);

export interface RoleChangedRequest {
  role: 'manager' | 'worker';
}

export function createNodeRoleImplementation(
  onRoleChanged: (role: 'manager' | 'worker') => Promise<void>,
): grpc.UntypedServiceImplementation {
  return jsonHandlers({
    RoleChanged: async (request) => {
      const { role } = request as RoleChangedRequest;
      if (role !== 'manager' && role !== 'worker') throw new TypeError(`unknown role ${String(role)}`);
      // Answer at once: the renewal calls back into the managers.
      void onRoleChanged(role);
      return {};
    },
  });
}

/** The leader's side: tells the node served at `client` its new role. */
export async function notifyRoleChanged(
  client: grpc.Client,
  role: 'manager' | 'worker',
  options: { signal?: AbortSignal } = {},
): Promise<void> {
  await callJson(client, NODE_ROLE_SERVICE, 'RoleChanged', { role } satisfies RoleChangedRequest, {
    ...options,
    timeoutMs: 2000,
  });
}
