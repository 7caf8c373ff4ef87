// Entry of one mesh worker process (forked by MeshWorkers through node:cluster). It runs a
// RoutingMesh over the node's TCP ingress ports, listening on the sockets the daemon shares, and
// applies the daemon's updates in the order they arrive; it answers each with its result. It
// exits when the daemon says so or when the daemon is gone (node:cluster ends a worker whose IPC
// channel closes). Ctrl-C in a terminal reaches the whole process group: the daemon alone decides.
import { Registry } from 'prom-client';
import { createLogger } from '../common/logger';
import { MeshMetrics } from './mesh-metrics';
import {
  MESH_WORKER_CONFIG_ENV,
  type MeshWorkerConfig,
  type MeshWorkerEnvelope,
  type MeshWorkerReply,
  type MeshWorkerRequest,
  toWireStatus,
  type WorkerStats,
} from './mesh-workers';
import { RoutingMesh } from './routing-mesh';

function workerStats(metrics: MeshMetrics): WorkerStats {
  const { listeners, services } = metrics.tracked();
  const draining: Record<string, number> = {};
  for (const s of services) draining[s.serviceId] = s.pool.drainingCount;
  return {
    listeners: [...listeners].map(({ serviceId, serviceName, protocol, publishedPort, stats }) => {
      const live = stats.liveBytes();
      return {
        serviceId,
        serviceName,
        protocol,
        publishedPort,
        connectionsTotal: stats.connectionsTotal,
        rejectedTotal: stats.rejectedTotal,
        connectErrorsTotal: stats.connectErrorsTotal,
        connectRetriesTotal: stats.connectRetriesTotal,
        active: stats.active,
        bytesIn: stats.bytesInClosed + live.bytesIn,
        bytesOut: stats.bytesOutClosed + live.bytesOut,
      };
    }),
    draining,
  };
}

function main(): void {
  const config = JSON.parse(process.env[MESH_WORKER_CONFIG_ENV] ?? 'null') as MeshWorkerConfig | null;
  if (!config?.meshAddress || typeof process.send !== 'function') {
    process.stderr.write('orch mesh worker: start it through the daemon (--mesh-workers), not directly\n');
    process.exit(2);
  }
  const logger = createLogger({
    level: config.logLevel,
    destination: config.logFile,
    base: { process: 'mesh-worker', pid: process.pid, ...(config.nodeId ? { node: config.nodeId } : {}) },
  });
  const metrics = new MeshMetrics(new Registry());
  const mesh = new RoutingMesh({
    meshAddress: config.meshAddress,
    logger,
    metrics,
    sharedListeners: true,
    roundRobinStart: config.index ?? 0,
    connectTimeoutMs: config.connectTimeoutMs,
    maxConnectAttempts: config.maxConnectAttempts,
  });

  const apply = async (request: MeshWorkerRequest): Promise<unknown> => {
    switch (request.op) {
      case 'setService':
        return (await mesh.setService(request.serviceId, request.spec)).listeners.map(toWireStatus);
      case 'setBackends':
        return mesh.setBackends(request.serviceId, request.backends);
      case 'removeService':
        return mesh.removeService(request.serviceId);
      case 'stats':
        return workerStats(metrics);
      case 'close':
        return mesh.close();
    }
  };
  const reply = (message: MeshWorkerReply, then?: () => void): void => {
    process.send?.(message, undefined, {}, () => then?.());
  };

  process.on('message', (message: MeshWorkerEnvelope) => {
    if (message?.orchMeshWorker !== 1) return;
    const { id, request } = message;
    apply(request).then(
      (result) => {
        reply(
          { orchMeshWorker: 1, id, ok: true, result },
          request.op === 'close' ? () => process.exit(0) : undefined,
        );
      },
      (err: unknown) => {
        reply({ orchMeshWorker: 1, id, ok: false, error: (err as Error).message ?? String(err) });
      },
    );
  });
  process.on('SIGINT', () => {});
  logger.debug({ meshAddress: config.meshAddress }, 'mesh worker ready');
}

main();
