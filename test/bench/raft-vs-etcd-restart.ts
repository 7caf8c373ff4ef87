// Restart time of a long log: writes BENCH_RESTART_ENTRIES (default 1,000,000) puts through a
// single-member orch Raft node in this process (kv state machine of raft/examples/kv, 100,000
// distinct keys, snapshots every 10,000 entries keeping 5,000), stops it, then starts the kv server
// process on that data directory and measures the time until it serves a linearizable read of the
// last key written. Part of test/bench/raft-vs-etcd.sh.
import { existsSync } from 'node:fs';
import { encodeCommand, KvStateMachine } from '../../raft/examples/kv/kv-state-machine';
import { RaftNode } from '../../raft/runtime';
import { HttpClient } from '../integration/support/http-client';
import { KV_MAIN } from '../integration/support/kv-cluster';
import { freePorts } from '../integration/support/ports';
import { ProcessGroup } from '../integration/support/processes';
import { TempDirs } from '../integration/support/temp-dirs';
import { waitUntil } from '../integration/support/wait';

const ENTRIES = Number(process.env.BENCH_RESTART_ENTRIES ?? 1_000_000);
const KEYS = 100_000;
const IN_FLIGHT = 2000;

async function fill(
  dataDir: string,
  raft: string,
): Promise<{ seconds: number; snapshotIndex: number; lastKey: string }> {
  const node = await RaftNode.start({
    id: 'm1',
    dataDir,
    listen: raft,
    initialMembers: { m1: raft },
    stateMachine: new KvStateMachine(),
    tickMs: 10,
  });
  try {
    await node.waitForLeader();
    while (!node.isLeader) await new Promise((r) => setTimeout(r, 10));
    const value = 'v'.repeat(32);
    let next = 0;
    const started = process.hrtime.bigint();
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        for (;;) {
          const i = next++;
          if (i >= ENTRIES) return;
          await node.propose(encodeCommand({ op: 'put', key: `k-${i % KEYS}`, value: `${value}-${i}` }));
          if (i % 100_000 === 0) console.error(`  ${i} entries written`);
        }
      }),
    );
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    return { seconds, snapshotIndex: node.status().snapshotIndex, lastKey: `k-${(ENTRIES - 1) % KEYS}` };
  } finally {
    await node.stop();
  }
}

async function main(): Promise<void> {
  if (!existsSync(KV_MAIN)) throw new Error(`${KV_MAIN} is missing: run \`npm run build\` first`);
  const processes = new ProcessGroup();
  const dirs = new TempDirs();
  const client = new HttpClient();
  try {
    const [raftPort, httpPort] = await freePorts(2);
    const raft = `127.0.0.1:${raftPort}`;
    const http = `127.0.0.1:${httpPort}`;
    const dataDir = dirs.make('restart-1m');
    console.error(`writing ${ENTRIES} entries through a single-member raft node ...`);
    const filled = await fill(dataDir, raft);
    const started = process.hrtime.bigint();
    const kv = processes.spawn(
      process.execPath,
      [
        KV_MAIN,
        '--id',
        'm1',
        '--peers',
        `m1=${raft}`,
        '--http',
        http,
        '--data-dir',
        dataDir,
        '--log-level',
        'warn',
      ],
      { name: 'kv-m1' },
    );
    await kv.waitForLine((line) => line.includes('"event":"ready"'), 60_000);
    const readyMs = Number(process.hrtime.bigint() - started) / 1e6;
    const body = await waitUntil(
      async () => {
        const res = await client.request(http, 'GET', `/kv/${filled.lastKey}`, { timeoutMs: 2000 });
        return res.status === 200 ? res.body : undefined;
      },
      { what: 'the restarted server to serve a linearizable read', timeoutMs: 60_000, intervalMs: 5 },
    );
    const servingMs = Number(process.hrtime.bigint() - started) / 1e6;
    if (!body.endsWith(`-${ENTRIES - 1}`)) throw new Error(`read ${body}, expected the last value written`);
    console.log(
      `\nRestart of a ${ENTRIES}-entry log (${KEYS} distinct keys; snapshot at ${filled.snapshotIndex}, every 10,000 entries, 5,000 kept):`,
    );
    console.log(`| measure | value |\n|---|---|`);
    console.log(
      `| writes through one member, ${IN_FLIGHT} proposals in flight | ${(ENTRIES / filled.seconds).toFixed(0)} entries/s |`,
    );
    console.log(
      `| process start to "ready" (storage loaded, snapshot restored) | ${readyMs.toFixed(0)} ms |`,
    );
    console.log(
      `| process start to first linearizable read (log tail replayed, leader elected) | ${servingMs.toFixed(0)} ms |`,
    );
  } finally {
    client.close();
    await processes.killAll();
    dirs.removeAll();
  }
}

main().catch((err: unknown) => {
  console.error(`raft-vs-etcd-restart: ${(err as Error).message}`);
  process.exit(1);
});
