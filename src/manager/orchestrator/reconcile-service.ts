// One entry for the orchestrator loop: the reconcile that matches a service's mode, and what to do
// when a service is removed.

import type { Node__Output } from '../../api/gen/types/orch/objects/Node';
import type { Service__Output } from '../../api/gen/types/orch/objects/Service';
import type { Task__Output } from '../../api/gen/types/orch/objects/Task';
import { isTerminal } from '../../common/task-state';
import { reconcileGlobal } from './global-reconcile';
import { type JobOptions, reconcileGlobalJob, reconcileReplicatedJob } from './job-reconcile';
import type { ReconcileContext } from './reconcile-context';
import { emptyPlan, type ReconcilePlan } from './reconcile-plan';
import { reconcileReplicated } from './replicated-reconcile';
import { isLive, observedState, shutDownTask } from './task-factory';

/** Reconciles `service` with the reconciler of its mode (replicated, global or a job). */
export function reconcileService(
  service: Service__Output,
  tasks: readonly Task__Output[],
  nodes: readonly Node__Output[],
  context: ReconcileContext,
  jobOptions: JobOptions = {},
): ReconcilePlan {
  switch (service.spec?.mode) {
    case 'replicated':
      return reconcileReplicated(service, tasks, nodes, context);
    case 'global':
      return reconcileGlobal(service, tasks, nodes, context);
    case 'replicatedJob':
      return reconcileReplicatedJob(service, tasks, nodes, context, jobOptions);
    case 'globalJob':
      return reconcileGlobalJob(service, tasks, nodes, context, jobOptions);
    default:
      return emptyPlan();
  }
}

/**
 * A removed service's tasks: the live ones are shut down, the ones that have stopped are deleted.
 * Run it again as tasks stop until it returns an empty plan; then the service leaves no trace.
 */
export function planServiceRemoval(
  serviceId: string,
  tasks: readonly Task__Output[],
  nowMs: number,
): ReconcilePlan {
  const plan = emptyPlan();
  for (const task of tasks) {
    if (task.serviceId !== serviceId) continue;
    if (isLive(task)) {
      const next = shutDownTask(task, nowMs, 'service removed');
      plan.update.push(next);
      if (isTerminal(observedState(next))) plan.delete.push(next.meta?.id ?? '');
    } else if (isTerminal(observedState(task))) {
      plan.delete.push(task.meta?.id ?? '');
    }
  }
  plan.delete.sort();
  return plan;
}
