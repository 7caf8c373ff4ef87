// The orch routing mesh as the benchmark runs it: one service with one published TCP port,
// round-robin over the given backends, served by `workers` mesh worker processes as the daemon's
// `--mesh-workers` would (`auto`: the daemon's default; 0: in this process); `kernel` adds the
// nftables fast path.
// Usage: mesh-proxy <userspace|kernel> <meshAddress> <publishedPort> <workers|auto> <host:port>...
import { createLogger } from '../../src/common/logger';
import { NftablesFastPath, RoutingMesh } from '../../src/mesh';
import { autoMeshWorkers, MeshWorkers } from '../../src/mesh/mesh-workers';

async function main(): Promise<void> {
  const [mode, meshAddress, port, workerArg, ...targets] = process.argv.slice(2);
  if (!mode || !meshAddress || !port || !workerArg || targets.length === 0) {
    throw new Error(
      'usage: mesh-proxy <userspace|kernel> <meshAddress> <publishedPort> <workers|auto> <host:port>...',
    );
  }
  const logger = createLogger({ level: 'warn' });
  const count = workerArg === 'auto' ? autoMeshWorkers() : Number(workerArg);
  const workers =
    count > 0 ? new MeshWorkers({ count, config: { meshAddress, logLevel: 'warn' }, logger }) : undefined;
  const fastPath =
    mode === 'kernel'
      ? await NftablesFastPath.create({ nodeId: `bench_${process.pid}`, meshAddress, logger })
      : undefined;
  if (mode === 'kernel' && !fastPath) throw new Error('kernel fast path unavailable (root and nft needed)');
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
  process.stdout.write('ready\n');
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
