// Properties of the scheduler over random clusters, from fixed seeds (deterministic and replayable):
// whatever the cluster, a placement never breaks a filter, a task left pending really fits nowhere,
// spread stays even, and the order of the inputs does not matter.

import type { Node__Output } from '../../../src/api/gen/types/orch/objects/Node';
import type { Task__Output } from '../../../src/api/gen/types/orch/objects/Task';
import { nodeMatchesConstraints, scheduleTasks } from '../../../src/manager/scheduler';
import { MinHeap } from '../../../src/manager/scheduler/min-heap';
import { node, pendingTasks, serviceSpec, task } from './cluster-fixtures';

/** mulberry32: a small seeded PRNG. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pick<T>(rand: () => number, items: readonly T[]): T {
  return items[Math.floor(rand() * items.length)]!;
}

function shuffle<T>(rand: () => number, items: readonly T[]): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy;
}

function randomCluster(seed: number) {
  const rand = random(seed);
  const nodes: Node__Output[] = Array.from({ length: 3 + Math.floor(rand() * 20) }, (_, i) =>
    node(`n${String(i).padStart(2, '0')}`, {
      cpus: 1 + Math.floor(rand() * 8),
      state: rand() < 0.1 ? 'down' : 'ready',
      availability: rand() < 0.1 ? pick(rand, ['drain', 'pause'] as const) : 'active',
      role: rand() < 0.2 ? 'manager' : 'worker',
      labels: rand() < 0.8 ? { zone: pick(rand, ['a', 'b', 'c']) } : {},
    }),
  );
  const specs = Array.from({ length: 1 + Math.floor(rand() * 5) }, (_, s) =>
    serviceSpec({
      name: `s${s}`,
      reserveCpus: rand() < 0.5 ? pick(rand, [0.5, 1, 2]) : 0,
      constraints:
        rand() < 0.3 ? [pick(rand, ['node.role==worker', 'node.labels.zone!=a', 'node.labels.zone==b'])] : [],
      preferences: rand() < 0.3 ? ['spread=node.labels.zone'] : [],
      maxReplicasPerNode: rand() < 0.3 ? 1 + Math.floor(rand() * 2) : 0,
      hostPorts: rand() < 0.15 ? [8080] : [],
    }),
  );
  const existing: Task__Output[] = [];
  const pending: Task__Output[] = [];
  specs.forEach((spec, s) => {
    const running = Math.floor(rand() * 4);
    for (let i = 0; i < running; i++) {
      existing.push(
        task({
          id: `e${s}-${i}`,
          serviceId: `s${s}`,
          nodeId: pick(rand, nodes).meta!.id,
          spec,
          slot: 100 + i,
        }),
      );
    }
    pending.push(...pendingTasks(1 + Math.floor(rand() * 25), spec, `s${s}`, `p${s}-`));
  });
  return { rand, nodes, existing, pending };
}

const SEEDS = Array.from({ length: 60 }, (_, i) => i + 1);

describe('scheduler properties', () => {
  it.each(SEEDS)('seed %i: every placement passes every filter', (seed) => {
    const { nodes, existing, pending } = randomCluster(seed);
    const { assignments, unschedulable } = scheduleTasks(nodes, existing, pending);
    expect(assignments.size + unschedulable.size).toBe(pending.length);

    const byId = new Map(nodes.map((n) => [n.meta!.id, n]));
    const placed = [
      ...existing,
      ...pending
        .filter((t) => assignments.has(t.meta!.id))
        .map((t) => ({ ...t, nodeId: assignments.get(t.meta!.id)! })),
    ];
    const cpus = new Map<string, number>();
    const ports = new Map<string, number>();
    const perService = new Map<string, number>();
    for (const t of placed) {
      const reservation = t.spec!.resources!.reservations!.nanoCpus;
      cpus.set(t.nodeId, (cpus.get(t.nodeId) ?? 0) + reservation);
      for (const p of t.spec!.endpoint!.ports)
        ports.set(`${t.nodeId}/${p.publishedPort}`, (ports.get(`${t.nodeId}/${p.publishedPort}`) ?? 0) + 1);
      perService.set(`${t.nodeId}/${t.serviceId}`, (perService.get(`${t.nodeId}/${t.serviceId}`) ?? 0) + 1);
    }
    for (const t of pending) {
      const nodeId = assignments.get(t.meta!.id);
      if (!nodeId) continue;
      const n = byId.get(nodeId)!;
      expect(n.status!.state).toBe('NODE_STATE_READY');
      expect(n.spec!.availability).toBe('NODE_AVAILABILITY_ACTIVE');
      // Existing tasks were dropped at random and may overcommit; a task that reserves never adds to that.
      if (t.spec!.resources!.reservations!.nanoCpus > 0)
        expect(cpus.get(nodeId)!).toBeLessThanOrEqual(n.description!.nanoCpus);
      const max = t.spec!.placement!.maxReplicasPerNode;
      if (max > 0) expect(perService.get(`${nodeId}/${t.serviceId}`)!).toBeLessThanOrEqual(max);
      for (const p of t.spec!.endpoint!.ports) expect(ports.get(`${nodeId}/${p.publishedPort}`)).toBe(1);
    }
  });

  it.each(SEEDS)('seed %i: a task left pending fits on no node afterwards', (seed) => {
    const { nodes, existing, pending } = randomCluster(seed);
    const { assignments, unschedulable } = scheduleTasks(nodes, existing, pending);
    const after = [
      ...existing,
      ...pending
        .filter((t) => assignments.has(t.meta!.id))
        .map((t) => ({
          ...t,
          nodeId: assignments.get(t.meta!.id)!,
          status: { ...t.status!, state: 'TASK_STATE_ASSIGNED' as const },
        })),
    ];
    for (const t of pending.filter((p) => unschedulable.has(p.meta!.id))) {
      expect(scheduleTasks(nodes, after, [t]).assignments.size).toBe(0);
    }
  });

  it.each(SEEDS)('seed %i: spread leaves no eligible node more than one task behind', (seed) => {
    const { nodes, pending } = randomCluster(seed);
    // Services free of anything that could stop a node taking one more task, on an empty cluster.
    const simple = pending.filter((t) => {
      const spec = t.spec!;
      return (
        spec.resources!.reservations!.nanoCpus === 0 &&
        spec.placement!.maxReplicasPerNode === 0 &&
        spec.placement!.spreadPreferences.length === 0 &&
        spec.endpoint!.ports.length === 0
      );
    });
    const { assignments } = scheduleTasks(nodes, [], simple);
    const services = new Set(simple.map((t) => t.serviceId));
    for (const serviceId of services) {
      const constraints = simple.find((t) => t.serviceId === serviceId)!.spec!.placement!.constraints;
      const parsed = constraints.map((c) => {
        const op = c.includes('!=') ? '!=' : '==';
        const [key, value] = c.split(op) as [string, string];
        return { key, operator: op as '==' | '!=', value };
      });
      const eligible = nodes.filter(
        (n) =>
          n.status!.state === 'NODE_STATE_READY' &&
          n.spec!.availability === 'NODE_AVAILABILITY_ACTIVE' &&
          nodeMatchesConstraints(n, parsed),
      );
      const counts = new Map(eligible.map((n) => [n.meta!.id, 0]));
      for (const t of simple.filter((p) => p.serviceId === serviceId)) {
        const nodeId = assignments.get(t.meta!.id);
        if (nodeId) counts.set(nodeId, counts.get(nodeId)! + 1);
      }
      if (counts.size === 0) continue;
      expect(Math.max(...counts.values()) - Math.min(...counts.values())).toBeLessThanOrEqual(1);
    }
  });

  it.each(SEEDS)('seed %i: a spread preference splits a service evenly over the label values', (seed) => {
    const { nodes } = randomCluster(seed);
    const spec = serviceSpec({ preferences: ['spread=node.labels.zone'] });
    const count = 1 + (seed % 40);
    const { assignments } = scheduleTasks(nodes, [], pendingTasks(count, spec));
    const zoneOf = new Map(nodes.map((n) => [n.meta!.id, n.spec!.labels.zone ?? '']));
    const perZone = new Map<string, number>();
    for (const n of nodes) {
      if (n.status!.state === 'NODE_STATE_READY' && n.spec!.availability === 'NODE_AVAILABILITY_ACTIVE')
        perZone.set(zoneOf.get(n.meta!.id)!, 0);
    }
    for (const nodeId of assignments.values())
      perZone.set(zoneOf.get(nodeId)!, perZone.get(zoneOf.get(nodeId)!)! + 1);
    expect(assignments.size).toBe(perZone.size > 0 ? count : 0);
    if (perZone.size > 0)
      expect(Math.max(...perZone.values()) - Math.min(...perZone.values())).toBeLessThanOrEqual(1);
  });

  it.each(SEEDS.slice(0, 20))('seed %i: the order of the inputs does not matter', (seed) => {
    const { rand, nodes, existing, pending } = randomCluster(seed);
    const first = scheduleTasks(nodes, existing, pending);
    const second = scheduleTasks(shuffle(rand, nodes), shuffle(rand, existing), shuffle(rand, pending));
    expect([...second.assignments].sort()).toEqual([...first.assignments].sort());
    expect([...second.unschedulable].sort()).toEqual([...first.unschedulable].sort());
  });
});

describe('min-heap', () => {
  it('pops items in order through any mix of pushes and pops', () => {
    const rand = random(42);
    const heap = new MinHeap<number>((a, b) => a < b, [5, 3, 9]);
    const model = [5, 3, 9];
    for (let i = 0; i < 2_000; i++) {
      if (rand() < 0.6 || model.length === 0) {
        const value = Math.floor(rand() * 1000);
        heap.push(value);
        model.push(value);
      } else {
        model.sort((a, b) => a - b);
        expect(heap.pop()).toBe(model.shift());
      }
      expect(heap.size).toBe(model.length);
    }
  });

  it('restores order after the top item grows', () => {
    const items = [{ key: 1 }, { key: 2 }, { key: 3 }];
    const heap = new MinHeap<{ key: number }>((a, b) => a.key < b.key, items);
    heap.peek()!.key = 10;
    heap.topChanged();
    expect(heap.pop()!.key).toBe(2);
  });
});
