// The hollow workers' process of the scale benchmark: `count` hollow nodes (real Agents over
// HollowExecutors sharing one HollowEngine) that join a real cluster the way `orch join` does — a
// worker join token, a fresh ECDSA P-256 key and CSR per node, a certificate from the cluster CA,
// transient failures (an election, an overloaded manager) tried again by HollowJoiner — and hold mTLS sessions to its managers (node i first tries manager i mod n; followers send
// it to the leader). The driver (hollow-scale-cluster.ts) forks this file and talks to it over IPC
// (hollow-scale-protocol.ts). When the driver goes away (IPC disconnect) the process exits at
// once, so a crashed benchmark never leaves 1,000 agents behind.
import { setMaxListeners } from 'node:events';
import { HollowJoiner } from '../../src/agent/hollow-join';
import { startHollowNodes } from '../../src/agent/hollow-nodes';
import { createLogger } from '../../src/common/logger';
import { processMemory } from './hollow-scale-memory';
import type { DriverRequest, HollowWorkersConfig, WorkersMessage } from './hollow-scale-protocol';

function send(message: WorkersMessage): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send) return resolve();
    process.send(message, undefined, {}, () => resolve());
  });
}

async function fail(err: unknown): Promise<never> {
  await send({ type: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  process.exit(1);
}

async function main(): Promise<void> {
  if (!process.send) throw new Error('hollow-scale-workers runs as a forked child with an IPC channel');
  const config = JSON.parse(process.env.HOLLOW_SCALE_WORKERS ?? '') as HollowWorkersConfig;
  const logger = createLogger({ level: config.logLevel ?? 'warn', base: { process: 'hollow-workers' } });
  const abort = new AbortController();
  // Every concurrent join listens on this one signal.
  setMaxListeners(0, abort.signal);
  process.on('disconnect', () => {
    abort.abort();
    process.exit(0);
  });

  const joiner = new HollowJoiner({ managers: config.managers, token: config.joinToken, logger });
  const t0 = performance.now();
  const hollow = await startHollowNodes({
    count: config.count,
    managers: config.managers,
    joinToken: config.joinToken,
    join: (index, signal) => joiner.join(index, signal),
    joinConcurrency: config.joinConcurrency,
    logger,
    signal: abort.signal,
    agentOptions: {
      statusBatchDelayMs: config.statusBatchDelayMs,
      reconnectBackoff: { initialMs: 100, maxMs: 2_000 },
      logger,
    },
  });
  await send({
    type: 'started',
    nodeIds: hollow.nodes.map((n) => n.nodeId),
    joinMs: Math.round(performance.now() - t0),
    joinRetries: joiner.joinStats().retries,
  });

  let killedUpTo = 0;
  process.on('message', (request: DriverRequest) => {
    const handle = async (): Promise<void> => {
      switch (request.type) {
        case 'kill': {
          const victims = hollow.nodes.slice(killedUpTo, killedUpTo + request.count).map((n) => n.nodeId);
          killedUpTo += victims.length;
          await hollow.kill(victims);
          await send({ type: 'killed', nodeIds: victims });
          return;
        }
        case 'stats': {
          const memory = processMemory(process.pid);
          await send({
            type: 'stats',
            rssBytes: memory.rssBytes,
            peakRssBytes: memory.peakRssBytes,
            heapUsedBytes: process.memoryUsage().heapUsed,
          });
          return;
        }
        case 'close':
          await hollow.close();
          await send({ type: 'closed' });
          process.exit(0);
      }
    };
    handle().catch(fail);
  });
}

main().catch(fail);
