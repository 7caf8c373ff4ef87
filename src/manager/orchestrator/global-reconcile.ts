// The global orchestrator's decision: one live task of the service on every node that may run it
// (not drained, not down, meeting the constraints), following nodes as they join, leave, drain or
// change labels. A global task is bound to its node from creation (slot 0, node ID set), so a task
// whose node can no longer run it is shut down and not replaced elsewhere. Tasks that stop are
// restarted on the same node per the restart policy. Paused nodes keep their tasks and get new ones
// created; the scheduler holds those pending until the node is active again, saying why.
// Pure: reads its arguments, returns a plan.

import type { Node__Output } from '../../api/gen/types/orch/objects/Node';
import type { Service__Output } from '../../api/gen/types/orch/objects/Service';
import type { Task__Output } from '../../api/gen/types/orch/objects/Task';
import { isTerminal } from '../../common/task-state';
import { byNodeId, globalNodeFilter } from './global-eligibility';
import { leaveReason, mustLeaveNode, nodeCondition } from './node-failure';
import type { ReconcileContext } from './reconcile-context';
import { emptyPlan, type ReconcilePlan, wakeAt } from './reconcile-plan';
import { isLive, newTask, observedState, shutDownTask, tasksOf } from './task-factory';
import { planHistoryCleanup } from './task-history';

export function reconcileGlobal(
  service: Service__Output,
  serviceTasks: readonly Task__Output[],
  nodes: readonly Node__Output[],
  context: ReconcileContext,
): ReconcilePlan {
  const plan = emptyPlan();
  const tasks = tasksOf(service, serviceTasks);
  if (service.spec?.mode !== 'global') return plan;
  const nowMs = context.restarts.clock.now();
  const nodesById = new Map(nodes.map((node) => [node.meta?.id ?? '', node]));
  const runsOn = globalNodeFilter(service);

  const updated = new Map<string, Task__Output>();
  const shutDown = (task: Task__Output, message: string) => {
    const next = shutDownTask(task, nowMs, message);
    updated.set(task.meta?.id ?? '', next);
    plan.update.push(next);
  };
  const covered = new Set<string>();
  for (const task of [...tasks].sort(byCreatedThenId)) {
    if (!isLive(task) || !task.nodeId) continue;
    const node = nodesById.get(task.nodeId);
    if (!runsOn(node)) {
      const condition = nodeCondition(node);
      shutDown(
        task,
        mustLeaveNode(condition) ? leaveReason(condition) : 'node no longer satisfies the constraints',
      );
      continue;
    }
    if (isTerminal(observedState(task))) {
      const decision = context.restarts.decide(service, task);
      if (decision.restart && decision.atMs <= nowMs) {
        shutDown(task, 'restarting');
        plan.restarts.push(context.restarts.restartRecord(service, task.nodeId, nowMs));
        continue; // the node is not covered: a new task is created below
      }
      if (decision.restart) wakeAt(plan, decision.atMs);
    }
    covered.add(task.nodeId);
  }

  for (const node of [...nodes].sort(byNodeId)) {
    const nodeId = node.meta?.id ?? '';
    if (!runsOn(node) || covered.has(nodeId)) continue;
    plan.create.push(newTask(service, { id: context.newTaskId(), nowMs, slot: 0, nodeId }));
    covered.add(nodeId);
  }

  const after = tasks.map((task) => updated.get(task.meta?.id ?? '') ?? task);
  plan.delete.push(
    ...planHistoryCleanup(after, {
      retention: context.historyRetention,
      // A node that left the cluster takes its slot's history with it.
      isSlotRemoved: (nodeId) => !nodesById.has(nodeId),
    }),
  );
  return plan;
}

function byCreatedThenId(a: Task__Output, b: Task__Output): number {
  const byTime = (a.meta?.createdAtMs ?? 0) - (b.meta?.createdAtMs ?? 0);
  if (byTime !== 0) return byTime;
  const x = a.meta?.id ?? '';
  const y = b.meta?.id ?? '';
  return x < y ? -1 : x > y ? 1 : 0;
}
