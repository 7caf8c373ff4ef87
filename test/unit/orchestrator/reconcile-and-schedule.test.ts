// The orchestrator and the scheduler together over a small simulated cluster, the way the leader's
// loops will drive them: reconcile, write the plan, move new tasks to pending (the allocator's
// step), schedule, write the assignments, let agents run them. No store, no timers.

import type { Node__Output } from '../../../src/api/gen/types/orch/objects/Node';
import type { Service__Output } from '../../../src/api/gen/types/orch/objects/Service';
import type { Task__Output } from '../../../src/api/gen/types/orch/objects/Task';
import {
  planNodeFailures,
  type ReconcilePlan,
  reconcileService,
  TaskState,
} from '../../../src/manager/orchestrator';
import { assignTask, isAwaitingScheduling, scheduleTasks } from '../../../src/manager/scheduler';
import { node, service, serviceSpec } from '../scheduler/cluster-fixtures';
import { reconcileContext } from './orchestrator-fixtures';

class Cluster {
  readonly tasks = new Map<string, Task__Output>();
  readonly ctx = reconcileContext();

  constructor(public nodes: Node__Output[]) {}

  write(plan: Pick<ReconcilePlan, 'create' | 'update' | 'delete'>): void {
    for (const t of [...plan.create, ...plan.update]) this.tasks.set(t.meta!.id, t);
    for (const id of plan.delete) this.tasks.delete(id);
  }

  /** One pass of every loop, then agents start what they were given. */
  converge(svc: Service__Output): void {
    const plan = reconcileService(svc, [...this.tasks.values()], this.nodes, this.ctx);
    this.write(plan);
    this.ctx.restarts.record(plan.restarts);
    for (const t of this.tasks.values()) {
      if (t.status!.state === TaskState.New)
        this.tasks.set(t.meta!.id, { ...t, status: { ...t.status!, state: TaskState.Pending } });
    }
    const all = [...this.tasks.values()];
    const { assignments } = scheduleTasks(this.nodes, all, all.filter(isAwaitingScheduling));
    for (const [id, nodeId] of assignments)
      this.tasks.set(id, assignTask(this.tasks.get(id)!, nodeId, this.ctx.clock.now()));
    for (const t of this.tasks.values()) {
      const state = t.status!.state;
      if (state === TaskState.Assigned)
        this.tasks.set(t.meta!.id, { ...t, status: { ...t.status!, state: TaskState.Running } });
      // Agents stop what they were told to stop (down nodes cannot).
      const nodeDown = this.nodes.find((n) => n.meta!.id === t.nodeId)?.status?.state === 'NODE_STATE_DOWN';
      if (t.desiredState === TaskState.Shutdown && state === TaskState.Running && !nodeDown) {
        this.tasks.set(t.meta!.id, { ...t, status: { ...t.status!, state: TaskState.Shutdown } });
      }
    }
  }

  runningPer(key: (n: Node__Output) => string): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const t of this.tasks.values()) {
      if (t.desiredState !== TaskState.Running || t.status!.state !== TaskState.Running) continue;
      const k = key(this.nodes.find((n) => n.meta!.id === t.nodeId)!);
      counts[k] = (counts[k] ?? 0) + 1;
    }
    return counts;
  }
}

const zoneOf = (n: Node__Output) => n.spec!.labels.zone!;
const idOf = (n: Node__Output) => n.meta!.id;

describe('orchestrator and scheduler together', () => {
  it('keeps 9 replicas spread over 3 zones through a node failure, a drain and scaling', () => {
    const cluster = new Cluster([
      node('a1', { labels: { zone: 'a' } }),
      node('a2', { labels: { zone: 'a' } }),
      node('b1', { labels: { zone: 'b' } }),
      node('b2', { labels: { zone: 'b' } }),
      node('c1', { labels: { zone: 'c' } }),
      node('c2', { labels: { zone: 'c' } }),
    ]);
    const spec = serviceSpec({ replicas: 9, preferences: ['spread=node.labels.zone'] });
    let svc = service('svc', spec);
    cluster.converge(svc);
    expect(cluster.runningPer(zoneOf)).toEqual({ a: 3, b: 3, c: 3 });

    // b1 goes down: its tasks come back elsewhere, zone b keeps its share on b2.
    cluster.nodes = cluster.nodes.map((n) =>
      idOf(n) === 'b1' ? node('b1', { labels: { zone: 'b' }, state: 'down' }) : n,
    );
    const failures = planNodeFailures(cluster.nodes, [...cluster.tasks.values()], {
      nowMs: cluster.ctx.clock.now(),
    });
    cluster.write({ create: [], update: failures.update, delete: [] });
    cluster.converge(svc);
    expect(cluster.runningPer(zoneOf)).toEqual({ a: 3, b: 3, c: 3 });
    expect(cluster.runningPer(idOf).b2).toBe(3);

    // c2 is drained: its tasks move to c1.
    cluster.nodes = cluster.nodes.map((n) =>
      idOf(n) === 'c2' ? node('c2', { labels: { zone: 'c' }, availability: 'drain' }) : n,
    );
    cluster.converge(svc);
    expect(cluster.runningPer(idOf)).toEqual({ a1: 2, a2: 1, b2: 3, c1: 3 });

    // Scale to 4: removed from the busiest nodes first.
    svc = service('svc', { ...spec, replicated: { replicas: 4 } }, 2);
    cluster.converge(svc);
    const left = cluster.runningPer(idOf);
    expect(Object.values(left).reduce((x, y) => x + y, 0)).toBe(4);
    expect(Math.max(...Object.values(left))).toBe(1);
  });
});
