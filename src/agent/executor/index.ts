// Entry of the executor layer: what the agent imports to run tasks on Docker or on hollow nodes.

export { formatTaskState, isTerminal, type TaskState, taskStateRank } from '../../common/task-state';
export { DockerEngine } from './docker';
export { DockerExecutor, type DockerExecutorOptions, DockerTaskController } from './docker-executor';
export {
  LABEL_NODE_ID,
  LABEL_SERVICE_ID,
  LABEL_SERVICE_NAME,
  LABEL_TASK_ID,
  LABEL_TASK_SLOT,
} from './docker-labels';
export {
  ContainerNotFoundError,
  ContainerStartError,
  ExecutorError,
  FinalExecutorError,
  ImageNotFoundError,
  isTemporary,
  TaskExitError,
  TaskNodeMismatchError,
  TemporaryExecutorError,
} from './errors';
export type {
  Executor,
  ExitStatus,
  LogEntry,
  LogOptions,
  NodeDescriptionInfo,
  ObservedTask,
  TaskController,
  Waitable,
} from './executor';
export { HollowExecutor, type HollowExecutorOptions } from './hollow';
export { DEFAULT_HOLLOW_BEHAVIOUR, type HollowBehaviour, HollowEngine } from './hollow-engine';
export { HollowScheduler } from './hollow-scheduler';
export {
  type FileReference,
  MissingTaskFileError,
  SECRETS_DIR,
  type TaskFile,
  tarArchive,
  taskFilesFromProto,
} from './task-files';
export {
  type BoundPort,
  boundPortsToProto,
  containerName,
  DEFAULT_STOP_GRACE_PERIOD_MS,
  defaultTaskRunSpec,
  type ExecutorTask,
  executorTaskFromProto,
  type FromProtoOptions,
  type HealthcheckSpec,
  initialTaskStatus,
  type MountSpec,
  type PortSpec,
  type PullPolicy,
  type ResourceLimits,
  type TaskRunSpec,
  type TaskStatusLike,
} from './task-spec';
export { runTaskStep, type StepOutcome, type TaskStepOptions, type TaskStepResult } from './task-step';
