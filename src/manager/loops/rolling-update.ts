// Rolling updates, as Swarm does them: when a service's spec changes in a way its tasks must follow
// (container, resources, restart policy, networks, published ports, the force-update counter that
// `service update --force` raises; a placement change only for
// tasks whose node no longer meets the constraints), its live tasks are replaced slot by slot,
// `parallelism` at a time (0: all at once), `delay` after each batch is running, stop-first (the old
// task is shut down as its replacement is created) or start-first (the old task is shut down once
// its replacement runs). A replacement that fails counts against `max_failure_ratio`; past it the
// failure action applies: pause (the update stops until the spec changes again), continue, or
// rollback (the previous spec comes back and rolls out with the rollback config). Progress is
// recorded in service.update_status for `orch service inspect` and the CLI's progress display.
// Pure: the orchestrator loop calls planRollingUpdate when the reconcile had nothing else to do.

import type { Node__Output } from '../../api/gen/types/orch/objects/Node';
import type { Service__Output } from '../../api/gen/types/orch/objects/Service';
import type { ServiceSpec__Output } from '../../api/gen/types/orch/objects/ServiceSpec';
import type { Task__Output } from '../../api/gen/types/orch/objects/Task';
import type { UpdateConfig__Output } from '../../api/gen/types/orch/objects/UpdateConfig';
import type { UpdateStatus__Output } from '../../api/gen/types/orch/objects/UpdateStatus';
import { isTerminal, TaskState, taskStateRank } from '../../common/task-state';
import { emptyPlan, type ReconcilePlan } from '../orchestrator/reconcile-plan';
import { slotKeyOf } from '../orchestrator/restart-supervisor';
import { isLive, newTask, observedState, shutDownTask } from '../orchestrator/task-factory';
import { nodeMatchesConstraints } from '../scheduler/scheduler-filters';
import { parseConstraints } from '../spec/spec-constraint';

export interface RollingUpdatePlan extends ReconcilePlan {
  /** A new version of the service (its update status, or its spec rolled back), or undefined. */
  service?: Service__Output;
  /** The batch the caller had outstanding is all running (or gone): the delay counts from now. */
  batchDone?: boolean;
}

export interface RollingUpdateContext {
  readonly nowMs: number;
  readonly newTaskId: () => string;
  /** A batch of replacements was started and not yet seen running (in memory, per service). */
  readonly batchOutstanding?: boolean;
  /** When the previous batch was seen all running (in memory, per service). */
  readonly batchDoneAtMs?: number;
}

type UpdateStateName = UpdateStatus__Output['state'];

/** Swarm's defaults when a service has no update config: one task at a time, stop-first, pause. */
const DEFAULT_UPDATE_CONFIG: UpdateConfig__Output = {
  parallelism: 1,
  delayMs: 0,
  failureAction: 'UPDATE_FAILURE_ACTION_PAUSE',
  monitorMs: 0,
  maxFailureRatio: 0,
  order: 'UPDATE_ORDER_STOP_FIRST',
};

/** Whether a live task runs an outdated version of the service (it must be replaced). */
export function isTaskOutdated(
  task: Task__Output,
  service: Service__Output,
  node: Node__Output | undefined,
): boolean {
  const current = service.spec;
  const spec = task.spec;
  if (spec === current || !current || !spec) return false;
  if (taskSpecKey(spec) !== taskSpecKey(current)) return true;
  if (placementKey(spec) === placementKey(current) || !node) return false;
  // Only the placement changed: a task stays where the new constraints still hold.
  try {
    return !nodeMatchesConstraints(node, parseConstraints(current.placement?.constraints ?? []));
  } catch {
    return false; // the scheduler reports constraints it cannot parse
  }
}

/** The parts of a spec a task runs with (not the name, labels, mode or update settings). */
function taskSpecKey(spec: ServiceSpec__Output): string {
  return JSON.stringify([
    spec.container,
    spec.resources,
    spec.restartPolicy,
    spec.networks,
    spec.endpoint,
    spec.forceUpdate,
  ]);
}

function placementKey(spec: ServiceSpec__Output): string {
  return JSON.stringify(spec.placement);
}

export function isUpdating(service: Service__Output): boolean {
  const state = service.updateStatus?.state;
  return state === 'UPDATE_STATE_UPDATING' || state === 'UPDATE_STATE_ROLLBACK_STARTED';
}

export function isUpdatePaused(service: Service__Output): boolean {
  const state = service.updateStatus?.state;
  return state === 'UPDATE_STATE_PAUSED' || state === 'UPDATE_STATE_ROLLBACK_PAUSED';
}

/**
 * The next step of a replicated or global service's rolling update, over its tasks as they are.
 * `paused`: the update was paused for this spec (the caller remembers); nothing is replaced.
 */
