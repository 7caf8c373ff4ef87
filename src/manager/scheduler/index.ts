// Entry of the scheduler: pure placement decisions over nodes and tasks (see scheduler.ts).

export { FilterPipeline, NO_SUITABLE_NODE } from './filter-pipeline';
export { NodeInfo } from './node-info';
export { type ScheduleResult, Scheduler, type SchedulerOptions, scheduleTasks } from './scheduler';
export { assignTask, isAwaitingScheduling, markUnschedulable } from './scheduler-decisions';
export {
  ConstraintFilter,
  defaultFilters,
  HostPortFilter,
  MaxReplicasFilter,
  nodeAttribute,
  nodeMatchesConstraints,
  ReadyFilter,
  ResourceFilter,
  type SchedulerFilter,
} from './scheduler-filters';
export {
  type TaskFootprint,
  type TaskRequirements,
  taskFootprint,
  taskRequirements,
} from './task-requirements';
