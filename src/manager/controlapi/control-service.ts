// The orch.control.Control gRPC service of a manager: each handler runs one operation over the
// store, with the call's cancellation as its AbortSignal and every error mapped to a status in one
// place (control-status.ts). On a follower, writes go to the leader through the LeaderForwarder
// (at most one hop: a forwarded call that lands on another follower is refused, not bounced).
import { once } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { type ControlHandlers, protos } from '../../api';
import { silentLogger } from '../../common/logger';
import type { MemoryStore } from '../../store';
import {
  type ClusterOps,
  CONTROL_WRITE_METHODS,
  type ControlWriteMethod,
  FORWARDED_METADATA_KEY,
  type LeaderForwarder,
  type LogSource,
} from './cluster-ops';
import type { ControlContext } from './control-context';
import { NoLeaderError } from './control-errors';
import { controlServiceError } from './control-status';
import { createNetwork, getNetwork, listNetworks, removeNetwork } from './network-operations';
import { demoteNode, getNode, listNodes, promoteNode, removeNode, updateNode } from './node-operations';
import {
  createService,
  getService,
  listServices,
  removeService,
  scaleService,
  updateService,
} from './service-operations';
import { getTask, listTasks, serviceLogs } from './task-operations';

export interface ControlServiceOptions {
  store: MemoryStore;
  ops: ClusterOps;
  /** Absent on a single-manager setup or in tests: every write is applied locally. */
  forwarder?: LeaderForwarder;
  logSource?: LogSource;
  logger?: Logger;
  clock?: () => number;
}

const WRITES: ReadonlySet<string> = new Set(CONTROL_WRITE_METHODS);

/** The handlers to mount with `server.addService(controlServiceDefinition(), handlers)`. */
export function createControlHandlers(options: ControlServiceOptions): ControlHandlers {
  const logger = (options.logger ?? silentLogger()).child({ module: 'controlapi' });
  const ctx: ControlContext = {
    store: options.store,
    ops: options.ops,
    logger,
    clock: options.clock ?? Date.now,
    ...(options.logSource ? { logSource: options.logSource } : {}),
  };
  const unary = unaryHandler(logger, options.forwarder);
  return {
    GetNode: unary('GetNode', (r, o) => getNode(ctx, r.nodeId, r.linearizable, o)),
    ListNodes: unary('ListNodes', async (r, o) => ({ nodes: await listNodes(ctx, r, o) })),
    UpdateNode: unary('UpdateNode', (r, o) => updateNode(ctx, r, o)),
    RemoveNode: unary('RemoveNode', async (r, o) => {
      await removeNode(ctx, r.nodeId, r.force, o);
      return {};
    }),
    PromoteNode: unary('PromoteNode', (r, o) => promoteNode(ctx, r.nodeId, o)),
    DemoteNode: unary('DemoteNode', (r, o) => demoteNode(ctx, r.nodeId, o)),
    CreateService: unary('CreateService', (r, o) => createService(ctx, r.spec, o)),
    GetService: unary('GetService', (r, o) => getService(ctx, r.serviceId, r.linearizable, o)),
    ListServices: unary('ListServices', (r, o) => listServices(ctx, r, o)),
    UpdateService: unary('UpdateService', (r, o) => updateService(ctx, r, o)),
    RemoveService: unary('RemoveService', async (r, o) => {
      await removeService(ctx, r.serviceId, o);
      return {};
    }),
    ScaleService: unary('ScaleService', (r, o) => scaleService(ctx, r.serviceId, r.replicas, o)),
    ListTasks: unary('ListTasks', async (r, o) => ({ tasks: await listTasks(ctx, r, o) })),
    GetTask: unary('GetTask', (r, o) => getTask(ctx, r.taskId, r.linearizable, o)),
    CreateNetwork: unary('CreateNetwork', (r, o) => createNetwork(ctx, r.spec, o)),
    GetNetwork: unary('GetNetwork', (r, o) => getNetwork(ctx, r.networkId, r.linearizable, o)),
    ListNetworks: unary('ListNetworks', async (r, o) => ({ networks: await listNetworks(ctx, r, o) })),
    RemoveNetwork: unary('RemoveNetwork', async (r, o) => {
      await removeNetwork(ctx, r.networkId, o);
      return {};
    }),
    GetInfo: unary('GetInfo', (_r, o) => ctx.ops.info(o)),
    GetJoinTokens: unary('GetJoinTokens', (r, o) =>
      ctx.ops.joinTokens({ worker: r.rotateWorker, manager: r.rotateManager }, o),
    ),
    ServiceLogs: (call) => {
      const controller = new AbortController();
      call.on('cancelled', () => controller.abort());
      const signal = controller.signal;
      (async () => {
        for await (const messages of serviceLogs(ctx, call.request, { signal })) {
          if (signal.aborted) return;
          if (!call.write({ messages: [...messages] })) await once(call, 'drain', { signal });
        }
        call.end();
      })().catch((err: unknown) => {
        if (signal.aborted) return;
        call.emit('error', controlServiceError(err, logger));
      });
    },
  };
}

/** The service definition to mount the handlers with. */
export function controlServiceDefinition(): grpc.ServiceDefinition {
  return protos().orch.control.Control.service;
}

type Operation<Req, Res> = (request: Req, options: { signal: AbortSignal }) => Promise<Res>;

function unaryHandler(logger: Logger, forwarder: LeaderForwarder | undefined) {
  return <Req, Res>(method: keyof ControlHandlers & string, operation: Operation<Req, Res>) =>
    (call: grpc.ServerUnaryCall<Req, Res>, callback: grpc.sendUnaryData<Res>): void => {
      const controller = new AbortController();
      call.on('cancelled', () => controller.abort());
      const signal = controller.signal;
      const forward = (): Promise<Res> => {
        if (call.metadata.get(FORWARDED_METADATA_KEY).length > 0) {
          // Forwarded to us as the leader, and we are not (any more): let the caller retry.
          throw new NoLeaderError();
        }
        const metadata = new grpc.Metadata();
        metadata.set(FORWARDED_METADATA_KEY, forwarder!.nodeId);
        const deadline = call.getDeadline();
        const options = {
          signal,
          metadata,
          ...(deadline instanceof Date || (typeof deadline === 'number' && Number.isFinite(deadline))
            ? { deadline: new Date(deadline) }
            : {}),
        };
        logger.debug({ method }, 'forwarding a write to the leader');
        return forwarder!.forward(method as ControlWriteMethod, call.request, options) as Promise<Res>;
      };
      const run = async (): Promise<Res> => {
        const isWrite = WRITES.has(method);
        if (isWrite && forwarder && !forwarder.isLeader()) return forward();
        try {
          return await operation(call.request, { signal });
        } catch (err) {
          // Leadership moved while the write was being proposed: hand it to the new leader once.
          if (isWrite && forwarder && err instanceof Error && err.name === 'NotLeaderError') return forward();
          throw err;
        }
      };
      run().then(
        (response) => callback(null, response),
        (err: unknown) => callback(controlServiceError(err, logger)),
      );
    };
}
