// Scale benchmark (issue #6): 3 real managers + 1,000 hollow workers, 50,000 tasks.
//
//   make build && node -r ./test/support/ts-hook.cjs test/bench/hollow-scale.ts
//
// Environment (defaults in brackets): BENCH_MANAGERS [3], BENCH_NODES [1000], BENCH_SERVICES [50],
// BENCH_TASKS [50000] (spread evenly over the services), BENCH_KILL [100], BENCH_HEARTBEAT
// (`orch init --heartbeat-period`; default the cluster's own, 5s), BENCH_ELECTION_TIMEOUT
// (`orch init --election-timeout`; default the cluster's own, 1s), BENCH_JOIN_CONCURRENCY [16],
// BENCH_MANAGER_LOG_LEVEL [warn], BENCH_MANAGER_NODE_ARGS (node flags, e.g. `--cpu-prof --cpu-prof-dir=/tmp/p`:
// the managers write their profiles when the benchmark stops them), BENCH_WORKERS_NODE_ARGS (the
// same for the hollow workers' process), BENCH_TIMEOUT_MS [600000],
// BENCH_JSON (a file to write the results to).
//
// What runs: every manager is an `orch` daemon from dist/ (init/join with the manager token, its own
// loopback address and data dir, `--executor hollow`, availability drain so tasks go to the hollow
// workers only). The hollow workers live in ONE forked process (hollow-scale-workers.ts): each node
// joins with the worker token (key pair, CSR, certificate from the cluster CA) and holds an mTLS
// session, first to manager i mod 3 (followers send it to the leader). Services are created through
// the leader's Control API socket and go through the real orchestrator, scheduler and dispatcher.
//
// What it measures:
//  1. join: every hollow node joined and its agent started; ready: all of them READY in the store;
//  2. time from the first CreateService to all tasks RUNNING in the leader's store;
//  3. RSS of every manager (VmRSS with everything running, VmHWM = peak) and of the workers' process;
//     the Raft term at the start and the end (elections in between, e.g. on a loaded machine);
//  4. kill: BENCH_KILL agents stop at once without a goodbye; time until the managers mark them
//     DOWN, and until every task they ran has a replacement RUNNING on another node.
import { writeFileSync } from 'node:fs';
import { HollowScaleCluster } from './hollow-scale-cluster';
import { mib, seconds } from './hollow-scale-memory';

const env = process.env;
const MANAGERS = Number(env.BENCH_MANAGERS ?? 3);
const NODES = Number(env.BENCH_NODES ?? 1000);
const SERVICES = Number(env.BENCH_SERVICES ?? 50);
const TASKS = Number(env.BENCH_TASKS ?? 50_000);
const KILL = Number(env.BENCH_KILL ?? 100);
const REPLICAS = Math.ceil(TASKS / SERVICES);

