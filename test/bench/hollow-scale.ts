// Scale run of the dispatcher and agent: managers + many hollow workers in ONE process.
//
//   node -r ./test/bench/hollow-scale-ts-hook.cjs test/bench/hollow-scale.ts
//   BENCH_NODES=1000 BENCH_TASKS=50000 BENCH_SERVICES=50 BENCH_KILL=100 BENCH_MANAGERS=3 BENCH_HEARTBEAT_MS=5000
//
// What it measures, with the real Dispatcher (gRPC on loopback) and real Agents over HollowExecutors:
//  1. nodes ready: every agent opened a session (agents start spread over all managers; the
//     followers send them to the leader, as after a leader change);
//  2. time to all running: 50,000 tasks written ASSIGNED (round-robin over the nodes, in store
//     batches, as the scheduler would) until every one is reported RUNNING and written back;
//  3. process RSS and heap with everything running (managers and workers share this process, so
//     this is an upper bound for the managers);
//  4. reschedule: 100 nodes killed; time until the dispatcher marks them DOWN (3 heartbeat periods)
//     and until replacement tasks — created here the way the orchestrator and scheduler would:
//     old task desired SHUTDOWN, a new task in the same slot assigned to a live node — all run.
//
// Not measured here (needs the node daemon, not ready when this was written): three managers with
// Raft between them. The managers here are one store (LocalProposer) with one leader dispatcher
// and followers that only redirect; Raft's cost per batch entry is measured in docs/benchmarks.md.
import * as grpc from '@grpc/grpc-js';
import { startHollowNodes } from '../../src/agent/hollow-nodes';
import { silentLogger } from '../../src/common/logger';
import { Dispatcher, dispatcherServiceDefinition, metadataIdentity } from '../../src/manager/dispatcher';
import { generateId, LocalProposer, MemoryStore, type TaskInput } from '../../src/store';

const NODES = Number(process.env.BENCH_NODES ?? 1000);
const TASKS = Number(process.env.BENCH_TASKS ?? 50_000);
const SERVICES = Number(process.env.BENCH_SERVICES ?? 50);
const KILL = Number(process.env.BENCH_KILL ?? 100);
const MANAGERS = Number(process.env.BENCH_MANAGERS ?? 3);
const HEARTBEAT_MS = Number(process.env.BENCH_HEARTBEAT_MS ?? 5_000);
const TIMEOUT_MS = Number(process.env.BENCH_TIMEOUT_MS ?? 600_000);

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

