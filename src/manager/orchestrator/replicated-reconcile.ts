// The replicated orchestrator's decision: given a replicated service, all its tasks and the nodes,
// what to change so that exactly `replicas` slots hold a live task.
//  1. Every live task is looked at: one that stopped is restarted per the restart policy (now, or
//     later: the plan's wakeAtMs); one on a down, drained or removed node is shut down and replaced
//     in the same slot straight away (not a restart attempt).
//  2. Missing slots are created, lowest free slot numbers first.
//  3. Extra slots are removed: first slots with nothing placed and alive (pending or failed tasks),
//     then from the busiest nodes (most tasks of the service), one at a time, so what remains stays
//     spread.
//  4. History beyond the retention limit, and the history of removed slots, is deleted.
// Pure: reads its arguments, returns a plan; the caller writes it and records the restarts.

import type { Node__Output } from '../../api/gen/types/orch/objects/Node';
import type { Service__Output } from '../../api/gen/types/orch/objects/Service';
import type { Task__Output } from '../../api/gen/types/orch/objects/Task';
import { isTerminal, TaskState, taskStateRank } from '../../common/task-state';
import { MinHeap } from '../scheduler/min-heap';
import { leaveReason, mustLeaveNode, nodeCondition } from './node-failure';
import type { ReconcileContext } from './reconcile-context';
import { emptyPlan, type ReconcilePlan, wakeAt } from './reconcile-plan';
import { isLive, newTask, observedState, shutDownTask, tasksOf } from './task-factory';
import { planHistoryCleanup } from './task-history';

interface Slot {
  readonly slot: number;
  /** Live tasks after this reconcile's changes (usually one). */
  live: Task__Output[];
}

export function reconcileReplicated(
  service: Service__Output,
  serviceTasks: readonly Task__Output[],
  nodes: readonly Node__Output[],
  context: ReconcileContext,
): ReconcilePlan {
  const plan = emptyPlan();
  const tasks = tasksOf(service, serviceTasks);
  const replicas = service.spec?.replicated?.replicas;
  if (replicas === undefined || service.spec?.mode !== 'replicated') return plan;
  const nowMs = context.restarts.clock.now();
  const nodesById = new Map(nodes.map((node) => [node.meta?.id ?? '', node]));
  const updated = new Map<string, Task__Output>();
  const slots = new Map<number, Slot>();
  const slotOf = (number: number): Slot => {
    let slot = slots.get(number);
    if (!slot) {
      slot = { slot: number, live: [] };
      slots.set(number, slot);
    }
    return slot;
  };
  const create = (slot: number) => {
    const task = newTask(service, { id: context.newTaskId(), nowMs, slot });
    plan.create.push(task);
    slotOf(slot).live.push(task);
  };
  const shutDown = (task: Task__Output, message?: string) => {
    const next = shutDownTask(task, nowMs, message);
    updated.set(task.meta?.id ?? '', next);
    plan.update.push(next);
  };

  // 1. Restarts and node failures, slot by slot in slot order.
  const ordered = [...tasks].filter((t) => t.slot > 0).sort(bySlotThenCreated);
  for (const task of ordered) {
    const slot = slotOf(task.slot);
    if (!isLive(task)) continue;
    if (isTerminal(observedState(task))) {
      const decision = context.restarts.decide(service, task);
      if (!decision.restart || decision.atMs > nowMs) {
        if (decision.restart) wakeAt(plan, decision.atMs);
        slot.live.push(task);
        continue;
      }
      shutDown(task, 'restarting');
      plan.restarts.push(context.restarts.restartRecord(service, String(task.slot), nowMs));
      create(task.slot);
      continue;
    }
    const condition = task.nodeId ? nodeCondition(nodesById.get(task.nodeId)) : 'available';
    if (mustLeaveNode(condition)) {
      shutDown(task, leaveReason(condition));
      create(task.slot);
      continue;
    }
    slot.live.push(task);
  }

  // 2 and 3. Scale to `replicas` occupied slots.
  const occupied = [...slots.values()].filter((slot) => slot.live.length > 0);
  if (occupied.length < replicas) {
    let next = 1;
    for (let missing = replicas - occupied.length; missing > 0; missing--) {
      while ((slots.get(next)?.live.length ?? 0) > 0) next++;
      create(next);
      next++;
    }
  } else if (occupied.length > replicas) {
    for (const slot of slotsToRemove(occupied, occupied.length - replicas)) {
      for (const task of slot.live) {
        // A replacement created above is simply not created; only stored tasks are shut down.
        const created = plan.create.indexOf(task);
        if (created >= 0) plan.create.splice(created, 1);
        else shutDown(task, 'service scaled down');
      }
      slot.live = [];
      // Nor was the slot restarted, if that was why its task was new.
      const key = String(slot.slot);
      plan.restarts.splice(0, plan.restarts.length, ...plan.restarts.filter((r) => r.slotKey !== key));
    }
  }

  // 4. History, over the tasks as they will be after this plan.
  const after = tasks.map((task) => updated.get(task.meta?.id ?? '') ?? task);
  plan.delete.push(
    ...planHistoryCleanup(after, {
      retention: context.historyRetention,
      isSlotRemoved: (key) => (slots.get(Number(key))?.live.length ?? 0) === 0,
    }),
  );
  return plan;
}

