// Entry of the leader-only loops: startLeaderLoops starts them all over the replicated store; the
// loop classes and the clock are exported for tests and for callers that run one loop alone.

export {
  type LeaderLoops,
  type LeaderLoopsOptions,
  type StartLeaderLoopsParams,
  startLeaderLoops,
} from './leader-loops';
export { type LoopClock, type LoopTimer, systemLoopClock } from './loop-clock';
export { DEFAULT_CLUSTER_NAME, historyRetentionOf, nodeChangeMatters } from './loop-events';
export { registerLeaderLoopMetrics } from './loop-metrics';
export { NodeFailureLoop, type NodeFailureLoopOptions } from './node-failure-loop';
export { OrchestratorLoop, type OrchestratorLoopOptions } from './orchestrator-loop';
export { ChunkBudget, type ChunkLimits, DEFAULT_CHUNK_LIMITS, yieldToEventLoop } from './pass-budget';
export { SchedulerLoop, type SchedulerLoopOptions } from './scheduler-loop';
export {
  DEFAULT_DEBOUNCE_MS,
  DEFAULT_RETRY_DELAY_MS,
  type LoopOptions,
  type LoopStats,
  LoopStoppedError,
  type ManagedLoop,
  StoreLoop,
} from './store-loop';
export { TaskReaper } from './task-reaper';
export { CHANGES_PER_UNIT, type TaskChanges, writeTaskChanges } from './task-writes';
