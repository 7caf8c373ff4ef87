// Entry of the agent: the worker side of orch (see docs/dispatcher.md). The executors live in
// ./executor and have their own entry.
export { AGENT_CHANNEL_OPTIONS, Agent, type AgentOptions, type AgentStatus } from './agent';
export {
  AgentSession,
  type AgentSessionHandlers,
  type AgentSessionOptions,
  SessionClosedError,
} from './agent-session';
export { Backoff, type BackoffOptions, sleep } from './backoff';
export { type HollowNode, type HollowNodes, type HollowNodesOptions, startHollowNodes } from './hollow-nodes';
export { LogPublisher } from './log-publisher';
export { ManagerList } from './manager-list';
export {
  DEFAULT_REPORT_DELAY_MS,
  StatusReporter,
  type StatusSender,
  type TaskStatusReport,
} from './status-reporter';
export { TaskManager, type TaskManagerOptions } from './task-manager';
export { TaskRunner, type TaskRunnerOptions } from './task-runner';
