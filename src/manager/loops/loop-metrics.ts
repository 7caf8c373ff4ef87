// Prometheus metrics of the leader loops, attached to the registry the node daemon serves on
// `/metrics`. The loops are re-created for every leadership term, so the metrics read them through
// a getter at scrape time: on a manager that does not lead, the per-loop series are absent and the
// task gauges read 0.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { LeaderLoops } from './leader-loops';
import type { LoopStats, ManagedLoop } from './store-loop';

export function registerLeaderLoopMetrics(
  registry: Registry,
  current: () => LeaderLoops | undefined,
  prefix = 'orch_leader_loop_',
): void {
  const loopsOf = (loops: LeaderLoops): ManagedLoop[] => [
    loops.allocator,
    loops.scheduler,
    loops.nodeFailures,
    loops.orchestrator,
    loops.taskReaper,
  ];
  const perLoop = (
    name: string,
    help: string,
    read: (stats: LoopStats) => number,
    kind: 'counter' | 'gauge',
  ) => {
    const options = { name: prefix + name, help, labelNames: ['loop'] as const, registers: [registry] };
    const collect = function (this: Counter<'loop'> | Gauge<'loop'>): void {
      this.reset();
      const loops = current();
      if (!loops) return;
      for (const loop of loopsOf(loops)) {
        const value = read(loop.stats());
        if (this instanceof Counter) this.inc({ loop: loop.name }, value);
        else this.set({ loop: loop.name }, value);
      }
    };
    if (kind === 'counter') new Counter({ ...options, collect });
    else new Gauge({ ...options, collect });
  };
  perLoop('passes_total', 'Reconcile passes run by each leader loop', (s) => s.passes, 'counter');
  perLoop('passes_failed_total', 'Passes that failed and were retried', (s) => s.passesFailed, 'counter');
  perLoop(
    'races_lost_total',
    'Passes redone because another writer changed the same objects',
    (s) => s.racesLost,
    'counter',
  );
  perLoop('resyncs_total', 'Restarts from a fresh view of the store', (s) => s.resyncs, 'counter');
  perLoop('last_pass_seconds', 'Duration of the last pass', (s) => s.lastPassDurationMs / 1000, 'gauge');
  const gauge = (name: string, help: string, read: (loops: LeaderLoops) => number) =>
    new Gauge({
      name: prefix + name,
      help,
      registers: [registry],
      collect() {
        this.reset();
        const loops = current();
        if (loops) this.set(read(loops));
      },
    });
  gauge(
    'tasks_pending',
    'Tasks waiting for a node (desired running, observed pending)',
    (l) => l.scheduler.pendingCount,
  );
  gauge(
    'tasks_awaiting_allocation',
    'New tasks waiting for their service to be allocated',
    (l) => l.allocator.awaitingAllocation,
  );
  gauge(
    'services_blocked',
    'Services that cannot be allocated (published port held by another)',
    (l) => l.allocator.blockedServices,
  );
}
