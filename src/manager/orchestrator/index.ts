// Entry of the orchestrator's decision logic: task lifecycle rules, replicated and global reconcile,
// restarts, task history and node failures. Everything here is pure or in-memory; the leader's
// loops read the store, call these and write the plans back.

export {
  canTransition,
  checkDesiredTransition,
  checkObservedTransition,
  DESIRED_STATES,
  formatTaskState,
  isBeforeRunning,
  isStateBefore,
  isTerminal,
  observedStateWriter,
  type StateWriter,
  TaskState,
  TaskStateError,
  type TaskStateValue,
  taskStateRank,
} from '../../common/task-state';
export { globalNodeFilter } from './global-eligibility';
export { reconcileGlobal } from './global-reconcile';
export { type JobOptions, reconcileGlobalJob, reconcileReplicatedJob } from './job-reconcile';
export {
  DEFAULT_ORPHAN_AFTER_MS,
  mustLeaveNode,
  type NodeCondition,
  type NodeFailureOptions,
  type NodeFailurePlan,
  nodeCondition,
  planNodeFailures,
} from './node-failure';
export { type ReconcileContext, randomTaskId } from './reconcile-context';
export { emptyPlan, isEmptyPlan, type ReconcilePlan } from './reconcile-plan';
export { planServiceRemoval, reconcileService } from './reconcile-service';
export { reconcileReplicated } from './replicated-reconcile';
export {
  type Clock,
  type RestartDecision,
  type RestartRecord,
  RestartSupervisor,
  slotKeyOf,
  systemClock,
} from './restart-supervisor';
export {
  isLive,
  type NewTaskOptions,
  newTask,
  observedState,
  orphanTask,
  shutDownTask,
} from './task-factory';
export { DEFAULT_TASK_HISTORY_RETENTION, type HistoryOptions, planHistoryCleanup } from './task-history';
export { type NamedTask, taskContainerName, taskName } from './task-naming';