async function until(what: string, check: () => boolean, pollMs = 100): Promise<void> {
  const deadline = Date.now() + TIMEOUT_MS;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

function serviceSpec(index: number) {
  return {
    name: `svc-${index}`,
    container: { image: 'orch/busybox:latest', args: ['httpd', '-f', '-p', '80'], env: [`SERVICE=${index}`] },
    resources: { reservations: { nanoCpus: 10_000_000, memoryBytes: 8 * 1024 * 1024 } },
  };
}

async function main(): Promise<void> {
  const logger = silentLogger();
  const proposer = new LocalProposer();
  const store = new MemoryStore({ proposer, logger });
  proposer.attach(store);

  // The managers: one leader dispatcher; followers answer UNAVAILABLE naming the leader.
  const servers: grpc.Server[] = [];
  const dispatchers: Dispatcher[] = [];
  const addrs: string[] = [];
  for (let i = 0; i < MANAGERS; i++) {
    const dispatcher = new Dispatcher({
      store,
      logger,
      identify: metadataIdentity(),
      heartbeatPeriodMs: HEARTBEAT_MS,
      statusBatchDelayMs: 20,
      leaderAddr: () => addrs[0],
    });
    const server = new grpc.Server();
    server.addService(dispatcherServiceDefinition(), dispatcher.handlers());
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) =>
        e ? reject(e) : resolve(p),
      ),
    );
    addrs.push(`127.0.0.1:${port}`);
    servers.push(server);
    dispatchers.push(dispatcher);
  }
  dispatchers[0]!.start();

  const results: Record<string, string | number> = { nodes: NODES, tasks: TASKS, managers: MANAGERS };
  const cpu0 = process.cpuUsage();
  let t0 = performance.now();
  // Node i first tries manager i mod 3: most first contacts land on a follower, which redirects.
  const hollow = await startHollowNodes({
    count: NODES,
    managers: addrs,
    insecureIdentity: true,
    agentOptions: { reconnectBackoff: { initialMs: 50, maxMs: 1_000 } },
  });
  for (const [i, node] of hollow.nodes.entries()) {
    // Round-robin the starting manager so the followers' redirects are exercised.
    (node.agent as unknown as { managers: { prefer(a: string): void } }).managers.prefer(
      addrs[i % addrs.length]!,
    );
  }
  const ready = () =>
    store.view((tx) => tx.nodes.filter((n) => n.status?.state === 'NODE_STATE_READY').length);
  const readyProgress = setInterval(() => console.log(`  ready ${ready()}`), 2_000);
  await until('every node ready', () => ready() === NODES);
  clearInterval(readyProgress);
  results.nodesReadyMs = Math.round(performance.now() - t0);
  console.log(`nodes ready: ${NODES} in ${seconds(results.nodesReadyMs)}`);

  const nodeIds = hollow.nodes.map((n) => n.nodeId);
  const services = Array.from({ length: SERVICES }, (_, i) => ({ id: generateId(), spec: serviceSpec(i) }));
  await store.update((tx) => {
    for (const s of services) tx.services.create({ meta: { id: s.id }, spec: s.spec });
  });

  let running = 0;
  const counter = store.subscribe(
    (event) => {
      if (event.type !== 'update') return;
      const was = event.old?.status?.state === 'TASK_STATE_RUNNING';
      const is = event.object.status?.state === 'TASK_STATE_RUNNING';
      if (is && !was) running++;
      else if (was && !is) running--;
    },
    { tables: ['tasks'] },
  );

  t0 = performance.now();
  await store.batch(async (batch) => {
    for (let i = 0; i < TASKS; i++) {
      const service = services[i % SERVICES]!;
      const task: TaskInput = {
        meta: { id: generateId() },
        serviceId: service.id,
        slot: Math.floor(i / SERVICES) + 1,
        nodeId: nodeIds[i % NODES]!,
        spec: service.spec,
        desiredState: 'TASK_STATE_RUNNING',
        status: { state: 'TASK_STATE_ASSIGNED', message: 'assigned', timestampMs: Date.now() },
      };
      await batch.update((tx) => tx.tasks.create(task));
      // LocalProposer commits synchronously; Raft would let the event loop run between entries.
      if (i % 200 === 199) await new Promise((resolve) => setImmediate(resolve));
    }
  });
  results.assignWriteMs = Math.round(performance.now() - t0);
  const progress = setInterval(() => console.log(`  running ${running}`), 500);
  await until('every task running', () => running === TASKS);
  clearInterval(progress);
  results.allRunningMs = Math.round(performance.now() - t0);
  console.log(
    `all ${TASKS} running: ${seconds(results.allRunningMs)} (writing the assignments: ${seconds(results.assignWriteMs)})`,
  );

  global.gc?.();
  const memory = process.memoryUsage();
  results.rssBytes = memory.rss;
  results.heapUsedBytes = memory.heapUsed;
  console.log(
    `process RSS ${mib(memory.rss)}, heap used ${mib(memory.heapUsed)} (managers + ${NODES} hollow nodes)`,
  );

  // Kill some nodes; then do what the orchestrator and scheduler would once they are DOWN.
  const victims = new Set(nodeIds.slice(0, KILL));
  const live = nodeIds.filter((id) => !victims.has(id));
  const replacements = new Set<string>();
  t0 = performance.now();
  await hollow.kill(victims);
  const down = () =>
    store.view(
      (tx) => tx.nodes.filter((n) => victims.has(n.meta!.id) && n.status?.state === 'NODE_STATE_DOWN').length,
    );
  await until('killed nodes down', () => down() === KILL);
  results.downDetectedMs = Math.round(performance.now() - t0);
  console.log(
    `${KILL} killed nodes DOWN after ${seconds(results.downDetectedMs)} (3 × ${HEARTBEAT_MS} ms heartbeats)`,
  );

  const orphaned = store.view((tx) => [...victims].flatMap((id) => tx.tasks.findByNode(id)));
  let next = 0;
  await store.batch(async (batch) => {
    for (const old of orphaned) {
      await batch.update((tx) => {
        const current = tx.tasks.get(old.meta!.id)!;
        tx.tasks.update({ ...current, desiredState: 'TASK_STATE_SHUTDOWN' });
        const id = generateId();
        replacements.add(id);
        tx.tasks.create({
          meta: { id },
          serviceId: old.serviceId,
          slot: old.slot,
          nodeId: live[next++ % live.length]!,
          spec: old.spec!,
          desiredState: 'TASK_STATE_RUNNING',
          status: { state: 'TASK_STATE_ASSIGNED', message: 'assigned', timestampMs: Date.now() },
        });
      });
      if (next % 100 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
  });
  const replacedRunning = () =>
    store.view(
      (tx) =>
        [...replacements].filter((id) => tx.tasks.get(id)?.status?.state === 'TASK_STATE_RUNNING').length,
    );
  await until('replacements running', () => replacedRunning() === replacements.size, 200);
  results.rescheduledTasks = replacements.size;
  results.rescheduleMs = Math.round(performance.now() - t0);
  console.log(
    `${replacements.size} tasks of the killed nodes running elsewhere ${seconds(results.rescheduleMs)} after the kill`,
  );
  const cpu = process.cpuUsage(cpu0);
  results.cpuUserMs = Math.round(cpu.user / 1000);
  results.cpuSystemMs = Math.round(cpu.system / 1000);
  results.dispatcher = JSON.stringify(dispatchers[0]!.stats());
  console.log(JSON.stringify(results));

  counter.close();
  await hollow.close();
  for (const d of dispatchers) d.stop();
  for (const s of servers) s.forceShutdown();
  store.close();
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
