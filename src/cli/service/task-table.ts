// The task table of `orch service ps` and `orch node ps`, shaped like docker's: one row per task,
// the current task of each slot first and its history under it as ` \_ web.1`, states as
// "Running 5 seconds ago", the scheduler's reason for a pending task in ERROR.
import type { PortConfig__Output } from '../../api/gen/types/orch/objects/PortConfig';
import type { Task__Output } from '../../api/gen/types/orch/objects/Task';
import { formatTaskState, taskName, taskStateRank } from '../../manager/orchestrator';
import type { ControlApiClient } from '../control-client';
import { parseChoice } from '../flags';
import { ago, formatTable, shortId } from '../output';

export const TASK_TABLE_HEADERS = [
  'ID',
  'NAME',
  'IMAGE',
  'NODE',
  'DESIRED STATE',
  'CURRENT STATE',
  'ERROR',
  'PORTS',
] as const;

/** Docker truncates task errors to this many characters unless --no-trunc. */
const MAX_ERROR_LENGTH = 30;

export interface TaskTableOptions {
  noTrunc: boolean;
  nowMs: number;
  /** Hostname by node ID. */
  nodeNames: ReadonlyMap<string, string>;
  /** Service name by service ID. */
  serviceNames: ReadonlyMap<string, string>;
}

/** Tasks in docker's order: by service name, then slot (global: node), newest first within a slot. */
export function sortTasksForTable(
  tasks: readonly Task__Output[],
  serviceNames: ReadonlyMap<string, string>,
): Task__Output[] {
  const key = (t: Task__Output) => serviceNames.get(t.serviceId) ?? t.serviceId;
  return [...tasks].sort((a, b) => {
    const ka = key(a);
    const kb = key(b);
    if (ka !== kb) return ka < kb ? -1 : 1;
    if (a.serviceId !== b.serviceId) return a.serviceId < b.serviceId ? -1 : 1;
    if (a.slot !== b.slot) return a.slot - b.slot;
    // A global task's slot is its node; a replicated slot's tasks may have run on several nodes.
    if (a.slot === 0 && a.nodeId !== b.nodeId) return a.nodeId < b.nodeId ? -1 : 1;
    // The slot's current task (still desired to run) heads it, whatever the creation times say.
    if (isWanted(a) !== isWanted(b)) return isWanted(a) ? -1 : 1;
    return (b.meta?.createdAtMs ?? 0) - (a.meta?.createdAtMs ?? 0);
  });
}

/** Desired to run (or, for a job, to complete): the slot's current task rather than its history. */
function isWanted(task: Task__Output): boolean {
  return taskStateRank(task.desiredState) < taskStateRank('TASK_STATE_SHUTDOWN');
}

export function taskRows(tasks: readonly Task__Output[], options: TaskTableOptions): string[][] {
  const rows: string[][] = [];
  let previousGroup = '';
  for (const task of sortTasksForTable(tasks, options.serviceNames)) {
    const serviceName = options.serviceNames.get(task.serviceId) ?? task.serviceId;
    const name = taskName(serviceName, task);
    const group = `${task.serviceId}/${task.slot > 0 ? task.slot : task.nodeId}`;
    const isHistory = group === previousGroup;
    previousGroup = group;
    const id = task.meta?.id ?? '';
    const err = task.status?.err ?? '';
    rows.push([
      options.noTrunc ? id : shortId(id),
      isHistory ? ` \\_ ${name}` : name,
      task.spec?.container?.image ?? '',
      task.nodeId ? (options.nodeNames.get(task.nodeId) ?? task.nodeId) : '',
      capitalize(formatTaskState(task.desiredState)),
      currentState(task, options.nowMs),
      err
        ? `"${options.noTrunc || err.length <= MAX_ERROR_LENGTH ? err : `${err.slice(0, MAX_ERROR_LENGTH - 1)}…`}"`
        : '',
      formatPorts(hostModePorts(task)),
    ]);
  }
  return rows;
}

export function formatTaskTable(tasks: readonly Task__Output[], options: TaskTableOptions): string {
  return formatTable(TASK_TABLE_HEADERS, taskRows(tasks, options));
}

/** "Running 5 seconds ago", from the task's observed state and when it was reported. */
export function currentState(task: Task__Output, nowMs: number): string {
  const state = capitalize(formatTaskState(task.status?.state ?? 'TASK_STATE_NEW'));
  const at = task.status?.timestampMs || task.meta?.updatedAtMs || 0;
  return at > 0 ? `${state} ${ago(at, nowMs)}` : state;
}

/**
 * The ports a task publishes on its own node, as docker's PORTS column shows them: the bound host
 * ports of its host-mode ports. Ingress ports are bound too (a dynamic port the mesh forwards to),
 * but they are the service's, shown by `service ls`.
 */
export function hostModePorts(task: Task__Output): PortConfig__Output[] {
  const hostMode = new Set(
    (task.endpoint?.ports ?? [])
      .filter((p) => p.publishMode === 'PUBLISH_MODE_HOST')
      .map((p) => `${p.protocol}/${p.targetPort}`),
  );
  return (task.status?.ports ?? []).filter((p) => hostMode.has(`${p.protocol}/${p.targetPort}`));
}

/** `*:8080->80/tcp` (ingress) or `10.0.0.5:8080->80/tcp`-style lists, comma separated. */
export function formatPorts(ports: readonly PortConfig__Output[]): string {
  return ports
    .filter((p) => p.publishedPort > 0)
    .map((p) => `*:${p.publishedPort}->${p.targetPort}/${p.protocol === 'PORT_PROTOCOL_UDP' ? 'udp' : 'tcp'}`)
    .join(', ');
}

export function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** `-f desired-state=running|shutdown|accepted` as docker takes it. */
export function desiredStateFilter(
  value: string,
): 'TASK_STATE_RUNNING' | 'TASK_STATE_SHUTDOWN' | 'TASK_STATE_ACCEPTED' {
  const state = parseChoice(value, '--filter desired-state', ['running', 'shutdown', 'accepted'] as const);
  return `TASK_STATE_${state.toUpperCase()}` as 'TASK_STATE_RUNNING';
}

/** Node hostnames and service names by ID, for task tables. */
export async function taskTableNames(
  client: ControlApiClient,
): Promise<{ nodeNames: Map<string, string>; services: Map<string, string> }> {
  const [nodes, { services }] = await Promise.all([client.listNodes(), client.listServices()]);
  return {
    nodeNames: new Map(nodes.map((n) => [n.meta?.id ?? '', n.description?.hostname || (n.meta?.id ?? '')])),
    services: new Map(services.map((s) => [s.meta?.id ?? '', s.spec?.name ?? ''])),
  };
}
