// The orch routing mesh as the benchmark runs it: one process, one service with one published
// TCP port, round-robin over the given backends; `kernel` adds the nftables fast path.
// Usage: mesh-proxy <userspace|kernel> <meshAddress> <publishedPort> <host:port>...
import { createLogger } from '../../src/common/logger';
import { NftablesFastPath, RoutingMesh } from '../../src/mesh';

async function main(): Promise<void> {
  const [mode, meshAddress, port, ...targets] = process.argv.slice(2);
  if (!mode || !meshAddress || !port || targets.length === 0) {
    throw new Error('usage: mesh-proxy <userspace|kernel> <meshAddress> <publishedPort> <host:port>...');
  }
  const logger = createLogger({ level: 'warn' });
  const fastPath =
    mode === 'kernel'
      ? await NftablesFastPath.create({ nodeId: `bench_${process.pid}`, meshAddress, logger })
      : undefined;
  if (mode === 'kernel' && !fastPath) throw new Error('kernel fast path unavailable (root and nft needed)');
  const mesh = new RoutingMesh({ meshAddress, logger, ...(fastPath ? { fastPath } : {}) });
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
