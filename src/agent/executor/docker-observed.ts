// Reads a container's inspect data as task facts: which lifecycle state it corresponds to, how it
// ended, and which host ports the engine bound for it. Pure, so it is tested without Docker.
import type Docker from 'dockerode';
import type { TaskState } from '../../common/task-state';
import { LABEL_NODE_ID, LABEL_SERVICE_ID, LABEL_TASK_ID } from './docker-labels';
import { TaskExitError } from './errors';
import type { ObservedTask } from './executor';
import type { BoundPort } from './task-spec';

/** Docker reports unset times as Go's zero time. */
export function parseEngineTime(value: string | undefined): Date | undefined {
  if (!value || value.startsWith('0001-')) return undefined;
  const time = new Date(value);
  return Number.isNaN(time.getTime()) ? undefined : time;
}

/** The host ports the engine bound, from NetworkSettings.Ports (`{"80/tcp": [{HostIp, HostPort}]}`). */
export function boundPorts(ports: Docker.PortMap | undefined | null): BoundPort[] {
  const bound: BoundPort[] = [];
  const seen = new Set<string>();
  for (const [key, bindings] of Object.entries(ports ?? {})) {
    const [target, protocol] = key.split('/');
    for (const binding of (bindings as Array<{ HostIp: string; HostPort: string }> | null) ?? []) {
      const hostPort = Number(binding.HostPort);
      // An empty HostIp binds 0.0.0.0 and :: to the same port: one port for the task.
      const key = `${target}/${protocol}/${hostPort}`;
      if (!hostPort || seen.has(key)) continue;
      seen.add(key);
      bound.push({
        targetPort: Number(target),
        protocol: protocol === 'udp' ? 'udp' : 'tcp',
        hostIp: binding.HostIp,
        hostPort,
      });
    }
  }
  return bound;
}

function lifecycleState(state: Docker.ContainerInspectInfo['State']): TaskState {
  switch (state.Status) {
    case 'created':
      return 'TASK_STATE_STARTING';
    case 'running':
    case 'paused':
    case 'restarting':
      return 'TASK_STATE_RUNNING';
    case 'removing':
      return 'TASK_STATE_SHUTDOWN';
    case 'exited':
      return state.ExitCode === 0 && !state.OOMKilled ? 'TASK_STATE_COMPLETE' : 'TASK_STATE_FAILED';
    default: // dead
      return 'TASK_STATE_FAILED';
  }
}

function failure(state: Docker.ContainerInspectInfo['State']): string {
  if (state.Error) return state.Error;
  if (state.Status === 'exited' && (state.ExitCode !== 0 || state.OOMKilled)) {
    return new TaskExitError(state.ExitCode, state.OOMKilled).message;
  }
  if (state.Status === 'dead') return 'container is dead';
  return '';
}

export function observedFromInspect(info: Docker.ContainerInspectInfo): ObservedTask {
  const labels = info.Config.Labels ?? {};
  return {
    taskId: labels[LABEL_TASK_ID] ?? '',
    serviceId: labels[LABEL_SERVICE_ID] ?? '',
    nodeId: labels[LABEL_NODE_ID] ?? '',
    containerId: info.Id,
    state: lifecycleState(info.State),
    engineState: info.State.Status,
    exitCode: info.State.ExitCode,
    oomKilled: info.State.OOMKilled,
    err: failure(info.State),
    health: info.State.Health?.Status ?? '',
    ports: boundPorts(info.NetworkSettings?.Ports),
    startedAt: parseEngineTime(info.State.StartedAt),
    finishedAt: parseEngineTime(info.State.FinishedAt),
  };
}
