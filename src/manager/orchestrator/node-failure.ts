// What a node's condition means for the tasks on it. The dispatcher marks a node down when its
// heartbeats stop; an operator drains a node to empty it; a removed node is gone from the store.
//  - down, drained or removed: its live tasks are shut down and replicated services get a
//    replacement in the same slot elsewhere (global services do not: a global task belongs to its
//    node and comes back with it);
//  - down for longer than the orphan delay (Swarm: 24 h), or removed: tasks that never reported a
//    terminal state are marked orphaned by the manager, since no agent will ever report them;
//  - paused: tasks keep running, only new tasks stay away (the scheduler's business);
//  - disconnected or unknown: nothing yet; the node may come back before it is declared down.

import type { Node__Output } from '../../api/gen/types/orch/objects/Node';
import type { Task__Output } from '../../api/gen/types/orch/objects/Task';
import { isTerminal } from '../../common/task-state';
import { isLive, observedState, orphanTask, shutDownTask } from './task-factory';

export type NodeCondition = 'available' | 'paused' | 'draining' | 'down' | 'removed' | 'unsettled';

/** Swarm's delay before the tasks of a down node are declared orphaned. */
export const DEFAULT_ORPHAN_AFTER_MS = 24 * 60 * 60 * 1000;

export function nodeCondition(node: Node__Output | undefined): NodeCondition {
  if (!node) return 'removed';
  if (node.spec?.availability === 'NODE_AVAILABILITY_DRAIN') return 'draining';
  const state = node.status?.state;
  if (state === 'NODE_STATE_DOWN') return 'down';
  if (state !== 'NODE_STATE_READY') return 'unsettled';
  return node.spec?.availability === 'NODE_AVAILABILITY_PAUSE' ? 'paused' : 'available';
}

/** Whether a live task on a node in this condition must be shut down (and, if replicated, replaced). */
export function mustLeaveNode(condition: NodeCondition): boolean {
  return condition === 'draining' || condition === 'down' || condition === 'removed';
}

/** Why a task is being moved, as its status message says. */
export function leaveReason(condition: NodeCondition): string {
  switch (condition) {
    case 'draining':
      return 'node is drained';
    case 'down':
      return 'node is down';
    default:
      return 'node was removed';
  }
}

export interface NodeFailurePlan {
  /** New versions of tasks: shut down (desired state) or orphaned (observed state). */
  readonly update: Task__Output[];
  /** Replicated slots left without a live task, as `serviceId/slot`: the reconcile refills them. */
  readonly replaceSlots: string[];
  /** Services to reconcile now. */
  readonly affectedServiceIds: string[];
}

export interface NodeFailureOptions {
  readonly nowMs: number;
  readonly orphanAfterMs?: number;
}

/**
 * The node-event path: given every node and task, which tasks to shut down or orphan and which
 * services need a reconcile for replacements. The replicated and global reconcilers apply the same
 * rules, so running this and then reconciling the affected services is consistent.
 */
export function planNodeFailures(
  nodes: readonly Node__Output[],
  tasks: readonly Task__Output[],
  options: NodeFailureOptions,
): NodeFailurePlan {
  const byId = new Map(nodes.map((node) => [node.meta?.id ?? '', node]));
  const orphanAfterMs = options.orphanAfterMs ?? DEFAULT_ORPHAN_AFTER_MS;
  const update: Task__Output[] = [];
  const replaceSlots = new Set<string>();
  const affected = new Set<string>();
  for (const task of tasks) {
    if (!task.nodeId) continue;
    const node = byId.get(task.nodeId);
    const condition = nodeCondition(node);
    const terminal = isTerminal(observedState(task));
    const downSinceMs = node?.status?.lastHeartbeatMs ?? 0;
    const orphan =
      !terminal &&
      (condition === 'removed' || (condition === 'down' && options.nowMs - downSinceMs >= orphanAfterMs));
    if (orphan) {
      update.push(orphanTask(task, options.nowMs, `${leaveReason(condition)}: task orphaned`));
    } else if (isLive(task) && mustLeaveNode(condition)) {
      update.push(shutDownTask(task, options.nowMs, leaveReason(condition)));
    } else {
      continue;
    }
    affected.add(task.serviceId);
    if (isLive(task) && task.slot > 0) replaceSlots.add(`${task.serviceId}/${task.slot}`);
  }
  return { update, replaceSlots: [...replaceSlots].sort(), affectedServiceIds: [...affected].sort() };
}
