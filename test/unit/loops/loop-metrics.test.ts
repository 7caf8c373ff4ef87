// Prometheus metrics of the leader loops, read at scrape time.

import { Registry } from 'prom-client';
import { type LeaderLoops, registerLeaderLoopMetrics } from '../../../src/manager/loops';
import { TestLeader } from './loop-harness';

describe('leader loop metrics', () => {
  it('reports passes per loop and the tasks waiting; no loop series and zero tasks while not leading', async () => {
    const leader = new TestLeader();
    let current: LeaderLoops | undefined = leader.loops;
    const registry = new Registry();
    registerLeaderLoopMetrics(registry, () => current);
    try {
      await leader.addNode('n1', { cpus: 1 });
      await leader.createService({ name: 'web', replicas: 3, reserveCpus: 0.5 });
      await leader.settle();

      const text = await registry.metrics();
      expect(text).toMatch(/orch_leader_loop_passes_total\{loop="scheduler"\} [1-9]/);
      expect(text).toMatch(/orch_leader_loop_passes_total\{loop="orchestrator"\} [1-9]/);
      expect(text).toContain('orch_leader_loop_passes_failed_total{loop="allocator"} 0');
      // Two fit on the node; the third waits.
      expect(text).toContain('orch_leader_loop_tasks_pending 1');
      expect(text).toContain('orch_leader_loop_tasks_awaiting_allocation 0');
      expect(text).toContain('orch_leader_loop_services_blocked 0');

      current = undefined;
      const idle = await registry.metrics();
      expect(idle).not.toContain('orch_leader_loop_passes_total{');
      expect(idle).toContain('orch_leader_loop_tasks_pending 0');
    } finally {
      await leader.close();
    }
  });
});
