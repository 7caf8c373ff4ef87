import { LogLineQueue } from '../../../src/agent/executor/log-lines';
import {
  boundPortsToProto,
  containerName,
  DEFAULT_STOP_GRACE_PERIOD_MS,
  executorTaskFromProto,
} from '../../../src/agent/executor/task-spec';
import type { Task__Output } from '../../../src/api/gen/types/orch/objects/Task';
import { formatTaskState, isTerminal, taskStateRank } from '../../../src/common/task-state';

/** A stored task as the wire decodes it; only the fields the executor reads are filled. */
function storedTask(): Task__Output {
  return {
    meta: { id: 'tsk1', version: 7, createdAtMs: 1, updatedAtMs: 2 },
    serviceId: 'svc1',
    slot: 3,
    nodeId: 'node1',
    desiredState: 'TASK_STATE_RUNNING',
    status: null,
    spec: {
      name: 'web',
      labels: { tier: 'front' },
      container: {
        image: 'busybox:local',
        command: [],
        args: ['httpd', '-f', '-p', '80'],
        env: ['A=1'],
        labels: { role: 'http' },
        workdir: '',
        user: 'nobody',
        hostname: '',
        stopSignal: '',
        stopGracePeriodMs: 0,
        mounts: [
          { type: 'MOUNT_TYPE_BIND', source: '/srv', target: '/www', readOnly: true },
          { type: 'MOUNT_TYPE_TMPFS', source: '', target: '/tmp', readOnly: false },
        ],
        pullPolicy: 'PULL_POLICY_NEVER',
        tty: false,
        healthcheck: { test: ['CMD', 'true'], intervalMs: 1000, timeoutMs: 0, retries: 3, startPeriodMs: 0 },
      },
      resources: { limits: { nanoCpus: 5e8, memoryBytes: 0, pids: 50 }, reservations: null },
    },
    endpoint: {
      spec: null,
      virtualIps: [],
      ports: [
        {
          name: 'http',
          protocol: 'PORT_PROTOCOL_TCP',
          targetPort: 80,
          publishedPort: 8080,
          publishMode: 'PUBLISH_MODE_INGRESS',
        },
        {
          name: 'dns',
          protocol: 'PORT_PROTOCOL_UDP',
          targetPort: 53,
          publishedPort: 5353,
          publishMode: 'PUBLISH_MODE_HOST',
        },
      ],
    },
  } as unknown as Task__Output;
}

describe('executor task from the stored task', () => {
  it('maps the container spec, limits, mounts, pull policy and health check', () => {
    const task = executorTaskFromProto(storedTask());
    expect(task).toMatchObject({
      id: 'tsk1',
      serviceId: 'svc1',
      serviceName: 'web',
      slot: 3,
      nodeId: 'node1',
    });
    expect(task.status.state).toBe('TASK_STATE_NEW');
    expect(task.spec).toMatchObject({
      image: 'busybox:local',
      command: [],
      args: ['httpd', '-f', '-p', '80'],
      env: ['A=1'],
      labels: { tier: 'front', role: 'http' },
      user: 'nobody',
      stopGracePeriodMs: DEFAULT_STOP_GRACE_PERIOD_MS,
      limits: { nanoCpus: 5e8, pids: 50 },
      pullPolicy: 'never',
      mounts: [
        { type: 'bind', source: '/srv', target: '/www', readOnly: true },
        { type: 'tmpfs', target: '/tmp', readOnly: false },
      ],
      healthcheck: { test: ['CMD', 'true'], intervalMs: 1000, retries: 3 },
    });
    expect(task.spec.workdir).toBeUndefined();
    expect(task.spec.limits.memoryBytes).toBeUndefined();
  });

  it('publishes host-mode ports on the node (its mesh address when known), and ingress ports on the mesh address at a dynamic port', () => {
    expect(executorTaskFromProto(storedTask()).spec.ports).toEqual([
      { targetPort: 53, protocol: 'udp', hostPort: 5353 },
    ]);
    expect(executorTaskFromProto(storedTask(), { ingressHostIp: '127.0.0.3' }).spec.ports).toEqual([
      { targetPort: 80, protocol: 'tcp', hostIp: '127.0.0.3', hostPort: 0 },
      { targetPort: 53, protocol: 'udp', hostIp: '127.0.0.3', hostPort: 5353 },
    ]);
  });

  it('lets extra settings win over the stored ones', () => {
    const task = executorTaskFromProto(storedTask(), {
      extra: { networks: ['orch-ingress'], pullPolicy: 'missing' },
    });
    expect(task.spec.networks).toEqual(['orch-ingress']);
    expect(task.spec.pullPolicy).toBe('missing');
  });

  it('turns bound ports into the status ports the mesh reads', () => {
    expect(
      boundPortsToProto([{ targetPort: 80, protocol: 'tcp', hostIp: '127.0.0.3', hostPort: 32768 }]),
    ).toEqual([
      {
        protocol: 'PORT_PROTOCOL_TCP',
        targetPort: 80,
        publishedPort: 32768,
        publishMode: 'PUBLISH_MODE_HOST',
      },
    ]);
  });

  it('names containers with only the characters the engine accepts', () => {
    expect(containerName({ id: 't/1', serviceName: 'my web', slot: 1, nodeId: 'n' })).toBe('my-web.1.t-1');
  });
});

