// Scale of the leader's loops: tasks of 100 services created, allocated and scheduled over 1,000
// nodes through the store, as the orchestrator, allocator and scheduler loops do it (three writes per
// task). Prints the time; asserts only the outcome. By default 10,000 tasks, to stay well inside the
// unit-test budget; ORCH_LOOPS_SCALE=full runs the 50,000-task benchmark (about a minute here).

import { TaskState } from '../../../src/manager/orchestrator';
import { node, serviceSpec } from '../scheduler/cluster-fixtures';
import { TestLeader } from './loop-harness';

const FULL = process.env.ORCH_LOOPS_SCALE === 'full';
const NODES = 1_000;
const SERVICES = 100;
const REPLICAS = FULL ? 500 : 100;

describe('leader loops at scale', () => {
  it(`creates and schedules ${SERVICES * REPLICAS} tasks over ${NODES} nodes`, async () => {
    const leader = new TestLeader();
    try {
      await leader.store.batch(async (batch) => {
        for (let i = 0; i < NODES; i++) {
          const id = `node-${String(i).padStart(4, '0')}`;
          const { meta: _m, ...input } = node(id, { cpus: 64, memoryBytes: 256 * 2 ** 30 });
          await batch.update((tx) => tx.nodes.create({ ...input, meta: { id } }));
        }
      });
      await leader.settle();
      const started = performance.now();
      await leader.store.batch(async (batch) => {
        for (let i = 0; i < SERVICES; i++) {
          const spec = serviceSpec({
            name: `svc-${i}`,
            replicas: REPLICAS,
            reserveCpus: 0.1,
            reserveMemoryBytes: 64 * 2 ** 20,
          });
          await batch.update((tx) => tx.services.create({ spec }));
        }
      });
      await leader.settle(60_000);
      const elapsedMs = performance.now() - started;

      const tasks = leader.tasks();
      expect(tasks).toHaveLength(SERVICES * REPLICAS);
      expect(tasks.filter((t) => t.status!.state !== TaskState.Assigned)).toEqual([]);
      const perNode = new Map<string, number>();
      for (const t of tasks) perNode.set(t.nodeId, (perNode.get(t.nodeId) ?? 0) + 1);
      expect(perNode.size).toBe(NODES);
      expect(Math.max(...perNode.values()) - Math.min(...perNode.values())).toBeLessThanOrEqual(1);
      console.log(
        `leader loops: ${tasks.length} tasks of ${SERVICES} services created, allocated and scheduled over ${NODES} nodes in ${Math.round(elapsedMs)} ms (fake clock advanced ${leader.clock.now() - 1_700_000_000_000} ms)`,
      );
    } finally {
      await leader.close();
    }
  }, 600_000);
});
