// What a reconcile needs besides the service, its tasks and the nodes: a clock, a source of task
// IDs and the restart supervisor (queried, never written: the plan lists restarts to record).

import { randomBytes } from 'node:crypto';
import type { RestartSupervisor } from './restart-supervisor';

export interface ReconcileContext {
  /** Restart decisions; its clock is the reconcile's only source of time. */
  readonly restarts: RestartSupervisor;
  /** Unique task IDs; injected so tests and simulations are deterministic. */
  readonly newTaskId: () => string;
  /** Terminal tasks kept per slot (the cluster's task_history_retention_limit). Default 5. */
  readonly historyRetention?: number;
}

/** A random 25-character lower-case ID, like Swarm's object IDs. */
export function randomTaskId(): string {
  const alphabet = '0123456789abcdefghijklmnopqrstuvwxyz';
  return [...randomBytes(25)].map((byte) => alphabet[byte % 36]).join('');
}
