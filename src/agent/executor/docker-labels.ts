// Labels on every container (and every volume the engine creates for a task) orch makes, so several
// nodes can share one engine and an agent can find, adopt or remove exactly the containers that are
// its own. The executor sets them last: a user label can never impersonate another node's task.
export const LABEL_NODE_ID = 'orch.node.id';
export const LABEL_SERVICE_ID = 'orch.service.id';
export const LABEL_SERVICE_NAME = 'orch.service.name';
export const LABEL_TASK_ID = 'orch.task.id';
export const LABEL_TASK_SLOT = 'orch.task.slot';

export interface TaskLabels {
  nodeId: string;
  serviceId: string;
  taskId: string;
  serviceName?: string;
  slot?: number;
}

export function taskLabels(ids: TaskLabels): Record<string, string> {
  const labels: Record<string, string> = {
    [LABEL_NODE_ID]: ids.nodeId,
    [LABEL_SERVICE_ID]: ids.serviceId,
    [LABEL_TASK_ID]: ids.taskId,
  };
  if (ids.serviceName !== undefined) labels[LABEL_SERVICE_NAME] = ids.serviceName;
  if (ids.slot !== undefined) labels[LABEL_TASK_SLOT] = String(ids.slot);
  return labels;
}

/** Docker's `label=` filter values for `labels`. */
export function labelFilters(labels: Record<string, string>): string[] {
  return Object.entries(labels).map(([key, value]) => `${key}=${value}`);
}
