// The orch routing mesh as the benchmark runs it: one service with one published TCP port,
// round-robin over the given backends, with the kernel fast path as the daemon's
// `--mesh-fast-path auto|on|off` would have it (auto: the default, when root and nft allow) and
// served by `workers` mesh worker processes as its `--mesh-workers` would (`auto`: the default;
// 0: in this process). Prints `ready kernel` or `ready userspace` once it serves.
// Usage: mesh-proxy <auto|on|off> <meshAddress> <publishedPort> <workers|auto> <host:port>...
import { createLogger } from '../../src/common/logger';
import { RoutingMesh } from '../../src/mesh';
import { autoMeshWorkers, MeshWorkers } from '../../src/mesh/mesh-workers';
import { startFastPath } from '../../src/mesh/nft-fast-path';

async function main(): Promise<void> {
  const [mode, meshAddress, port, workerArg, ...targets] = process.argv.slice(2);
  if (!mode || !meshAddress || !port || !workerArg || targets.length === 0) {
    throw new Error(
      'usage: mesh-proxy <auto|on|off> <meshAddress> <publishedPort> <workers|auto> <host:port>...',
    );
  }
  const logger = createLogger({ level: 'warn' });
  const count = workerArg === 'auto' ? autoMeshWorkers() : Number(workerArg);
  const workers =
    count > 0 ? new MeshWorkers({ count, config: { meshAddress, logLevel: 'warn' }, logger }) : undefined;
  if (mode !== 'auto' && mode !== 'on' && mode !== 'off') throw new Error(`unknown fast path mode ${mode}`);
  const { fastPath } = await startFastPath(mode, { meshAddress, logger });
  const mesh = new RoutingMesh({
    meshAddress,
    logger,
    ...(fastPath ? { fastPath } : {}),
    ...(workers ? { workers } : {}),
  });
  const status = await mesh.setService('bench', {
    name: 'bench',
    ports: [{ protocol: 'tcp', publishedPort: Number(port), targetPort: 80, mode: 'ingress' }],
  });
  const failed = status.listeners.find((l) => l.error);
  if (failed) throw failed.error;
  await mesh.setBackends(
    'bench',
    targets.map((t, i) => {
      const [address, p] = t.split(':');
      return { taskId: `task${i}`, address: address!, port: Number(p), healthy: true };
    }),
  );
  process.stdout.write(`ready ${fastPath ? 'kernel' : 'userspace'}\n`);
  const stop = async () => {
    await mesh.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
}

main().catch((err) => {
  process.stderr.write(`mesh-proxy: ${(err as Error).message}\n`);
  process.exit(1);
});