describe('task states', () => {
  it('orders the lifecycle and treats everything past running as terminal', () => {
    expect(taskStateRank('TASK_STATE_ASSIGNED')).toBeLessThan(taskStateRank('TASK_STATE_RUNNING'));
    expect(isTerminal('TASK_STATE_RUNNING')).toBe(false);
    expect(isTerminal('TASK_STATE_REJECTED')).toBe(true);
    expect(formatTaskState('TASK_STATE_PREPARING')).toBe('preparing');
  });
});

describe('log line queue', () => {
  async function drain(queue: LogLineQueue) {
    const entries = [];
    for await (const entry of queue) entries.push(entry);
    return entries;
  }

  it('joins lines split across chunks and keeps the streams apart', async () => {
    const queue = new LogLineQueue(false, false);
    queue.write('stdout', 'hel');
    queue.write('stderr', 'oops\r\n');
    queue.write('stdout', 'lo\nwor');
    queue.write('stdout', 'ld');
    queue.end();
    expect(await drain(queue)).toEqual([
      { stream: 'stderr', line: 'oops' },
      { stream: 'stdout', line: 'hello' },
      { stream: 'stdout', line: 'world' },
    ]);
  });

  it("splits the engine's timestamp off each line", async () => {
    const queue = new LogLineQueue(true, true);
    queue.write('stdout', '2026-11-21T14:00:00.123456789Z hello world\n');
    queue.end();
    expect(await drain(queue)).toEqual([
      { stream: 'stdout', line: 'hello world', time: new Date('2026-11-21T14:00:00.123Z') },
    ]);
  });

  it('pauses its source while the consumer is behind and releases it when the consumer stops', async () => {
    const calls: string[] = [];
    const queue = new LogLineQueue(false, false);
    queue.attach({
      pause: () => calls.push('pause'),
      resume: () => calls.push('resume'),
      destroy: () => calls.push('destroy'),
    });
    queue.write('stdout', 'x\n'.repeat(2000));
    expect(calls).toEqual(['pause']);
    let read = 0;
    for await (const _ of queue) {
      if (++read === 1500) break;
    }
    expect(calls).toEqual(['pause', 'resume', 'destroy']);
  });

  it('ends with the failure of its source', async () => {
    const queue = new LogLineQueue(false, false);
    queue.write('stdout', 'last words');
    queue.end(new Error('connection reset'));
    const seen: string[] = [];
    await expect(
      (async () => {
        for await (const entry of queue) seen.push(entry.line);
      })(),
    ).rejects.toThrow('connection reset');
    expect(seen).toEqual(['last words']);
  });
});
