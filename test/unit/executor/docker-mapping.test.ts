import type Docker from 'dockerode';
import { engineError } from '../../../src/agent/executor/docker';
import { dockerCreateOptions } from '../../../src/agent/executor/docker-container-spec';
import { boundPorts, observedFromInspect } from '../../../src/agent/executor/docker-observed';
import {
  ContainerNotFoundError,
  FinalExecutorError,
  TemporaryExecutorError,
} from '../../../src/agent/executor/errors';
import {
  defaultTaskRunSpec,
  type ExecutorTask,
  initialTaskStatus,
  type TaskRunSpec,
} from '../../../src/agent/executor/task-spec';

function task(spec: Partial<TaskRunSpec> = {}, fields: Partial<ExecutorTask> = {}): ExecutorTask {
  return {
    id: 'tsk1',
    serviceId: 'svc1',
    serviceName: 'web',
    slot: 2,
    nodeId: 'node1',
    desiredState: 'TASK_STATE_RUNNING',
    status: initialTaskStatus(),
    spec: defaultTaskRunSpec('busybox:local', spec),
    ...fields,
  };
}

describe('docker container create options', () => {
  it('names the container <service>.<slot>.<task>, and <service>.<node>.<task> for a global task', () => {
    expect(dockerCreateOptions(task()).name).toBe('web.2.tsk1');
    expect(dockerCreateOptions(task({}, { slot: 0 })).name).toBe('web.node1.tsk1');
  });

  it('keeps the image entrypoint for args alone, and replaces it with command', () => {
    const argsOnly = dockerCreateOptions(task({ args: ['httpd', '-f'] }));
    expect(argsOnly.Entrypoint).toBeUndefined();
    expect(argsOnly.Cmd).toEqual(['httpd', '-f']);
    const both = dockerCreateOptions(task({ command: ['/bin/sh', '-c'], args: ['echo hi'] }));
    expect(both.Entrypoint).toEqual(['/bin/sh', '-c']);
    expect(both.Cmd).toEqual(['echo hi']);
    const neither = dockerCreateOptions(task());
    expect(neither.Entrypoint).toBeUndefined();
    expect(neither.Cmd).toBeUndefined();
  });

  it("puts orch's labels over the user's, so no label can claim another node's task", () => {
    const options = dockerCreateOptions(task({ labels: { 'orch.node.id': 'other', tier: 'front' } }));
    expect(options.Labels).toEqual({
      tier: 'front',
      'orch.node.id': 'node1',
      'orch.service.id': 'svc1',
      'orch.service.name': 'web',
      'orch.task.id': 'tsk1',
      'orch.task.slot': '2',
    });
  });

  it('maps limits, stop settings, restart policy and health check onto the engine', () => {
    const options = dockerCreateOptions(
      task({
        limits: { nanoCpus: 1.5e9, memoryBytes: 1 << 26, pids: 100 },
        stopSignal: 'SIGQUIT',
        stopGracePeriodMs: 2500,
        healthcheck: { test: ['CMD', 'true'], intervalMs: 500, retries: 2 },
      }),
    );
    expect(options.HostConfig).toMatchObject({
      NanoCpus: 1.5e9,
      Memory: 1 << 26,
      PidsLimit: 100,
      RestartPolicy: { Name: 'no' },
    });
    expect(options.StopSignal).toBe('SIGQUIT');
    expect(options.StopTimeout).toBe(3);
    expect(options.Healthcheck).toMatchObject({ Test: ['CMD', 'true'], Interval: 500_000_000, Retries: 2 });
  });

  it('binds published ports, dynamic ones with an empty host port', () => {
    const options = dockerCreateOptions(
      task({
        ports: [
          { targetPort: 80, hostIp: '127.0.0.3', hostPort: 0 },
          { targetPort: 80, hostPort: 8080 },
          { targetPort: 53, protocol: 'udp', hostPort: 5353 },
        ],
      }),
    );
    expect(options.ExposedPorts).toEqual({ '80/tcp': {}, '53/udp': {} });
    expect(options.HostConfig?.PortBindings).toEqual({
      '80/tcp': [
        { HostIp: '127.0.0.3', HostPort: '' },
        { HostIp: '', HostPort: '8080' },
      ],
      '53/udp': [{ HostIp: '', HostPort: '5353' }],
    });
  });

  it('mounts binds, tmpfs and labelled volumes', () => {
    const options = dockerCreateOptions(
      task({
        mounts: [
          { type: 'bind', source: '/srv', target: '/data', readOnly: true },
          { type: 'tmpfs', target: '/tmp', tmpfsSizeBytes: 1024, tmpfsMode: 0o1777 },
          { type: 'volume', source: 'db', target: '/var/lib/db', volumeLabels: { keep: 'yes' } },
        ],
      }),
    );
    expect(options.HostConfig?.Mounts).toEqual([
      { Type: 'bind', Source: '/srv', Target: '/data', ReadOnly: true },
      { Type: 'tmpfs', Target: '/tmp', ReadOnly: false, TmpfsOptions: { SizeBytes: 1024, Mode: 0o1777 } },
      {
        Type: 'volume',
        Source: 'db',
        Target: '/var/lib/db',
        ReadOnly: false,
        VolumeOptions: {
          Labels: { keep: 'yes', 'orch.node.id': 'node1', 'orch.service.id': 'svc1', 'orch.task.id': 'tsk1' },
        },
      },
    ]);
  });

  it('attaches the first network as primary, with the service name as alias', () => {
    const options = dockerCreateOptions(task({ networks: ['backend', 'frontend'] }));
    expect(options.HostConfig?.NetworkMode).toBe('backend');
    expect(options.NetworkingConfig).toEqual({ EndpointsConfig: { backend: { Aliases: ['web'] } } });
  });
});

