// The scheduler's decision logic: which node each pending task goes to. It owns a view of the
// cluster (NodeInfo per node, kept current by setNode/setTask as the store changes) and places
// pending tasks in batches. It never reads or writes the store, never waits and never looks at a
// clock: the leader's scheduling loop feeds it objects and writes its decisions back.
//
// A batch is processed group by group: pending tasks of the same service with the same placement
// requirements are interchangeable, so the filters run over the nodes once per group, and the
// group's tasks are then spread through heaps (placement-tree.ts) at O(log nodes) per task, re-checking
// only the node that just received one. Decisions are deterministic: the same inputs give the same
// assignments whatever the order of the input arrays.

import type { Node__Output } from '../../api/gen/types/orch/objects/Node';
import type { Task__Output } from '../../api/gen/types/orch/objects/Task';
import { TaskState, taskStateRank } from '../../common/task-state';
import { FilterPipeline } from './filter-pipeline';
import { NodeInfo } from './node-info';
import { buildPlacer } from './placement-tree';
import { nodeMatchesConstraints, type SchedulerFilter } from './scheduler-filters';
import {
  type TaskFootprint,
  type TaskRequirements,
  taskFootprint,
  taskRequirements,
} from './task-requirements';

export interface ScheduleResult {
  /** Task ID → node ID for every task placed in this pass. */
  readonly assignments: Map<string, string>;
  /** Task ID → why it stays pending, e.g. `no suitable node (insufficient resources on 3 nodes)`. */
  readonly unschedulable: Map<string, string>;
}

export interface SchedulerOptions {
  /** The filter pipeline, in order; defaults to ready, resources, constraints, host ports, max replicas. */
  readonly filters?: readonly SchedulerFilter[];
}

export class Scheduler {
  private readonly nodes = new Map<string, NodeInfo>();
  /** Task ID → ID of the node holding its footprint. */
  private readonly taskNodes = new Map<string, string>();
  /**
   * Placements this scheduler made that the store has not confirmed yet: task ID → the task's
   * meta.version when it was placed. An older or equal version of the task arriving (a watch event
   * queued before the assignment was written) must not take the placement back.
   */
  private readonly unconfirmed = new Map<string, number>();
  /** Service ID → the nodes running at least one active task of it; most nodes hold none of a service. */
  private readonly serviceNodes = new Map<string, Set<NodeInfo>>();
  private readonly pipeline: FilterPipeline;

  constructor(options: SchedulerOptions = {}) {
    this.pipeline = new FilterPipeline(options.filters);
  }

  /** Adds or updates a node. */
  setNode(node: Node__Output): void {
    const id = node.meta?.id ?? '';
    const info = this.nodes.get(id);
    if (info) info.node = node;
    else this.nodes.set(id, new NodeInfo(id, node));
  }

  /** Forgets a node; tasks still assigned to it keep their footprint until they are removed. */
  removeNode(nodeId: string): void {
    const info = this.nodes.get(nodeId);
    if (!info) return;
    if (info.taskCount === 0) this.nodes.delete(nodeId);
    else info.node = undefined;
  }

  /**
   * Adds or updates a task: what it takes from its node follows its node and state. A version of a
   * task this scheduler placed that is not newer than the one it placed is ignored (it predates the
   * assignment); see revertPlacement for a placement whose write failed.
   */
  setTask(task: Task__Output): void {
    const id = task.meta?.id ?? '';
    const placedAt = this.unconfirmed.get(id);
    if (placedAt !== undefined) {
      if ((task.meta?.version ?? 0) <= placedAt) return;
      this.unconfirmed.delete(id);
    }
    this.dropFootprint(id);
    const footprint = taskFootprint(task);
    if (footprint) this.addFootprint(task.nodeId, footprint);
  }

  /** Forgets a task (deleted from the store). */
  removeTask(taskId: string): void {
    this.unconfirmed.delete(taskId);
    this.dropFootprint(taskId);
  }

  /** Takes back a placement made by schedule() whose write to the store failed. */
  revertPlacement(taskId: string): void {
    if (!this.unconfirmed.delete(taskId)) return;
    this.dropFootprint(taskId);
  }

  private dropFootprint(taskId: string): void {
    const nodeId = this.taskNodes.get(taskId);
    if (nodeId === undefined) return;
    this.taskNodes.delete(taskId);
    const info = this.nodes.get(nodeId);
    if (!info) return;
    const footprint = info.removeTask(taskId);
    if (footprint?.active && info.activeTasksOf(footprint.serviceId) === 0) {
      const holders = this.serviceNodes.get(footprint.serviceId);
      holders?.delete(info);
      if (holders?.size === 0) this.serviceNodes.delete(footprint.serviceId);
    }
    if (!info.node && info.taskCount === 0) this.nodes.delete(nodeId);
  }

  nodeInfo(nodeId: string): NodeInfo | undefined {
    return this.nodes.get(nodeId);
  }

