// Scale of one scheduling pass: 50,000 pending tasks over 1,000 nodes. Prints the time taken (never
// asserted: machines are shared) and checks the outcome is a correct spread.

import { performance } from 'node:perf_hooks';
import type { Task__Output } from '../../../src/api/gen/types/orch/objects/Task';
import { scheduleTasks } from '../../../src/manager/scheduler';
import { GiB, node, pendingTasks, serviceSpec, task } from './cluster-fixtures';

const NODES = 1_000;
const SERVICES = 100;
const TASKS_PER_SERVICE = 500;
const SOLO_TASKS = 10_000;

function cluster() {
  const nodes = Array.from({ length: NODES }, (_, i) =>
    node(`node-${String(i).padStart(4, '0')}`, {
      cpus: 64,
      memoryBytes: 256 * GiB,
      labels: { zone: `zone-${i % 5}`, ...(i % 10 === 0 ? { gpu: 'yes' } : {}) },
      role: i < 3 ? 'manager' : 'worker',
    }),
  );
  // 10,000 tasks already running, all on the first half of the nodes.
  const running: Task__Output[] = [];
  const other = serviceSpec({ name: 'existing', reserveCpus: 0.1 });
  for (let i = 0; i < 10_000; i++) {
    running.push(
      task({ id: `run-${i}`, serviceId: 'existing', nodeId: nodes[i % 500]!.meta!.id, spec: other }),
    );
  }
  const pending: Task__Output[] = [];
  for (let s = 0; s < SERVICES; s++) {
    const spec = serviceSpec({
      name: `svc-${s}`,
      reserveCpus: 0.25,
      reserveMemoryBytes: 256 * 2 ** 20,
      ...(s % 4 === 1 ? { constraints: ['node.role==worker'] } : {}),
      ...(s % 4 === 2 ? { preferences: ['spread=node.labels.zone'] } : {}),
      ...(s % 4 === 3 ? { constraints: ['node.labels.gpu!=yes'], maxReplicasPerNode: 2 } : {}),
    });
    pending.push(...pendingTasks(TASKS_PER_SERVICE, spec, `svc-${s}`, `s${s}-`));
  }
  return { nodes, running, pending };
}

describe('scheduler batch', () => {
  it('places 50,000 tasks over 1,000 nodes in one pass, spread evenly', () => {
    const { nodes, running, pending } = cluster();
    const started = performance.now();
    const { assignments, unschedulable } = scheduleTasks(nodes, running, pending);
    const elapsedMs = performance.now() - started;
    console.log(
      `scheduleTasks: ${pending.length} pending tasks × ${nodes.length} nodes (+${running.length} running) in ${elapsedMs.toFixed(0)} ms`,
    );
    expect(unschedulable.size).toBe(0);
    expect(assignments.size).toBe(pending.length);

    // Every service without preferences lands on each eligible node 0 or 1 times (500 tasks, ≥900 nodes).
    const perService = new Map<string, Map<string, number>>();
    for (const t of pending) {
      const nodeId = assignments.get(t.meta!.id)!;
      const counts = perService.get(t.serviceId) ?? new Map<string, number>();
      counts.set(nodeId, (counts.get(nodeId) ?? 0) + 1);
      perService.set(t.serviceId, counts);
    }
    for (const counts of perService.values()) expect(Math.max(...counts.values())).toBe(1);
  });

  it('handles the worst case of every pending task being its own service', () => {
    // Each group is one task, so the filters run over every node per task: O(tasks × nodes).
    const nodes = Array.from({ length: NODES }, (_, i) =>
      node(`n${i}`, { cpus: 64, memoryBytes: 256 * GiB }),
    );
    const pending = Array.from({ length: SOLO_TASKS }, (_, i) =>
      task({
        id: `solo-${i}`,
        serviceId: `solo-${i}`,
        slot: 1,
        spec: serviceSpec({ name: `solo-${i}`, reserveCpus: 0.01 }),
      }),
    );
    const started = performance.now();
    const { assignments } = scheduleTasks(nodes, [], pending);
    const elapsedMs = performance.now() - started;
    console.log(
      `scheduleTasks: ${SOLO_TASKS} single-task services × ${NODES} nodes in ${elapsedMs.toFixed(0)} ms`,
    );
    expect(assignments.size).toBe(SOLO_TASKS);
    const perNode = new Map<string, number>();
    for (const nodeId of assignments.values()) perNode.set(nodeId, (perNode.get(nodeId) ?? 0) + 1);
    // Fewest tasks overall: the same number on every node.
    expect(new Set(perNode.values())).toEqual(new Set([SOLO_TASKS / NODES]));
  });
});
