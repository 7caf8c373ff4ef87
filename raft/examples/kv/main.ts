#!/usr/bin/env node
// The example replicated key-value server, in the spirit of etcd's raftexample: one member per
// process, a Raft log in --data-dir, peers over gRPC, clients over HTTP (see http-api.ts).
// Prints one JSON line {"event":"ready",...} on stdout once it serves; logs go to stderr.
import pino from 'pino';
import { RaftNode } from '../../runtime';
import { FlagError, parseFlags, USAGE } from './flags';
import { KvHttpApi } from './http-api';
import { joinCluster } from './join';
import { encodeCommand, KvStateMachine } from './kv-state-machine';

async function main(): Promise<void> {
  let flags: ReturnType<typeof parseFlags>;
  try {
    flags = parseFlags(process.argv.slice(2));
  } catch (err) {
    if (err instanceof FlagError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      console.error(`kv: ${(err as Error).message}\n${USAGE}`);
      process.exit(2);
    }
    throw err;
  }
  const logger = pino({ level: flags.logLevel, base: { member: flags.id } }, pino.destination(2));
  const kv = new KvStateMachine();
  const node = await RaftNode.start({
    id: flags.id,
    dataDir: flags.dataDir,
    listen: flags.raft,
    initialMembers: flags.join ? undefined : flags.peers,
    join: flags.join !== undefined,
    meta: { http: flags.http },
    stateMachine: kv,
    logger,
    tickMs: flags.tickMs,
    electionTicks: flags.electionTicks,
    snapshotEvery: flags.snapshotEvery,
    compactionTailEntries: flags.compactionTailEntries,
  });
  const api = new KvHttpApi({ node, kv, logger });
  const httpAddress = await api.listen(flags.http);

  // Followers forward writes to the leader's HTTP address, which every leader publishes in the log.
  node.on('leader-change', (change) => {
    if (change.leader !== node.id || kv.httpOf(node.id) === httpAddress) return;
    node.propose(encodeCommand({ op: 'announce', id: node.id, http: httpAddress })).catch((err: unknown) => {
      logger.debug({ err: (err as Error).message }, 'announcing the HTTP address failed');
    });
  });

  const shutdown = new AbortController();
  let exiting = false;
  const exit = async (code: number) => {
    if (exiting) return;
    exiting = true;
    shutdown.abort();
    await api.close();
    await node.stop();
    process.exit(code);
  };
  node.on('fatal', (err) => {
    logger.fatal({ err: err.message }, 'raft failed');
    void exit(1);
  });
  node.on('removed', () => logger.warn('this member was removed from the cluster'));
  process.on('SIGTERM', () => void exit(0));
  process.on('SIGINT', () => void exit(0));

  process.stdout.write(
    `${JSON.stringify({ event: 'ready', id: node.id, http: httpAddress, raft: node.address })}\n`,
  );
  if (flags.join !== undefined && !node.status().voters.includes(node.id)) {
    await joinCluster(
      flags.join,
      { id: node.id, address: node.address, http: httpAddress },
      logger,
      shutdown.signal,
    ).catch((err: unknown) => {
      if (!shutdown.signal.aborted)
        logger.error({ err: (err as Error).message }, 'joining the cluster failed');
    });
  }
}

main().catch((err: unknown) => {
  console.error(`kv: ${(err as Error).message}`);
  process.exit(1);
});