export function planRollingUpdate(
  service: Service__Output,
  tasks: readonly Task__Output[],
  nodes: ReadonlyMap<string, Node__Output>,
  context: RollingUpdateContext,
): RollingUpdatePlan {
  const plan: RollingUpdatePlan = emptyPlan();
  const mode = service.spec?.mode;
  if (mode !== 'replicated' && mode !== 'global') return plan;
  const rollingBack = service.updateStatus?.state === 'UPDATE_STATE_ROLLBACK_STARTED';
  const config =
    (rollingBack ? service.spec?.rollbackConfig : service.spec?.updateConfig) ?? DEFAULT_UPDATE_CONFIG;
  const live = tasks.filter(isLive);
  const outdated = live.filter((t) => isTaskOutdated(t, service, nodes.get(t.nodeId)));
  const updating = isUpdating(service);
  const startedAtMs = updating ? (service.updateStatus?.startedAtMs ?? 0) : context.nowMs;

  // Start-first: an outdated task whose slot already has a current replacement running goes now.
  const runningCurrent = new Set(
    live
      .filter((t) => !outdated.includes(t) && observedState(t) === TaskState.Running)
      .map((t) => slotKeyOf(t)),
  );
  const waiting: Task__Output[] = [];
  for (const task of outdated) {
    if (runningCurrent.has(slotKeyOf(task)))
      plan.update.push(shutDownTask(task, context.nowMs, 'replaced by update'));
    else waiting.push(task);
  }
  if (outdated.length === 0) {
    if (updating)
      plan.service = withStatus(
        service,
        rollingBack ? 'UPDATE_STATE_ROLLBACK_COMPLETED' : 'UPDATE_STATE_COMPLETED',
        context.nowMs,
        rollingBack ? 'rollback completed' : 'update completed',
      );
    return plan;
  }
  if (isUpdatePaused(service)) return plan;

  // Replacements made by this update so far, and how many of them failed.
  const replacements = tasks.filter(
    (t) => (t.meta?.createdAtMs ?? 0) >= startedAtMs && !isTaskOutdated(t, service, nodes.get(t.nodeId)),
  );
  const failed = replacements.filter((t) => {
    const state = observedState(t);
    return state === TaskState.Failed || state === TaskState.Rejected;
  });
  if (
    updating &&
    failed.length > 0 &&
    failed.length / Math.max(1, replacements.length) > config.maxFailureRatio
  ) {
    const culprit = failed[0]!.meta?.id ?? '';
    if (config.failureAction === 'UPDATE_FAILURE_ACTION_ROLLBACK' && !rollingBack && service.previousSpec) {
      plan.service = {
        ...withStatus(
          service,
          'UPDATE_STATE_ROLLBACK_STARTED',
          context.nowMs,
          `update rolled back due to failure or early termination of task ${culprit}`,
        ),
        spec: service.previousSpec,
        previousSpec: service.spec,
      };
      return plan;
    }
    if (config.failureAction !== 'UPDATE_FAILURE_ACTION_CONTINUE') {
      plan.service = withStatus(
        service,
        rollingBack ? 'UPDATE_STATE_ROLLBACK_PAUSED' : 'UPDATE_STATE_PAUSED',
        context.nowMs,
        `update paused due to failure or early termination of task ${culprit}`,
      );
      return plan;
    }
  }
  if (!updating)
    plan.service = withStatus(service, 'UPDATE_STATE_UPDATING', context.nowMs, 'update in progress');

  // Replacements still on their way up hold the batch; after a batch, wait `delay`.
  const inFlight = replacements.filter(
    (t) =>
      isLive(t) &&
      !isTerminal(observedState(t)) &&
      taskStateRank(observedState(t)) < taskStateRank(TaskState.Running),
  ).length;
  const parallelism = config.parallelism > 0 ? config.parallelism : waiting.length;
  if (inFlight >= parallelism) return plan;
  let batchDoneAtMs = context.batchDoneAtMs;
  if (inFlight === 0 && context.batchOutstanding) {
    plan.batchDone = true;
    batchDoneAtMs = context.nowMs;
  }
  if (inFlight === 0 && batchDoneAtMs !== undefined && config.delayMs > 0) {
    const dueAtMs = batchDoneAtMs + config.delayMs;
    if (dueAtMs > context.nowMs) {
      plan.wakeAtMs = dueAtMs;
      return plan;
    }
  }
  const startFirst = config.order === 'UPDATE_ORDER_START_FIRST';
  const replacing = new Set(replacements.filter(isLive).map((t) => slotKeyOf(t)));
  const batch = [...waiting]
    .filter((t) => !replacing.has(slotKeyOf(t)))
    .sort((a, b) => a.slot - b.slot || (a.nodeId < b.nodeId ? -1 : a.nodeId > b.nodeId ? 1 : 0))
    .slice(0, parallelism - inFlight);
  for (const old of batch) {
    if (!startFirst) plan.update.push(shutDownTask(old, context.nowMs, 'replaced by update'));
    plan.create.push(
      newTask(service, {
        id: context.newTaskId(),
        nowMs: context.nowMs,
        slot: old.slot,
        nodeId: old.slot > 0 ? undefined : old.nodeId,
      }),
    );
  }
  return plan;
}

function withStatus(
  service: Service__Output,
  state: UpdateStateName,
  nowMs: number,
  message: string,
): Service__Output {
  const done = state === 'UPDATE_STATE_COMPLETED' || state === 'UPDATE_STATE_ROLLBACK_COMPLETED';
  const starting = state === 'UPDATE_STATE_UPDATING' || state === 'UPDATE_STATE_ROLLBACK_STARTED';
  return {
    ...service,
    updateStatus: {
      state,
      startedAtMs: starting ? nowMs : (service.updateStatus?.startedAtMs ?? nowMs),
      completedAtMs: done ? nowMs : 0,
      message,
    },
  };
}
