// orch.node.NodeRole (proto/orch/node.proto): how the leader tells a node that the cluster changed
// its role (promote or demote), so the node renews its certificate at once and follows the new role
// instead of learning it at its next scheduled renewal. Every node serves it on its node server; the
// authorization rules make it manager-only, so only a manager of the cluster can call it.
import * as grpc from '@grpc/grpc-js';
import type { NodeRoleClient, NodeRoleHandlers } from '../api/gen/types/orch/node/NodeRole';
import { protos } from '../api/grpc';
import { NODE_ROLE_SERVICE_NAME } from '../manager/ca/authorization';
import { roleFromWire, roleToWire } from '../manager/ca/node-identity';
import { callUnary, unaryHandler } from '../manager/manager-json-rpc';

export type { NodeRoleClient, NodeRoleHandlers };

export { NODE_ROLE_SERVICE_NAME };

/** The service definition (generated from proto/), for declaring it on a server. */
export const NODE_ROLE_SERVICE: grpc.ServiceDefinition = protos().orch.node.NodeRole.service;

export function createNodeRoleImplementation(
  onRoleChanged: (role: 'manager' | 'worker') => Promise<void>,
): NodeRoleHandlers {
  return {
    RoleChanged: unaryHandler(async (request) => {
      // Answer at once: the renewal calls back into the managers.
      void onRoleChanged(roleFromWire(request.role));
      return {};
    }),
  };
}

/** Typed clients over the caller's cached clients (their channels stay the caller's). */
const typedClients = new WeakMap<grpc.Client, NodeRoleClient>();

function nodeRoleClientOn(client: grpc.Client): NodeRoleClient {
  let typed = typedClients.get(client);
  if (!typed) {
    const NodeRole = protos().orch.node.NodeRole;
    typed = new NodeRole(client.getChannel().getTarget(), grpc.credentials.createInsecure(), {
      channelOverride: client.getChannel(),
    });
    typedClients.set(client, typed);
  }
  return typed;
}

/** The leader's side: tells the node served at `client` its new role. */
export async function notifyRoleChanged(
  client: grpc.Client,
  role: 'manager' | 'worker',
  options: { signal?: AbortSignal } = {},
): Promise<void> {
  const typed = nodeRoleClientOn(client);
  await callUnary(
    (callOptions, callback) => typed.roleChanged({ role: roleToWire(role) }, callOptions, callback),
    {
      ...options,
      timeoutMs: 2000,
    },
  );
}