function inspectInfo(state: Partial<Docker.ContainerInspectInfo['State']>): Docker.ContainerInspectInfo {
  return {
    Id: 'abc',
    Config: { Labels: { 'orch.task.id': 'tsk1', 'orch.service.id': 'svc1', 'orch.node.id': 'node1' } },
    State: {
      Status: 'running',
      Running: true,
      ExitCode: 0,
      OOMKilled: false,
      Error: '',
      StartedAt: '2026-01-01T00:00:00.5Z',
      FinishedAt: '0001-01-01T00:00:00Z',
      ...state,
    },
    NetworkSettings: { Ports: {} },
  } as unknown as Docker.ContainerInspectInfo;
}

describe('docker observed state', () => {
  it.each([
    [{ Status: 'created', Running: false }, 'TASK_STATE_STARTING', ''],
    [{ Status: 'running' }, 'TASK_STATE_RUNNING', ''],
    [{ Status: 'exited', Running: false, ExitCode: 0 }, 'TASK_STATE_COMPLETE', ''],
    [{ Status: 'exited', Running: false, ExitCode: 2 }, 'TASK_STATE_FAILED', 'task: non-zero exit (2)'],
    [
      { Status: 'exited', Running: false, ExitCode: 137, OOMKilled: true },
      'TASK_STATE_FAILED',
      'task: non-zero exit (137): OOM killed',
    ],
    [{ Status: 'dead', Running: false }, 'TASK_STATE_FAILED', 'container is dead'],
  ] as const)('maps engine state %o to %s', (state, expected, err) => {
    const observed = observedFromInspect(inspectInfo(state));
    expect(observed).toMatchObject({
      state: expected,
      err,
      taskId: 'tsk1',
      serviceId: 'svc1',
      nodeId: 'node1',
    });
    expect(observed.startedAt).toEqual(new Date('2026-01-01T00:00:00.500Z'));
    expect(observed.finishedAt).toBeUndefined();
  });

  it('reads bound ports once, even when the engine bound both IPv4 and IPv6', () => {
    expect(
      boundPorts({
        '80/tcp': [
          { HostIp: '0.0.0.0', HostPort: '49153' },
          { HostIp: '::', HostPort: '49153' },
        ],
        '53/udp': [{ HostIp: '127.0.0.3', HostPort: '40000' }],
        '443/tcp': null,
      } as unknown as Docker.PortMap),
    ).toEqual([
      { targetPort: 80, protocol: 'tcp', hostIp: '0.0.0.0', hostPort: 49153 },
      { targetPort: 53, protocol: 'udp', hostIp: '127.0.0.3', hostPort: 40000 },
    ]);
  });
});

describe('docker engine errors', () => {
  it('makes an unanswered request temporary and an engine refusal final', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED /var/run/docker.sock'), {
      code: 'ECONNREFUSED',
    });
    expect(engineError(refused, 'creating container')).toBeInstanceOf(TemporaryExecutorError);
    const conflict = Object.assign(new Error('(HTTP code 409) conflict'), {
      statusCode: 409,
      json: { message: 'Conflict. The container name "/web.1.x" is already in use' },
    });
    const final = engineError(conflict, 'creating container') as FinalExecutorError;
    expect(final).toBeInstanceOf(FinalExecutorError);
    expect(final.message).toBe(
      'creating container: Conflict. The container name "/web.1.x" is already in use',
    );
    expect(new ContainerNotFoundError('abc').temporary).toBe(false);
  });

  it('passes an abort through untouched', () => {
    const abort = new AbortController();
    const reason = new Error('stop');
    abort.abort(reason);
    expect(engineError(new Error('aborted'), 'waiting', abort.signal)).toBe(reason);
  });
});
