// Small readings of store objects shared by the loops: whether a node change matters for placement
// and task lifecycles, and the cluster's task history limit.

import type { Node, ReadTx } from '../../store';
import { DEFAULT_TASK_HISTORY_RETENTION } from '../orchestrator/task-history';

/** The one Cluster object's name. */
export const DEFAULT_CLUSTER_NAME = 'default';

/**
 * Whether a node update changes anything the loops act on: its state, availability, role, labels or
 * resources. Heartbeat times and addresses alone do not.
 */
export function nodeChangeMatters(old: Node | undefined, node: Node): boolean {
  if (!old) return true;
  return (
    old.status?.state !== node.status?.state ||
    old.spec?.availability !== node.spec?.availability ||
    old.role !== node.role ||
    !sameRecord(old.spec?.labels, node.spec?.labels) ||
    !sameRecord(old.description?.engineLabels, node.description?.engineLabels) ||
    old.description?.nanoCpus !== node.description?.nanoCpus ||
    old.description?.memoryBytes !== node.description?.memoryBytes ||
    old.description?.hostname !== node.description?.hostname ||
    old.description?.os !== node.description?.os ||
    old.description?.architecture !== node.description?.architecture
  );
}

/**
 * The cluster's task_history_retention_limit. The proto cannot tell an unset limit from 0, so 0 (and
 * no Cluster object) means Swarm's default of 5; a negative limit keeps every task.
 */
export function historyRetentionOf(tx: ReadTx): number {
  const cluster = tx.clusters.getByName(DEFAULT_CLUSTER_NAME) ?? tx.clusters.list()[0];
  const limit = cluster?.spec?.orchestration?.taskHistoryRetentionLimit ?? 0;
  return limit === 0 ? DEFAULT_TASK_HISTORY_RETENTION : limit;
}

function sameRecord(a: Record<string, string> | undefined, b: Record<string, string> | undefined): boolean {
  const x = a ?? {};
  const y = b ?? {};
  const keys = Object.keys(x);
  if (keys.length !== Object.keys(y).length) return false;
  return keys.every((k) => x[k] === y[k]);
}
