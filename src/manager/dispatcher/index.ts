// Entry of the dispatcher: the leader's side of every worker session (see docs/dispatcher.md).
export {
  DEFAULT_HEARTBEAT_PERIOD_MS,
  Dispatcher,
  type DispatcherOptions,
  type DispatcherStats,
} from './dispatcher';
export {
  DispatcherError,
  DispatcherNotLeaderError,
  DispatcherStoppedError,
  dispatcherErrorOf,
  grpcStatusOf,
  HeartbeatExpiredError,
  NodeUnauthenticatedError,
  SessionInvalidError,
} from './dispatcher-errors';
export {
  type Assignment,
  type AssignmentsMessage__Output,
  DISPATCHER_SERVICE,
  type DispatcherClient,
  type DispatcherHandlers,
  dispatcherProtos,
  dispatcherServiceDefinition,
  LEADER_ADDR_METADATA_KEY,
  type LogSubscription__Output,
  type ManagerPeer,
  type ManagerPeer__Output,
  newDispatcherClient,
  type SessionMessage__Output,
} from './dispatcher-grpc';
export {
  ENDPOINTS_MESSAGE_BUDGET,
  EndpointStreams,
  type EndpointsCall,
  endpointsMessages,
} from './endpoint-streams';
export { DEFAULT_HEARTBEAT_GRACE_PERIODS, HeartbeatMonitor } from './heartbeat-monitor';
export {
  insecureNodeClientOptions,
  metadataIdentity,
  TEST_NODE_ID_METADATA_KEY,
  TEST_NODE_ROLE_METADATA_KEY,
} from './insecure-identity';
export {
  LogBroker,
  type LogRequestOptions,
  type LogSelector,
  type LogSource,
  type TaskLogMessage,
} from './log-broker';
export { isAssignedTo, MESSAGE_BUDGET, NodeAssignments, splitAssignments } from './node-assignments';
export { hostOfPeer, managersFromStore, markNodeDown, registerNode } from './node-registry';
export {
  DEFAULT_STATUS_BATCH_DELAY_MS,
  TaskStatusBatcher,
  type TaskStatusReport,
} from './task-status-batcher';