const log = (line: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${line}`);

async function main(): Promise<void> {
  const cluster = new HollowScaleCluster({
    managers: MANAGERS,
    heartbeatPeriod: env.BENCH_HEARTBEAT,
    electionTimeout: env.BENCH_ELECTION_TIMEOUT,
    managerLogLevel: env.BENCH_MANAGER_LOG_LEVEL ?? 'warn',
    managerNodeArgs: env.BENCH_MANAGER_NODE_ARGS?.split(' ').filter(Boolean),
    timeoutMs: Number(env.BENCH_TIMEOUT_MS ?? 600_000),
  });
  const results: Record<string, unknown> = {
    managers: MANAGERS,
    nodes: NODES,
    services: SERVICES,
    tasks: REPLICAS * SERVICES,
    kill: KILL,
    heartbeatPeriod: env.BENCH_HEARTBEAT ?? '5s (cluster default)',
    electionTimeout: env.BENCH_ELECTION_TIMEOUT ?? '1s (cluster default)',
  };
  const stop = () => {
    cluster.close().finally(() => process.exit(130));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    await cluster.startManagers();
    const firstLeader = await cluster.findLeader();
    results.raftTermStart = (await cluster.leader().getInfo()).raftTerm;
    log(`${MANAGERS} managers up (leader ${firstLeader.addr}), all drained; data under ${cluster.root}`);

    let t0 = performance.now();
    const { nodeIds, joinMs, joinRetries } = await cluster.startWorkers({
      count: NODES,
      joinConcurrency: Number(env.BENCH_JOIN_CONCURRENCY ?? 16),
      nodeArgs: env.BENCH_WORKERS_NODE_ARGS?.split(' ').filter(Boolean),
    });
    results.joinMs = joinMs;
    results.joinRetries = joinRetries;
    log(
      `${NODES} hollow nodes joined through the CA in ${seconds(joinMs)} (${joinRetries} transient failures retried)`,
    );
    const all = new Set(nodeIds);
    await cluster.until(
      'every hollow node ready',
      async () => (await cluster.countNodes(all, 'NODE_STATE_READY')) === NODES,
      500,
    );
    results.readyMs = Math.round(performance.now() - t0);
    log(`${NODES} nodes READY ${seconds(results.readyMs as number)} after the first join`);

    t0 = performance.now();
    const serviceIds = await cluster.createServices(SERVICES, REPLICAS);
    results.createMs = Math.round(performance.now() - t0);
    log(`${SERVICES} services × ${REPLICAS} replicas created in ${seconds(results.createMs as number)}`);
    await cluster.waitAllRunning(serviceIds, REPLICAS, (done) => {
      if (done % Math.max(1, Math.floor(SERVICES / 10)) === 0)
        log(`  ${done}/${SERVICES} services fully running (${seconds(performance.now() - t0)})`);
    });
    results.allRunningMs = Math.round(performance.now() - t0);
    log(
      `all ${REPLICAS * SERVICES} tasks RUNNING ${seconds(results.allRunningMs as number)} after the first create`,
    );

    // An election meanwhile (a loaded machine) moves the leader: measure and query the current one.
    const leader = await cluster.findLeader();
    const managers = cluster.managersMemory().map((m, i) => ({
      manager: i + 1,
      leader: cluster.managers[i]!.pid === leader.pid,
      rssBytes: m.rssBytes,
      peakRssBytes: m.peakRssBytes,
    }));
    results.managersMemory = managers;
    results.maxManagerPeakRssBytes = Math.max(...managers.map((m) => m.peakRssBytes));
    for (const m of managers)
      log(
        `manager ${m.manager}${m.leader ? ' (leader)' : ''}: RSS ${mib(m.rssBytes)}, peak ${mib(m.peakRssBytes)}`,
      );
    const workers = await cluster.workersMemory();
    results.workersMemory = workers;
    log(`hollow workers' process: RSS ${mib(workers.rssBytes)}, peak ${mib(workers.peakRssBytes)}`);

    if (KILL > 0) {
      const victimIds = nodeIds.slice(0, KILL);
      const slots = await cluster.slotsOn(victimIds);
      const orphaned = [...slots.values()].reduce((sum, s) => sum + s.size, 0);
      t0 = performance.now();
      const killed = new Set(await cluster.killWorkers(KILL));
      const downWait = cluster
        .until(
          'killed nodes down',
          async () => (await cluster.countNodes(killed, 'NODE_STATE_DOWN')) === KILL,
          250,
        )
        .then(() => {
          results.downMs = Math.round(performance.now() - t0);
          log(`${KILL} killed nodes DOWN after ${seconds(results.downMs as number)}`);
        });
      await cluster.waitReplaced(slots, killed);
      results.rescheduledTasks = orphaned;
      results.rescheduleMs = Math.round(performance.now() - t0);
      await downWait;
      log(
        `${orphaned} tasks of the killed nodes RUNNING elsewhere ${seconds(results.rescheduleMs as number)} after the kill`,
      );
    }
    results.raftTermEnd = (await cluster.leader().getInfo()).raftTerm;
  } finally {
    await cluster.close();
  }
  console.log(JSON.stringify(results));
  if (env.BENCH_JSON) writeFileSync(env.BENCH_JSON, `${JSON.stringify(results, null, 2)}\n`);
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
