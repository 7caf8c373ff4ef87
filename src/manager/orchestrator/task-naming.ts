// Task names as Swarm users read them in `service ps` and container names: `<service>.<slot>` for
// replicated services, `<service>.<nodeId>` for global ones (a global task's slot is its node), and
// the container name `<service>.<slot-or-node>.<taskId>` that keeps names unique across restarts.

export interface NamedTask {
  readonly meta: { readonly id: string } | null;
  readonly slot: number;
  readonly nodeId: string;
}

/** `web.3` for a replicated task, `agent.<nodeId>` for a global one (slot 0). */
export function taskName(serviceName: string, task: NamedTask): string {
  return task.slot > 0 ? `${serviceName}.${task.slot}` : `${serviceName}.${task.nodeId}`;
}

/** The container name for a task: its task name followed by the task ID. */
export function taskContainerName(serviceName: string, task: NamedTask): string {
  return `${taskName(serviceName, task)}.${task.meta?.id ?? ''}`;
}
