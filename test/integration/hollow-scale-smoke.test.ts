// A small run of the scale benchmark's exact path (test/bench/hollow-scale.ts): 3 manager daemons
// from dist/ (drained), 20 hollow workers in one forked process that join through the cluster CA
// with a worker token and hold mTLS sessions, 200 tasks created through the leader's Control API,
// then 5 workers stopped abruptly. Proves the tooling works; timings are printed, never asserted.
import type { Node__Output } from '../../src/api/gen/types/orch/objects/Node';
import { HollowScaleCluster } from '../bench/hollow-scale-cluster';

jest.setTimeout(90_000);

const NODES = 20;
const SERVICES = 4;
const REPLICAS = 50;
const KILL = 5;

describe('hollow scale benchmark (smoke size)', () => {
  const cluster = new HollowScaleCluster({ managers: 3, heartbeatPeriod: '1s', timeoutMs: 40_000 });
  let nodeIds: string[] = [];
  let serviceIds: string[] = [];

  afterAll(() => cluster.close());

  beforeAll(async () => {
    await cluster.startManagers();
    await cluster.findLeader();
  });

  it('runs three real managers, all drained', async () => {
    const managers = (await cluster.leader().listNodes()).filter((n) => n.managerStatus !== null);
    expect(managers).toHaveLength(3);
    expect(managers.every((n) => n.spec?.availability === 'NODE_AVAILABILITY_DRAIN')).toBe(true);
    expect(managers.filter((n) => n.managerStatus!.leader)).toHaveLength(1);
  });

  it('joins every hollow worker through the CA with its own certificate and brings it Ready', async () => {
    ({ nodeIds } = await cluster.startWorkers({ count: NODES, joinConcurrency: 8 }));
    expect(new Set(nodeIds).size).toBe(NODES);
    const ids = new Set(nodeIds);
    await cluster.until(
      'workers ready',
      async () => (await cluster.countNodes(ids, 'NODE_STATE_READY')) === NODES,
    );
    const workers: Node__Output[] = (await cluster.leader().listNodes()).filter((n) => ids.has(n.meta!.id));
    expect(workers.every((n) => n.role === 'NODE_ROLE_WORKER')).toBe(true);
    expect(workers.every((n) => n.certificate !== null && n.certificate.serialNumber !== '')).toBe(true);
  });

  it('runs every replica of every service on the hollow workers, none on a manager', async () => {
    const t0 = performance.now();
    serviceIds = await cluster.createServices(SERVICES, REPLICAS);
    await cluster.waitAllRunning(serviceIds, REPLICAS);
    process.stderr.write(
      `hollow-scale-smoke: ${SERVICES * REPLICAS} tasks running in ${Math.round(performance.now() - t0)} ms\n`,
    );
    const tasks = await cluster.leader().listTasks({ filters: { desiredStates: ['TASK_STATE_RUNNING'] } });
    expect(tasks).toHaveLength(SERVICES * REPLICAS);
    const workers = new Set(nodeIds);
    expect(tasks.every((t) => workers.has(t.nodeId))).toBe(true);
    for (const m of cluster.managersMemory()) expect(m.peakRssBytes).toBeGreaterThanOrEqual(m.rssBytes);
  });

  it('marks abruptly stopped workers Down and runs their tasks elsewhere', async () => {
    const victims = nodeIds.slice(0, KILL);
    const slots = await cluster.slotsOn(victims);
    const orphaned = [...slots.values()].reduce((sum, s) => sum + s.size, 0);
    expect(orphaned).toBeGreaterThan(0);
    const killed = new Set(await cluster.killWorkers(KILL));
    expect([...killed].sort()).toEqual([...victims].sort());
    await cluster.until(
      'killed workers down',
      async () => (await cluster.countNodes(killed, 'NODE_STATE_DOWN')) === KILL,
    );
    await cluster.waitReplaced(slots, killed);
    const running = await cluster.leader().listTasks({ filters: { desiredStates: ['TASK_STATE_RUNNING'] } });
    expect(
      running.filter((t) => t.status?.state === 'TASK_STATE_RUNNING' && !killed.has(t.nodeId)),
    ).toHaveLength(SERVICES * REPLICAS);
  });
});
