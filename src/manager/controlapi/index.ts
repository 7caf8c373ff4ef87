// The Control API (what `orch node …` and `orch service …` call): gRPC handlers over the manager's
// store, the interfaces the daemon implements for them (ClusterOps, LeaderForwarder, LogSource),
// the LogSource that reads task logs through the leader on a follower,
// the worker's refusing variant, the status mapping and a Unix-socket server.
export {
  type ClusterOps,
  CONTROL_WRITE_METHODS,
  type ControlWriteMethod,
  FORWARDED_METADATA_KEY,
  type ForwardOptions,
  type LeaderForwarder,
  type LogSelection,
  type LogSource,
  type OpOptions,
} from './cluster-ops';
export {
  AmbiguousReferenceError,
  ControlError,
  FailedPreconditionError,
  InvalidRequestError,
  NoLeaderError,
  NoSuchObjectError,
  NotManagerError,
  type ObjectKind,
  QuorumLostError,
} from './control-errors';
export {
  type ControlServiceOptions,
  controlServiceDefinition,
  createControlHandlers,
} from './control-service';
export { type ControlSocketServer, serveControlSocket } from './control-socket';
export {
  controlServiceError,
  controlStatusFromError,
  ERROR_NAME_METADATA_KEY,
  LEADER_METADATA_KEY,
} from './control-status';
export { dispatcherLogSource } from './dispatcher-log-source';
export { forwardedLogsRequest, type LeaderLogSourceOptions, leaderLogSource } from './leader-log-source';
export { resolveNode, resolveService, resolveTask } from './resolve-reference';
export { DEFAULT_STOP_GRACE_PERIOD_MS, defaultUpdateConfig, withServiceDefaults } from './service-defaults';
export { serviceStatus } from './service-operations';
export { taskOrder } from './task-operations';
export { createWorkerControlHandlers } from './worker-control';
