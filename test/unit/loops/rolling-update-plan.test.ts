// Which tasks a rolling update replaces, decided from the spec alone (no store).

import type { Service__Output } from '../../../src/api/gen/types/orch/objects/Service';
import type { ServiceSpec__Output } from '../../../src/api/gen/types/orch/objects/ServiceSpec';
import { isTaskOutdated, planRollingUpdate } from '../../../src/manager/loops/rolling-update';
import { node, service, serviceSpec, task } from '../scheduler/cluster-fixtures';

function updated(spec: ServiceSpec__Output, change: Partial<ServiceSpec__Output>): Service__Output {
  return { ...service('svc', { ...spec, ...change }, 2), previousSpec: spec };
}

describe('isTaskOutdated', () => {
  const spec = serviceSpec({ replicas: 2, constraints: ['node.labels.zone==a'] });
  const onA = node('a1', { labels: { zone: 'a' } });
  const onB = node('b1', { labels: { zone: 'b' } });
  const t = task({ id: 't1', slot: 1, nodeId: 'a1', spec });

  it('replaces a task whose container changed', () => {
    const svc = updated(spec, { container: { ...spec.container!, image: 'web:2' } });
    expect(isTaskOutdated(t, svc, onA)).toBe(true);
  });

  it('keeps tasks when only the replicas or the service labels changed', () => {
    expect(isTaskOutdated(t, updated(spec, { replicated: { replicas: 5 } }), onA)).toBe(false);
    expect(isTaskOutdated(t, updated(spec, { labels: { team: 'x' } }), onA)).toBe(false);
  });

  it('replaces a task after a placement change only when its node no longer meets the constraints', () => {
    const svc = updated(spec, { placement: { ...spec.placement!, constraints: ['node.labels.zone!=b'] } });
    expect(isTaskOutdated(t, svc, onA)).toBe(false);
    expect(isTaskOutdated({ ...t, nodeId: 'b1' }, svc, onB)).toBe(true);
  });
});

describe('planRollingUpdate', () => {
  const spec = serviceSpec({ replicas: 3 });
  const nodes = new Map([['n1', node('n1')]]);
  const tasks = [1, 2, 3].map((slot) => task({ id: `t${slot}`, slot, nodeId: 'n1', spec }));
  let ids = 0;
  const context = { nowMs: 5_000, newTaskId: () => `new-${++ids}` };

  it('starts an update with one replacement by default, stop-first', () => {
    const svc = updated(spec, { container: { ...spec.container!, image: 'web:2' } });
    const plan = planRollingUpdate(svc, tasks, nodes, context);
    expect(plan.service?.updateStatus).toEqual({
      state: 'UPDATE_STATE_UPDATING',
      startedAtMs: 5_000,
      completedAtMs: 0,
      message: 'update in progress',
    });
    expect(plan.update.map((t) => [t.meta!.id, t.desiredState])).toEqual([['t1', 'TASK_STATE_SHUTDOWN']]);
    expect(plan.create.map((t) => [t.slot, t.spec!.container!.image])).toEqual([[1, 'web:2']]);
  });

  it('does nothing for a service whose tasks are current', () => {
    const plan = planRollingUpdate(service('svc', spec, 2), tasks, nodes, context);
    expect(plan.create).toEqual([]);
    expect(plan.update).toEqual([]);
    expect(plan.service).toBeUndefined();
  });
});
