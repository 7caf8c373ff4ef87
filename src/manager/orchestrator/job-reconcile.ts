// Jobs: services whose tasks run to completion instead of being kept running (Swarm's
// `--mode replicated-job` and `--mode global-job`). A job runs in iterations: re-running it (a
// forced update) starts a new iteration, whose tasks carry its number in Task.job_iteration; tasks
// of older iterations still running are shut down.
//  - replicated job: `total_completions` tasks must complete, at most `max_concurrent` running at
//    once (0 means: all at once); each completion fills a slot 1..total for good;
//  - global job: one task per node that may run it, once per iteration; nodes that join later run it
//    too.
// A completed task is never restarted, whatever the restart condition; a failed one follows the
// restart policy like any task, and a slot the policy gives up on stays failed. Job tasks are
// desired running like others (the scheduler and agents need nothing special); their observed
// `complete` is what ends them.

import type { Node__Output } from '../../api/gen/types/orch/objects/Node';
import type { Service__Output } from '../../api/gen/types/orch/objects/Service';
import type { Task__Output } from '../../api/gen/types/orch/objects/Task';
import { isTerminal, TaskState } from '../../common/task-state';
import { byNodeId, globalNodeFilter } from './global-eligibility';
import { leaveReason, mustLeaveNode, nodeCondition } from './node-failure';
import type { ReconcileContext } from './reconcile-context';
import { emptyPlan, type ReconcilePlan, wakeAt } from './reconcile-plan';
import { slotKeyOf } from './restart-supervisor';
import { isLive, newTask, observedState, shutDownTask, tasksOf } from './task-factory';
import { planHistoryCleanup } from './task-history';

export interface JobOptions {
  /** The iteration to run; defaults to the highest found among the service's tasks (0 if none). */
  readonly jobIteration?: number;
}

/** What became of one slot (replicated) or node (global) in the current iteration. */
type Outcome = 'active' | 'completed' | 'waiting' | 'given-up' | 'replace';

export function reconcileReplicatedJob(
  service: Service__Output,
  tasks: readonly Task__Output[],
  nodes: readonly Node__Output[],
  context: ReconcileContext,
  options: JobOptions = {},
): ReconcilePlan {
  const job = service.spec?.replicatedJob;
  if (service.spec?.mode !== 'replicatedJob' || !job) return emptyPlan();
  const total = job.totalCompletions || job.maxConcurrent || 1;
  const maxConcurrent = job.maxConcurrent || total;
  const run = new JobRun(service, tasks, nodes, context, options);

  const outcomes = run.judgeCurrentTasks(() => true);
  let active = 0;
  const taken = new Set<string>();
  for (const [slot, outcome] of outcomes) {
    if (outcome === 'replace') continue;
    taken.add(slot);
    if (outcome === 'active') active += 1;
  }
  for (let slot = 1; slot <= total && active < maxConcurrent; slot++) {
    if (taken.has(String(slot))) continue;
    run.create({ slot });
    active += 1;
  }
  return run.finish(() => false);
}

export function reconcileGlobalJob(
  service: Service__Output,
  tasks: readonly Task__Output[],
  nodes: readonly Node__Output[],
  context: ReconcileContext,
  options: JobOptions = {},
): ReconcilePlan {
  if (service.spec?.mode !== 'globalJob') return emptyPlan();
  const run = new JobRun(service, tasks, nodes, context, options);
  const runsOn = globalNodeFilter(service);

  const outcomes = run.judgeCurrentTasks((task) => runsOn(run.node(task.nodeId)));
  for (const node of [...nodes].sort(byNodeId)) {
    const nodeId = node.meta?.id ?? '';
    const outcome = outcomes.get(nodeId);
    if (!runsOn(node) || (outcome !== undefined && outcome !== 'replace')) continue;
    run.create({ slot: 0, nodeId });
  }
  return run.finish((nodeId) => run.node(nodeId) === undefined);
}