  /**
   * Places `pending` tasks and records the placements in this view (so the next batch sees them).
   * Tasks with a node already set (global services) are checked against that node only. Tasks not
   * desired to run are skipped. If writing an assignment to the store fails, call revertPlacement.
   */
  schedule(pending: readonly Task__Output[]): ScheduleResult {
    const result: ScheduleResult = { assignments: new Map(), unschedulable: new Map() };
    const pinned: Task__Output[] = [];
    const groups = new Map<string, { requirements: TaskRequirements; tasks: Task__Output[] }>();
    for (const task of pending) {
      if (taskStateRank(task.desiredState) > taskStateRank(TaskState.Running)) continue;
      if (task.nodeId) {
        pinned.push(task);
        continue;
      }
      const requirements = taskRequirements(task);
      let group = groups.get(requirements.groupKey);
      if (!group) {
        group = { requirements, tasks: [] };
        groups.set(requirements.groupKey, group);
      }
      group.tasks.push(task);
    }
    // Tasks bound to a node first: no other node can run them.
    for (const task of pinned.sort(byTaskId)) this.schedulePinned(task, result);
    const ordered = [...groups].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    for (const [, group] of ordered)
      this.scheduleGroup(group.requirements, group.tasks.sort(bySlotThenId), result);
    return result;
  }

  private scheduleGroup(
    requirements: TaskRequirements,
    tasks: readonly Task__Output[],
    result: ScheduleResult,
  ): void {
    if (requirements.invalid !== undefined) {
      for (const task of tasks) result.unschedulable.set(taskIdOf(task), requirements.invalid);
      return;
    }
    const pipeline = this.pipeline;
    pipeline.setTask(requirements);
    const eligible: NodeInfo[] = [];
    const counted: NodeInfo[] = [];
    for (const info of this.nodes.values()) {
      if (!info.node) continue;
      if (pipeline.process(info)) eligible.push(info);
      if (
        requirements.preferences.length > 0 &&
        nodeMatchesConstraints(info.node, requirements.constraints)
      ) {
        counted.push(info);
      }
    }
    let current: Task__Output | undefined;
    const serviceId = requirements.serviceId;
    const holders = this.serviceNodes.get(serviceId);
    const placer = buildPlacer(
      eligible,
      counted,
      requirements.preferences,
      {
        serviceId,
        serviceTasksOf: (node) => (holders?.has(node) ? node.activeTasksOf(serviceId) : 0),
        fits: (node) => pipeline.check(node),
        assign: (node) => this.addFootprint(node.id, footprintOf(current!, requirements)),
      },
      tasks.length,
    );
    let placed = 0;
    for (const task of tasks) {
      current = task;
      const node = placer.place();
      if (!node) break;
      result.assignments.set(taskIdOf(task), node.id);
      this.unconfirmed.set(taskIdOf(task), task.meta?.version ?? 0);
      placed += 1;
    }
    if (placed === tasks.length) return;
    // Explain from the state after placement: which filter rules out each node now.
    pipeline.resetFailures();
    for (const info of this.nodes.values()) if (info.node) pipeline.process(info);
    const reason = pipeline.noSuitableNode();
    for (const task of tasks.slice(placed)) result.unschedulable.set(taskIdOf(task), reason);
  }

  private schedulePinned(task: Task__Output, result: ScheduleResult): void {
    const requirements = taskRequirements(task);
    const id = taskIdOf(task);
    if (requirements.invalid !== undefined) {
      result.unschedulable.set(id, requirements.invalid);
      return;
    }
    this.pipeline.setTask(requirements);
    const info = this.nodes.get(task.nodeId);
    if (!info?.node) {
      result.unschedulable.set(id, `no suitable node (node ${task.nodeId} is not in the cluster)`);
    } else if (this.pipeline.process(info)) {
      this.addFootprint(info.id, footprintOf(task, requirements));
      result.assignments.set(id, info.id);
      this.unconfirmed.set(id, task.meta?.version ?? 0);
    } else {
      result.unschedulable.set(id, this.pipeline.noSuitableNode());
    }
  }

  private addFootprint(nodeId: string, footprint: TaskFootprint): void {
    let info = this.nodes.get(nodeId);
    if (!info) {
      info = new NodeInfo(nodeId);
      this.nodes.set(nodeId, info);
    }
    info.addTask(footprint);
    this.taskNodes.set(footprint.taskId, nodeId);
    if (footprint.active) {
      let holders = this.serviceNodes.get(footprint.serviceId);
      if (!holders) {
        holders = new Set();
        this.serviceNodes.set(footprint.serviceId, holders);
      }
      holders.add(info);
    }
  }
}

/**
 * One-shot batch scheduling: builds a view from `nodes` and `tasksInCluster` (every task, in any
 * state; only those assigned and not terminal weigh on their node) and places `pendingTasks`.
 */
export function scheduleTasks(
  nodes: readonly Node__Output[],
  tasksInCluster: readonly Task__Output[],
  pendingTasks: readonly Task__Output[],
  options: SchedulerOptions = {},
): ScheduleResult {
  const scheduler = new Scheduler(options);
  for (const node of nodes) scheduler.setNode(node);
  for (const task of tasksInCluster) scheduler.setTask(task);
  return scheduler.schedule(pendingTasks);
}

function footprintOf(task: Task__Output, requirements: TaskRequirements): TaskFootprint {
  return {
    taskId: taskIdOf(task),
    serviceId: task.serviceId,
    nanoCpus: requirements.nanoCpus,
    memoryBytes: requirements.memoryBytes,
    hostPorts: requirements.hostPorts,
    active: true,
  };
}

function taskIdOf(task: Task__Output): string {
  return task.meta?.id ?? '';
}

function byTaskId(a: Task__Output, b: Task__Output): number {
  const x = taskIdOf(a);
  const y = taskIdOf(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

function bySlotThenId(a: Task__Output, b: Task__Output): number {
  return a.slot - b.slot || byTaskId(a, b);
}
