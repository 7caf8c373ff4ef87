// Benchmark: orch's Raft (the raft/examples/kv server) against etcd, side by side in one run on loopback.
// Same load generator for both (keep-alive HTTP, 64-byte values, puts sent to the leader):
//   sequential puts (p50/p99, puts/s); 16 and 64 concurrent clients (puts/s, p99);
//   leader failover (kill -9 the leader, time until a put succeeds through another member).
// Prints a table with orch/etcd ratios. Cleans up every process and directory it made.
//
// Run: test/bench/raft-vs-etcd.sh   (builds dist/ when needed; see docs/benchmarks.md)
import { existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { HttpClient } from '../integration/support/http-client';
import { KV_MAIN, KvCluster } from '../integration/support/kv-cluster';
import { ProcessGroup } from '../integration/support/processes';
import { TempDirs } from '../integration/support/temp-dirs';
import { EtcdCluster, ensureEtcd, etcdPut, etcdVersion } from './raft-vs-etcd-etcd';
import { type LoadResult, type PutFn, runLoad } from './raft-vs-etcd-load';

const SEQUENTIAL_PUTS = Number(process.env.BENCH_SEQUENTIAL_PUTS ?? 2000);
const CONCURRENT_PUTS = Number(process.env.BENCH_CONCURRENT_PUTS ?? 10000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const WARMUP_PUTS = Number(process.env.BENCH_WARMUP_PUTS ?? 3000);

interface SystemResults {
  sequential: LoadResult;
  c16: LoadResult;
  c64: LoadResult;
  failoverMs: number;
}

/** The better of several rounds (the machine is shared: rounds of both systems are interleaved). */
function best(results: LoadResult[]): LoadResult {
  return results.reduce((a, b) => (b.putsPerSecond > a.putsPerSecond ? b : a));
}

/** Time from SIGKILL of the leader until a put succeeds through one of `others`. */
async function failover(killLeader: System['killLeader']): Promise<number> {
  const started = process.hrtime.bigint();
  const others = await killLeader();
  for (let attempt = 0; ; attempt++) {
    try {
      await others[attempt % others.length]!(`failover-${attempt}`);
      return Number(process.hrtime.bigint() - started) / 1e6;
    } catch {
      await sleep(5);
    }
    if (Number(process.hrtime.bigint() - started) > 30e9)
      throw new Error('no put succeeded within 30 s of the failover');
  }
}

interface System {
  name: string;
  put: PutFn;
  /** Kills the leader and returns puts through the other members. */
  killLeader: () => Promise<((key: string) => Promise<void>)[]>;
}

async function startOrch(
  processes: ProcessGroup,
  dirs: TempDirs,
  client: HttpClient,
): Promise<System & { close(): void }> {
  const kv = await KvCluster.start({ size: 3, processes, dirs, logLevel: 'warn' });
  const leader = await kv.waitForLeader();
  const leaderHttp = kv.member(leader).http;
  return {
    name: 'orch',
    put: async (c, key, value) => {
      const res = await c.request(leaderHttp, 'PUT', `/kv/${key}`, { body: value });
      if (res.status !== 204) throw new Error(`orch put: ${res.status} ${res.body}`);
    },
    killLeader: async () => {
      await kv.kill(leader);
      return kv.ids
        .filter((id) => id !== leader)
        .map((id) => async (key: string) => {
          const res = await client.request(kv.member(id).http, 'PUT', `/kv/${key}`, {
            body: 'x',
            timeoutMs: 2000,
          });
          if (res.status !== 204) throw new Error(String(res.status));
        });
    },
    close: () => kv.close(),
  };
}

async function startEtcd(processes: ProcessGroup, dirs: TempDirs, client: HttpClient): Promise<System> {
  const cluster = await EtcdCluster.start(processes, dirs, client);
  const leader = await cluster.leader(client);
  return {
    name: 'etcd',
    put: (c, key, value) => etcdPut(c, leader.client, key, value),
    killLeader: async () => {
      await leader.process.kill();
      return cluster.members
        .filter((m) => m !== leader)
        .map((m) => (key: string) => etcdPut(client, m.client, key, 'x', 2000));
    },
  };
}

type Runs = Record<'orch' | 'etcd', Record<'sequential' | 'c16' | 'c64', LoadResult[]>>;

async function compare(
  orch: System,
  etcd: System,
): Promise<{ orch: SystemResults; etcd: SystemResults; runs: Runs }> {
  const runs: Runs = {
    orch: { sequential: [] as LoadResult[], c16: [] as LoadResult[], c64: [] as LoadResult[] },
    etcd: { sequential: [] as LoadResult[], c16: [] as LoadResult[], c64: [] as LoadResult[] },
  };
  // Warm-up, the same for both: orch's members run on V8, whose JIT needs a few thousand requests
  // before the hot paths are compiled (the first thousand puts are several times slower).
  // It ends with a sequential pass for each, then the rounds alternate which system goes first. Without
  // that, the first sequential round (always orch's) ran the load generator's one-client loop for the
  // first time since its concurrent warm-up, and its p99 was its worst in every run (2.1-2.8 ms
  // against 1.4-1.8 in later rounds); etcd's first round came right after it, warm. A harness
  // with orch alone showed the same: more warm-up puts did not remove it, a sequential pass did.
  for (const system of [orch, etcd]) {
    await runLoad(system.put, { clients: 1, total: WARMUP_PUTS, label: `${system.name}-warmup-seq` });
    await runLoad(system.put, { clients: 16, total: WARMUP_PUTS, label: `${system.name}-warmup-c16` });
  }
  for (const system of [orch, etcd]) {
    await runLoad(system.put, { clients: 1, total: WARMUP_PUTS / 3, label: `${system.name}-warmup-seq2` });
  }
  const scenarios = [
    { name: 'sequential', clients: 1, total: SEQUENTIAL_PUTS },
    { name: 'c16', clients: 16, total: CONCURRENT_PUTS },
    { name: 'c64', clients: 64, total: CONCURRENT_PUTS },
  ] as const;
  for (const scenario of scenarios) {
    for (let round = 0; round < ROUNDS; round++) {
      // The systems take turns going first, so that neither always follows the other's load.
      for (const system of round % 2 === 0 ? [orch, etcd] : [etcd, orch]) {
        const result = await runLoad(system.put, {
          ...scenario,
          label: `${system.name}-${scenario.name}-${round}`,
        });
        console.error(
          `${system.name} ${scenario.name} round ${round + 1}: ${result.putsPerSecond.toFixed(0)} puts/s, p50 ${result.p50Ms.toFixed(1)} ms, p99 ${result.p99Ms.toFixed(1)} ms`,
        );
        runs[system.name as 'orch' | 'etcd'][scenario.name].push(result);
      }
    }
  }
  const results = { orch: {} as SystemResults, etcd: {} as SystemResults, runs };
  for (const system of [orch, etcd]) {
    const r = runs[system.name as 'orch' | 'etcd'];
    await sleep(500);
    const failoverMs = await failover(system.killLeader);
    results[system.name as 'orch' | 'etcd'] = {
      sequential: best(r.sequential),
      c16: best(r.c16),
      c64: best(r.c64),
      failoverMs,
    };
  }
  return results;
}

function row(name: string, orch: number, etcd: number, unit: string, higherIsBetter: boolean): string {
  const ratio = orch / etcd;
  const verdict = higherIsBetter ? (ratio >= 1 ? 'better' : 'worse') : ratio <= 1 ? 'better' : 'worse';
  return `| ${name.padEnd(28)} | ${`${orch.toFixed(1)} ${unit}`.padStart(14)} | ${`${etcd.toFixed(1)} ${unit}`.padStart(14)} | ${ratio.toFixed(2).padStart(10)} | ${verdict.padEnd(6)} |`;
}

function table(orch: SystemResults, etcd: SystemResults): string {
  return [
    `| ${'measure'.padEnd(28)} | ${'orch'.padStart(14)} | ${'etcd'.padStart(14)} | ${'orch/etcd'.padStart(10)} | orch   |`,
    `|${'-'.repeat(30)}|${'-'.repeat(16)}|${'-'.repeat(16)}|${'-'.repeat(12)}|--------|`,
    row('sequential puts/s', orch.sequential.putsPerSecond, etcd.sequential.putsPerSecond, '/s', true),
    row('sequential p50', orch.sequential.p50Ms, etcd.sequential.p50Ms, 'ms', false),
    row('sequential p99', orch.sequential.p99Ms, etcd.sequential.p99Ms, 'ms', false),
    row('16 clients puts/s', orch.c16.putsPerSecond, etcd.c16.putsPerSecond, '/s', true),
    row('16 clients p99', orch.c16.p99Ms, etcd.c16.p99Ms, 'ms', false),
    row('64 clients puts/s', orch.c64.putsPerSecond, etcd.c64.putsPerSecond, '/s', true),
    row('64 clients p99', orch.c64.p99Ms, etcd.c64.p99Ms, 'ms', false),
    row('failover (kill -9 leader)', orch.failoverMs, etcd.failoverMs, 'ms', false),
  ].join('\n');
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * Ratios of the two systems' rounds run back to back (round r of orch against round r of etcd), as
 * the median over rounds and their range: on a shared machine a burst of load hits a pair of rounds
 * more evenly than it hits the best round of each system.
 */
function pairedTable(runs: Runs): string {
  const lines = [
    `| ${'measure (paired rounds)'.padEnd(28)} | ${'median orch/etcd'.padStart(16)} | ${'range'.padStart(13)} |`,
    `|${'-'.repeat(30)}|${'-'.repeat(18)}|${'-'.repeat(15)}|`,
  ];
  const scenarios = [
    ['sequential', 'sequential'],
    ['c16', '16 clients'],
    ['c64', '64 clients'],
  ] as const;
  for (const [key, label] of scenarios) {
    for (const [metric, name] of [
      ['putsPerSecond', 'puts/s'],
      ['p50Ms', 'p50'],
      ['p99Ms', 'p99'],
    ] as const) {
      const ratios = runs.orch[key].map((o, i) => o[metric] / runs.etcd[key][i]![metric]);
      const range = `${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}`;
      lines.push(
        `| ${`${label} ${name}`.padEnd(28)} | ${median(ratios).toFixed(2).padStart(16)} | ${range.padStart(13)} |`,
      );
    }
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  if (!existsSync(KV_MAIN)) throw new Error(`${KV_MAIN} is missing: run \`npm run build\` first`);
  ensureEtcd();
  const processes = new ProcessGroup();
  const dirs = new TempDirs();
  const client = new HttpClient();
  const cleanup = async () => {
    client.close();
    await processes.killAll();
    dirs.removeAll();
  };
  process.on('SIGINT', () => void cleanup().then(() => process.exit(130)));
  try {
    const version = etcdVersion();
    console.error(`starting a 3-member orch kv cluster and a 3-member etcd ${version} cluster ...`);
    const orch = await startOrch(processes, dirs, client);
    const etcd = await startEtcd(processes, dirs, client);
    const results = await compare(orch, etcd);
    orch.close();
    const all = [results.orch, results.etcd].flatMap((r) => [r.sequential, r.c16, r.c64]);
    const errors = all.reduce((n, r) => n + r.errors, 0);
    console.log(
      `\nRaft: orch vs etcd ${version}: 3 members each on loopback, puts of 64-byte values to the leader over keep-alive HTTP; ${SEQUENTIAL_PUTS} sequential / ${CONCURRENT_PUTS} concurrent puts, best of ${ROUNDS} interleaved rounds; load average ${loadavg()[0]!.toFixed(1)}\n`,
    );
    console.log(table(results.orch, results.etcd));
    console.log(`\n${pairedTable(results.runs)}`);
    if (errors > 0) console.log(`\n${errors} puts failed during the load phases`);
  } finally {
    await cleanup();
  }
}

main().catch((err: unknown) => {
  console.error(`raft-vs-etcd: ${(err as Error).message}`);
  process.exit(1);
});