/** Whether a slot's task is placed and alive: assigned to a node, not stopped. */
function isPlacedAndAlive(slot: Slot): boolean {
  return slot.live.some((task) => {
    const state = observedState(task);
    return !isTerminal(state) && taskStateRank(state) >= taskStateRank(TaskState.Assigned);
  });
}

function isRunning(slot: Slot): boolean {
  return slot.live.some((task) => observedState(task) === TaskState.Running);
}

/** `count` slots to remove: idle slots first, then one at a time from the node with most slots. */
function slotsToRemove(occupied: readonly Slot[], count: number): Slot[] {
  const idle = occupied.filter((slot) => !isPlacedAndAlive(slot)).sort((a, b) => b.slot - a.slot);
  const chosen = idle.slice(0, count);
  if (chosen.length === count) return chosen;

  const byNode = new Map<string, Slot[]>();
  for (const slot of occupied) {
    if (!isPlacedAndAlive(slot)) continue;
    const nodeId = slot.live[slot.live.length - 1]!.nodeId;
    const list = byNode.get(nodeId);
    if (list) list.push(slot);
    else byNode.set(nodeId, [slot]);
  }
  // Per node, the slot to give up first comes last: running ones are kept longest, then low numbers.
  for (const list of byNode.values()) {
    list.sort((a, b) => Number(isRunning(b)) - Number(isRunning(a)) || a.slot - b.slot);
  }
  type Entry = { nodeId: string; slots: Slot[] };
  const busiest = new MinHeap<Entry>(
    (a, b) => (a.slots.length !== b.slots.length ? a.slots.length > b.slots.length : a.nodeId < b.nodeId),
    [...byNode].map(([nodeId, slots]) => ({ nodeId, slots })),
  );
  while (chosen.length < count && busiest.size > 0) {
    const entry = busiest.peek()!;
    chosen.push(entry.slots.pop()!);
    if (entry.slots.length === 0) busiest.pop();
    else busiest.topChanged();
  }
  return chosen;
}

function bySlotThenCreated(a: Task__Output, b: Task__Output): number {
  return a.slot - b.slot || (a.meta?.createdAtMs ?? 0) - (b.meta?.createdAtMs ?? 0) || compareIds(a, b);
}

function compareIds(a: Task__Output, b: Task__Output): number {
  const x = a.meta?.id ?? '';
  const y = b.meta?.id ?? '';
  return x < y ? -1 : x > y ? 1 : 0;
}