/** The shared bookkeeping of one job reconcile. */
class JobRun {
  readonly plan = emptyPlan();
  readonly iteration: number;
  private readonly nowMs: number;
  private readonly nodesById: Map<string, Node__Output>;
  private readonly updated = new Map<string, Task__Output>();
  private readonly tasks: readonly Task__Output[];

  constructor(
    private readonly service: Service__Output,
    serviceTasks: readonly Task__Output[],
    nodes: readonly Node__Output[],
    private readonly context: ReconcileContext,
    options: JobOptions,
  ) {
    this.tasks = tasksOf(service, serviceTasks);
    this.nowMs = context.restarts.clock.now();
    this.nodesById = new Map(nodes.map((node) => [node.meta?.id ?? '', node]));
    this.iteration =
      options.jobIteration ?? this.tasks.reduce((max, task) => Math.max(max, task.jobIteration), 0);
  }

  node(nodeId: string): Node__Output | undefined {
    return this.nodesById.get(nodeId);
  }

  /**
   * Shuts down live tasks of older iterations and judges those of the current one, per slot key.
   * `allowed(task)` says whether the task may stay where it is (global jobs: its node still qualifies).
   */
  judgeCurrentTasks(allowed: (task: Task__Output) => boolean): Map<string, Outcome> {
    const outcomes = new Map<string, Outcome>();
    const ordered = [...this.tasks].sort(
      (a, b) =>
        (a.meta?.createdAtMs ?? 0) - (b.meta?.createdAtMs ?? 0) ||
        ((a.meta?.id ?? '') < (b.meta?.id ?? '') ? -1 : 1),
    );
    for (const task of ordered) {
      if (!isLive(task)) continue;
      const state = observedState(task);
      if (task.jobIteration !== this.iteration) {
        if (!isTerminal(state)) this.shutDown(task, 'job iteration superseded');
        continue;
      }
      const key = slotKeyOf(task);
      const outcome = this.judge(task, allowed(task));
      // Several live tasks of one slot: the one still going wins over a replaced one.
      if (outcomes.get(key) === undefined || outcomes.get(key) === 'replace') outcomes.set(key, outcome);
    }
    return outcomes;
  }

  private judge(task: Task__Output, allowed: boolean): Outcome {
    const state = observedState(task);
    if (state === TaskState.Complete) return 'completed';
    if (isTerminal(state)) {
      const decision = this.context.restarts.decide(this.service, task);
      if (!decision.restart) return 'given-up';
      if (decision.atMs > this.nowMs) {
        wakeAt(this.plan, decision.atMs);
        return 'waiting';
      }
      this.shutDown(task, 'restarting');
      this.plan.restarts.push(this.context.restarts.restartRecord(this.service, slotKeyOf(task), this.nowMs));
      return 'replace';
    }
    const condition = task.nodeId ? nodeCondition(this.nodesById.get(task.nodeId)) : 'available';
    if (mustLeaveNode(condition) || !allowed) {
      this.shutDown(
        task,
        mustLeaveNode(condition) ? leaveReason(condition) : 'node no longer satisfies the constraints',
      );
      return 'replace';
    }
    return 'active';
  }

  create(where: { slot: number; nodeId?: string }): void {
    this.plan.create.push(
      newTask(this.service, {
        id: this.context.newTaskId(),
        nowMs: this.nowMs,
        slot: where.slot,
        ...(where.nodeId === undefined ? {} : { nodeId: where.nodeId }),
        jobIteration: this.iteration,
      }),
    );
  }

  finish(isSlotRemoved: (slotKey: string) => boolean): ReconcilePlan {
    const after = this.tasks.map((task) => this.updated.get(task.meta?.id ?? '') ?? task);
    this.plan.delete.push(
      ...planHistoryCleanup(after, { retention: this.context.historyRetention, isSlotRemoved }),
    );
    return this.plan;
  }

  private shutDown(task: Task__Output, message: string): void {
    const next = shutDownTask(task, this.nowMs, message);
    this.updated.set(task.meta?.id ?? '', next);
    this.plan.update.push(next);
  }
}
