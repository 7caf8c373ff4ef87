// Labels on every container orch creates, so several nodes can share one engine
// and an agent can find (and adopt or remove) the containers that are its own.
export const LABEL_NODE_ID = 'orch.node.id';
export const LABEL_SERVICE_ID = 'orch.service.id';
export const LABEL_TASK_ID = 'orch.task.id';

export interface TaskLabels {
  nodeId: string;
  serviceId: string;
  taskId: string;
}

export function taskLabels(ids: TaskLabels): Record<string, string> {
  return { [LABEL_NODE_ID]: ids.nodeId, [LABEL_SERVICE_ID]: ids.serviceId, [LABEL_TASK_ID]: ids.taskId };
}
