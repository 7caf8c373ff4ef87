// The leader's long passes work in chunks and let the event loop run between them (pass-budget.ts):
// a pass over many services, pending tasks or failed nodes must not hold the leader for its whole
// length, and must still end exactly where one big pass would, even when it is cut short.

import type { LeaderLoops } from '../../../src/manager/loops';
import { TaskState } from '../../../src/manager/orchestrator';
import { serviceSpec } from '../scheduler/cluster-fixtures';
import { flush, TestLeader } from './loop-harness';

const SMALL_CHUNKS = { chunkLimits: { maxItems: 40, maxMs: 60_000 } };
const SERVICES = 12;
const REPLICAS = 25;

type LoopName = 'orchestrator' | 'scheduler' | 'nodeFailures';

/**
 * Drives the loops like TestLeader.settle, one event-loop turn at a time, and returns what `probe`
 * saw on the turns where loop `name` had a pass in flight (passes yield with setImmediate, so a
 * turn can end in the middle of one).
 */
async function driveObserving<T>(leader: TestLeader, name: LoopName, probe: () => T): Promise<T[]> {
  const seen: T[] = [];
  for (let round = 0; round < 20_000; round++) {
    await flush();
    if (passInFlight(leader.loops, name)) seen.push(probe());
    if (!leader.loops.isBusy) return seen;
    const next = leader.clock.nextDueMs();
    if (next !== undefined) leader.clock.advanceTo(next);
  }
  throw new Error('the loops did not settle');
}

/** A pass is running, not just due (the loop's own in-flight pass, read for the test only). */
function passInFlight(loops: LeaderLoops, name: LoopName): boolean {
  const loop = loops[name] as unknown as { passing?: Promise<void> };
  return loop.passing !== undefined;
}

async function createServices(leader: TestLeader): Promise<void> {
  await leader.store.batch(async (batch) => {
    for (let i = 0; i < SERVICES; i++) {
      const spec = serviceSpec({ name: `svc-${String(i).padStart(2, '0')}`, replicas: REPLICAS });
      await batch.update((tx) => tx.services.create({ spec }));
    }
  });
}

/** Every service has exactly its replicas, one live task per slot, each on a node. */
function expectExactlyConverged(leader: TestLeader): void {
  const services = leader.store.view((tx) => tx.services.list());
  expect(services).toHaveLength(SERVICES);
  for (const service of services) {
    const live = leader.tasksOf(service.meta!.id).filter((t) => t.desiredState === TaskState.Running);
    expect(live.map((t) => t.slot).sort((a, b) => a - b)).toEqual(
      Array.from({ length: REPLICAS }, (_, i) => i + 1),
    );
    expect(live.filter((t) => !t.nodeId)).toEqual([]);
  }
}

describe('chunked leader passes', () => {
  let leader: TestLeader;

  afterEach(async () => {
    await leader.close();
  });

  it('lets the event loop run in the middle of an orchestrator pass, and still creates every replica once', async () => {
    leader = new TestLeader(SMALL_CHUNKS);
    for (const id of ['node-a', 'node-b', 'node-c']) await leader.addNode(id);
    await leader.settle();
    await createServices(leader);

    const counts = await driveObserving(leader, 'orchestrator', () => leader.tasks().length);

    // Turns ended while the pass was half done: some services had their tasks, others not yet.
    expect(counts.some((n) => n > 0 && n < SERVICES * REPLICAS)).toBe(true);
    await leader.settle();
    expect(leader.tasks()).toHaveLength(SERVICES * REPLICAS);
    expectExactlyConverged(leader);
  });

  it('lets the event loop run during a scheduler pass over many pending tasks, and assigns each task once', async () => {
    leader = new TestLeader(SMALL_CHUNKS);
    for (const id of ['node-a', 'node-b', 'node-c']) await leader.addNode(id);
    await leader.settle();
    await createServices(leader);

    const assigned = await driveObserving(
      leader,
      'scheduler',
      () => leader.tasks((t) => t.status?.state === TaskState.Assigned).length,
    );

    expect(assigned.some((n) => n > 0 && n < SERVICES * REPLICAS)).toBe(true);
    await leader.settle();
    const tasks = leader.tasks();
    expect(tasks.filter((t) => t.status?.state !== TaskState.Assigned)).toEqual([]);
    const perNode = new Map<string, number>();
    for (const t of tasks) perNode.set(t.nodeId, (perNode.get(t.nodeId) ?? 0) + 1);
    expect([...perNode.values()].sort()).toEqual([100, 100, 100]);
  });

  it('moves tasks off many failed nodes chunk by chunk, and replaces each exactly once', async () => {
    leader = new TestLeader(SMALL_CHUNKS);
    const nodes = Array.from({ length: 10 }, (_, i) => `node-${i}`);
    for (const id of nodes) await leader.addNode(id);
    await createServices(leader);
    await leader.converge();
    const survivors = new Set(nodes.slice(0, 2));
    await leader.store.batch(async (batch) => {
      for (const id of nodes.filter((n) => !survivors.has(n)))
        await batch.update((tx) => {
          const n = tx.nodes.get(id)!;
          tx.nodes.update({
            ...n,
            status: { ...n.status!, state: 'NODE_STATE_DOWN', lastHeartbeatMs: leader.clock.now() },
          });
        });
    });

    const shutDown = await driveObserving(
      leader,
      'nodeFailures',
      () => leader.tasks((t) => t.desiredState !== TaskState.Running).length,
    );

    const total = (SERVICES * REPLICAS * 8) / 10;
    expect(shutDown.some((n) => n > 0 && n < total)).toBe(true);
    await leader.converge();
    expectExactlyConverged(leader);
    const live = leader.tasks((t) => t.desiredState === TaskState.Running);
    expect(live.filter((t) => !survivors.has(t.nodeId))).toEqual([]);
  });

  it('stops between chunks when the loops stop, and a new leader finishes without duplicates', async () => {
    leader = new TestLeader(SMALL_CHUNKS);
    for (const id of ['node-a', 'node-b', 'node-c']) await leader.addNode(id);
    await leader.settle();
    await createServices(leader);

    // Run until the orchestrator is in the middle of its pass, then lose leadership.
    for (let round = 0; round < 1_000; round++) {
      await flush();
      const created = leader.tasks().length;
      if (passInFlight(leader.loops, 'orchestrator') && created > 0) break;
      const next = leader.clock.nextDueMs();
      if (next !== undefined) leader.clock.advanceTo(next);
    }
    await leader.loops.stop();
    const cutAt = leader.tasks().length;
    expect(cutAt).toBeGreaterThan(0);
    expect(cutAt).toBeLessThan(SERVICES * REPLICAS);
    await flush();
    expect(leader.tasks()).toHaveLength(cutAt);

    leader.start(SMALL_CHUNKS);
    await leader.settle();
    expect(leader.tasks()).toHaveLength(SERVICES * REPLICAS);
    expectExactlyConverged(leader);
  });
});
