// What a reconcile needs besides the service, its tasks and the nodes: a clock, a source of task
// IDs and the restart supervisor (queried, never written: the plan lists restarts to record).

import { generateId } from '../../store/identity';
import type { RestartSupervisor } from './restart-supervisor';

export interface ReconcileContext {
  /** Restart decisions; its clock is the reconcile's only source of time. */
  readonly restarts: RestartSupervisor;
  /** Unique task IDs; injected so tests and simulations are deterministic. */
  readonly newTaskId: () => string;
  /** Terminal tasks kept per slot (the cluster's task_history_retention_limit). Default 5. */
  readonly historyRetention?: number;
}

/**
 * A random 25-character lower-case ID, like Swarm's object IDs: the store's generator, which draws
 * pooled random bytes (one randomBytes call per ID took a quarter of a 5 s orchestrator pass
 * creating 25,000 tasks in the scale benchmark).
 */
export function randomTaskId(): string {
  return generateId();
}
