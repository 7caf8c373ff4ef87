// What a node serves while it is a manager, in one place: the CA, proposal forwarding, the
// dispatcher and the Control API on the node server (and the Control API on the local socket), plus
// the leader-only components the Manager starts when it leads (the dispatcher's sessions and the
// orchestration loops). `detach()` puts the node back to what a worker serves.
import type * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { CA_SERVICE_NAME, caProtos } from '../manager/ca';
import {
  controlServiceDefinition,
  createControlHandlers,
  createWorkerControlHandlers,
  dispatcherLogSource,
  leaderLogSource,
} from '../manager/controlapi';
import { DISPATCHER_SERVICE, Dispatcher, dispatcherServiceDefinition } from '../manager/dispatcher';
import { startLeaderLoops } from '../manager/loops';
import type { Manager } from '../manager/manager';
import { createClusterOps } from '../manager/manager-cluster-ops';
import { FORWARDING_SERVICE_NAME, forwardingServiceDefinition } from '../manager/manager-forwarding';
import { untilAborted } from '../manager/manager-loops';
import type { EndpointTable } from '../mesh/endpoint-table';
import type { NodeServer } from './node-server';

export const CONTROL_SERVICE_NAME = 'orch.control.Control';
const NOT_A_MANAGER = 'this node is not a manager; call a manager of the cluster';

/** Declares the manager services on the node server (before it listens); unimplemented on a worker. */
export function declareManagerServices(server: NodeServer): void {
  server.declare(CA_SERVICE_NAME, caProtos().CA.service, NOT_A_MANAGER);
  server.declare(FORWARDING_SERVICE_NAME, forwardingServiceDefinition(), NOT_A_MANAGER);
  server.declare(CONTROL_SERVICE_NAME, controlServiceDefinition(), NOT_A_MANAGER);
  server.declare(DISPATCHER_SERVICE, dispatcherServiceDefinition(), NOT_A_MANAGER);
}

/** Declares the Control API on the local socket, answering as a worker until a manager attaches. */
export function declareLocalControl(localServer: NodeServer): void {
  localServer.declare(CONTROL_SERVICE_NAME, controlServiceDefinition(), 'the node is starting');
  localServer.implement(CONTROL_SERVICE_NAME, workerControl());
}

function workerControl(): grpc.UntypedServiceImplementation {
  return createWorkerControlHandlers() as unknown as grpc.UntypedServiceImplementation;
}

export interface AttachedManagerServices {
  /** Stops the dispatcher and serves what a worker serves again. */
  detach(): void;
}

export function attachManagerServices(
  manager: Manager,
  servers: { node: NodeServer; local: NodeServer },
  logger: Logger,
  options: { endpointTable?: EndpointTable } = {},
): AttachedManagerServices {
  const dispatcher = new Dispatcher({
    store: manager.store,
    logger,
    leaderAddr: () => manager.leaderNodeAddress(),
    // The node's own table (from this store) feeds the workers' meshes too: computed once.
    endpointTable: options.endpointTable,
  });
  const control = createControlHandlers({
    store: manager.store,
    ops: createClusterOps(manager),
    logger,
    // Task logs come through the leader's dispatcher (the agents' sessions are with it): a
    // follower streams them from the leader's Control API.
    logSource: leaderLogSource({
      local: dispatcherLogSource(dispatcher, { store: manager.store, logger }),
      isLeader: () => manager.isLeader,
      leaderAddr: () => manager.leaderNodeAddress(),
      credentials: () => manager.peerCredentials,
      channelOptions: manager.peerChannelOptions,
      nodeId: manager.nodeId,
      logger,
    }),
  }) as unknown as grpc.UntypedServiceImplementation;

  servers.node.implement(CA_SERVICE_NAME, manager.caServiceHandlers());
  servers.node.implement(FORWARDING_SERVICE_NAME, manager.forwardingHandlers());
  servers.node.implement(
    DISPATCHER_SERVICE,
    dispatcher.handlers() as unknown as grpc.UntypedServiceImplementation,
  );
  servers.node.implement(CONTROL_SERVICE_NAME, control);
  servers.local.implement(CONTROL_SERVICE_NAME, control);

  manager.registerLeaderLoop('dispatcher', () => ({
    async run(signal) {
      dispatcher.start();
      try {
        await untilAborted(signal);
      } finally {
        dispatcher.stop();
      }
    },
  }));
  manager.registerLeaderLoop('orchestration', (ctx) => ({
    async run(signal) {
      const loops = startLeaderLoops({ store: ctx.store, logger: ctx.logger });
      try {
        await untilAborted(signal);
      } finally {
        await loops.stop();
      }
    },
  }));

  return {
    detach() {
      for (const name of [
        CA_SERVICE_NAME,
        FORWARDING_SERVICE_NAME,
        DISPATCHER_SERVICE,
        CONTROL_SERVICE_NAME,
      ]) {
        servers.node.implement(name, undefined);
      }
      servers.local.implement(CONTROL_SERVICE_NAME, workerControl());
      dispatcher.close();
    },
  };
}
