// Control API reads of tasks (`service ps`, `node ps`) and the log stream of services and tasks
// (`service logs`), which it serves from an injected LogSource (the dispatcher's log collection).
import type { ListTasksRequest__Output } from '../../api/gen/types/orch/control/ListTasksRequest';
import type { LogMessage } from '../../api/gen/types/orch/control/LogMessage';
import type { ServiceLogsRequest__Output } from '../../api/gen/types/orch/control/ServiceLogsRequest';
import { TaskState, taskStateRank } from '../../common/task-state';
import type { Task } from '../../store';
import { type CallOptions, type ControlContext, readBarrier } from './control-context';
import { FailedPreconditionError, InvalidRequestError } from './control-errors';
import { resolveNode, resolveService, resolveTask } from './resolve-reference';

export async function listTasks(
  ctx: ControlContext,
  request: ListTasksRequest__Output,
  options: CallOptions,
): Promise<Task[]> {
  await readBarrier(ctx, request.linearizable, options);
  const f = request.filters;
  const serviceRefs = [...(request.serviceId ? [request.serviceId] : []), ...(f?.serviceIds ?? [])];
  const nodeRefs = [...(request.nodeId ? [request.nodeId] : []), ...(f?.nodeIds ?? [])];
  return ctx.store.view((tx) => {
    const serviceIds = new Set(serviceRefs.map((ref) => resolveService(tx, ref).meta!.id));
    const nodeIds = new Set(nodeRefs.map((ref) => resolveNode(tx, ref).meta!.id));
    let tasks: Task[];
    if (serviceIds.size > 0) tasks = [...serviceIds].flatMap((id) => tx.tasks.findByService(id));
    else if (nodeIds.size > 0) tasks = [...nodeIds].flatMap((id) => tx.tasks.findByNode(id));
    else tasks = tx.tasks.list();
    return tasks
      .filter((task) => {
        if (nodeIds.size > 0 && !nodeIds.has(task.nodeId)) return false;
        if (!f) return true;
        const id = task.meta?.id ?? '';
        if (f.ids.length > 0 && !f.ids.some((p) => id.startsWith(p))) return false;
        if (f.desiredStates.length > 0 && !f.desiredStates.includes(task.desiredState)) return false;
        if (f.slots.length > 0 && !f.slots.includes(task.slot)) return false;
        return true;
      })
      .sort(taskOrder);
  });
}

export async function getTask(
  ctx: ControlContext,
  reference: string,
  linearizable: boolean,
  options: CallOptions,
): Promise<Task> {
  await readBarrier(ctx, linearizable, options);
  return ctx.store.view((tx) => resolveTask(tx, reference));
}

/** The log lines of the requested services and tasks, in batches, from the LogSource. */
export async function* serviceLogs(
  ctx: ControlContext,
  request: ServiceLogsRequest__Output,
  options: { signal: AbortSignal },
): AsyncGenerator<readonly LogMessage[]> {
  if (request.serviceIds.length + request.taskIds.length === 0) {
    throw new InvalidRequestError('service_ids', 'name at least one service or task');
  }
  const source = ctx.logSource;
  if (!source) throw new FailedPreconditionError('task logs are not available on this manager');
  const selection = ctx.store.view((tx) => {
    const serviceIds = [...new Set(request.serviceIds.map((ref) => resolveService(tx, ref).meta!.id))];
    const named = request.taskIds.map((ref) => resolveTask(tx, ref));
    const tasks = new Map<string, Task>();
    for (const id of serviceIds) for (const t of tx.tasks.findByService(id)) tasks.set(t.meta!.id, t);
    for (const t of named) tasks.set(t.meta!.id, t);
    return {
      serviceIds,
      taskIds: named.map((t) => t.meta!.id),
      tasks: [...tasks.values()].sort(taskOrder),
      follow: request.follow,
      tail: request.tail,
      sinceMs: request.sinceMs,
    };
  });
  yield* source.logs(selection, { signal: options.signal });
}

/** By service, then slot (global tasks by node), the current task then history newest first: `service ps` order. */
export function taskOrder(a: Task, b: Task): number {
  if (a.serviceId !== b.serviceId) return a.serviceId < b.serviceId ? -1 : 1;
  if (a.slot !== b.slot) return a.slot - b.slot;
  // A global task's slot is its node; a replicated slot's tasks may have run on several nodes.
  if (a.slot === 0 && a.nodeId !== b.nodeId) return a.nodeId < b.nodeId ? -1 : 1;
  // The slot's current task (still desired to run) first, then its history, newest first.
  const wantedA = taskStateRank(a.desiredState) < taskStateRank(TaskState.Shutdown);
  const wantedB = taskStateRank(b.desiredState) < taskStateRank(TaskState.Shutdown);
  if (wantedA !== wantedB) return wantedA ? -1 : 1;
  const ta = a.meta?.createdAtMs ?? 0;
  const tb = b.meta?.createdAtMs ?? 0;
  if (ta !== tb) return tb - ta;
  return (a.meta?.id ?? '') < (b.meta?.id ?? '') ? -1 : 1;
}
