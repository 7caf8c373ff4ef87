import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DockerEngine } from '../../src/agent/executor/docker';
import { DockerExecutor } from '../../src/agent/executor/docker-executor';
import {
  LABEL_NODE_ID,
  LABEL_SERVICE_ID,
  LABEL_SERVICE_NAME,
  LABEL_TASK_ID,
  LABEL_TASK_SLOT,
} from '../../src/agent/executor/docker-labels';
import type { LogEntry, TaskController } from '../../src/agent/executor/executor';
import {
  defaultTaskRunSpec,
  type ExecutorTask,
  initialTaskStatus,
  type TaskRunSpec,
  type TaskStatusLike,
} from '../../src/agent/executor/task-spec';
import { runTaskStep, type TaskStepResult } from '../../src/agent/executor/task-step';
import type { TaskStatus__Output } from '../../src/api/gen/types/orch/objects/TaskStatus';
import type { TaskState } from '../../src/common/task-state';
import { waitUntil } from '../integration/support/wait';
import { describeDocker, TEST_IMAGE, uniqueId } from '../support/docker';

/** Whether the container's script has set its trap (it touches /tmp/trapped right after). */
function trapSet(containerId: string): Promise<boolean> {
  return new Promise((resolve) =>
    execFile('docker', ['exec', containerId, 'test', '-e', '/tmp/trapped'], (err) => resolve(!err)),
  );
}

describeDocker('docker executor against the real engine', () => {
  const engine = new DockerEngine();
  const nodeId = uniqueId('e2e-node');
  const executor = new DockerExecutor({ nodeId, engine, hostname: 'e2e-host' });
  const tempDirs: string[] = [];
  let slot = 0;

  function makeTask(spec: Partial<TaskRunSpec>): ExecutorTask {
    return {
      id: uniqueId('task'),
      serviceId: 'svc-e2e',
      serviceName: 'e2e',
      slot: ++slot,
      nodeId,
      desiredState: 'TASK_STATE_RUNNING',
      status: initialTaskStatus(),
      // Tests never reach for a registry.
      spec: defaultTaskRunSpec(TEST_IMAGE, { pullPolicy: 'never', stopGracePeriodMs: 5000, ...spec }),
    };
  }

  /** Steps `task` until it reaches `until` (or stops advancing); returns every state it went through. */
  async function stepUntil(task: ExecutorTask, controller: TaskController, until: TaskState) {
    const states: TaskState[] = [];
    let last: TaskStepResult<TaskStatusLike> | undefined;
    while (task.status.state !== until) {
      last = await runTaskStep(task, controller);
      if (last.outcome !== 'advanced') break;
      task.status = last.status;
      states.push(last.status.state);
    }
    return { states, last };
  }

  async function collect(iterable: AsyncIterable<LogEntry>): Promise<LogEntry[]> {
    const entries: LogEntry[] = [];
    for await (const entry of iterable) entries.push(entry);
    return entries;
  }

  afterEach(async () => {
    for (const id of await engine.listNodeContainers(nodeId)) await engine.remove(id, { force: true });
  });

  afterAll(async () => {
    for (const id of await engine.listNodeContainers(nodeId)) await engine.remove(id, { force: true });
    const { Volumes } = await engine.docker.listVolumes({
      filters: { label: [`${LABEL_NODE_ID}=${nodeId}`] },
    });
    for (const volume of Volumes ?? []) await engine.docker.getVolume(volume.Name).remove();
    const networks = await engine.docker.listNetworks({ filters: { label: [`${LABEL_NODE_ID}=${nodeId}`] } });
    for (const network of networks) await engine.docker.getNetwork(network.Id).remove();
    for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  });

  it('describes the node from the engine', async () => {
    const description = await executor.describe();
    expect(description.hostname).toBe('e2e-host');
    expect(description.os).toBe('linux');
    expect(description.nanoCpus).toBeGreaterThanOrEqual(1e9);
    expect(description.memoryBytes).toBeGreaterThan(0);
    expect(description.engineVersion).toMatch(/^\d+\./);
  });

  it('runs a task one state per step to complete, in a labelled container named like Swarm', async () => {
    const task = makeTask({ args: ['sh', '-c', 'echo done'], labels: { team: 'e2e' } });
    const { states } = await stepUntil(task, executor.controller(task), 'TASK_STATE_COMPLETE');
    expect(states).toEqual([
      'TASK_STATE_ACCEPTED',
      'TASK_STATE_PREPARING',
      'TASK_STATE_STARTING',
      'TASK_STATE_RUNNING',
      'TASK_STATE_COMPLETE',
    ]);
    expect(task.status).toMatchObject({ message: 'finished', exitCode: 0, err: '' });
    const info = await engine.inspect(task.status.containerId);
    expect(info.Name).toBe(`/e2e.${task.slot}.${task.id}`);
    expect(info.Config.Labels).toMatchObject({
      team: 'e2e',
      [LABEL_NODE_ID]: nodeId,
      [LABEL_SERVICE_ID]: 'svc-e2e',
      [LABEL_SERVICE_NAME]: 'e2e',
      [LABEL_TASK_ID]: task.id,
      [LABEL_TASK_SLOT]: String(task.slot),
    });
    expect(info.HostConfig.RestartPolicy?.Name).toBe('no');
    // The step after a terminal state changes nothing.
    expect((await runTaskStep(task, executor.controller(task))).outcome).toBe('dead');
  });

  it('fails a task that exits non-zero, with its exit code in the status', async () => {
    const task = makeTask({ args: ['sh', '-c', 'exit 3'] });
    const { states, last } = await stepUntil(task, executor.controller(task), 'TASK_STATE_FAILED');
    expect(states.at(-1)).toBe('TASK_STATE_FAILED');
    expect(task.status).toMatchObject({
      message: 'task: non-zero exit (3)',
      err: 'task: non-zero exit (3)',
      exitCode: 3,
    });
    expect(last?.error?.name).toBe('TaskExitError');
  });

  it('fails a task whose container cannot start', async () => {
    const task = makeTask({ command: ['/no/such/binary'] });
    await stepUntil(task, executor.controller(task), 'TASK_STATE_FAILED');
    expect(task.status.state).toBe('TASK_STATE_FAILED');
    expect(task.status.err).toMatch(/^starting container failed: .*no such file/i);
  });

  it('rejects a task whose image is missing under pull policy never, without touching a registry', async () => {
    const task = makeTask({ image: 'orch/nope:1' });
    const { states } = await stepUntil(task, executor.controller(task), 'TASK_STATE_REJECTED');
    expect(states).toEqual(['TASK_STATE_ACCEPTED', 'TASK_STATE_PREPARING', 'TASK_STATE_REJECTED']);
    expect(task.status.err).toBe('image not found: orch/nope:1');
    expect(task.status.message).toBe('image not found: orch/nope:1');
    expect(await engine.listNodeContainers(nodeId)).toEqual([]);
  });

  it('shuts down with the stop signal, and kills what ignores it after the grace period', async () => {
    // Each script says when its trap is set: a signal sent before that would meet PID 1's default
    // (ignore), and the container would be killed after the grace period whatever the executor did.
    const loop = 'touch /tmp/trapped; while true; do sleep 0.1; done';
    const onTerm = makeTask({ args: ['sh', '-c', `trap "exit 0" TERM; ${loop}`] });
    const customSignal = makeTask({
      args: ['sh', '-c', `trap "exit 0" USR1; ${loop}`],
      stopSignal: 'SIGUSR1',
    });
    const stubborn = makeTask({ args: ['sh', '-c', `trap "" TERM; ${loop}`], stopGracePeriodMs: 1000 });
    const tasks = [onTerm, customSignal, stubborn];
    await Promise.all(
      tasks.map(async (task) => {
        const controller = executor.controller(task);
        await stepUntil(task, controller, 'TASK_STATE_RUNNING');
        await waitUntil(() => trapSet(task.status.containerId), { what: `the trap of ${task.id} set` });
        task.desiredState = 'TASK_STATE_SHUTDOWN';
        const result = await runTaskStep(task, controller);
        expect(result.status).toMatchObject({ state: 'TASK_STATE_SHUTDOWN', message: 'shutdown' });
      }),
    );
    const [onTermInfo, customInfo, stubbornInfo] = await Promise.all(
      tasks.map((t) => engine.inspect(t.status.containerId)),
    );
    const config = (info: typeof onTermInfo) => info.Config as { StopSignal?: string; StopTimeout?: number };
    expect(onTermInfo.State.ExitCode).toBe(0); // the TERM trap ran
    expect(config(customInfo).StopSignal).toBe('SIGUSR1');
    expect(customInfo.State.ExitCode).toBe(0); // the USR1 trap ran
    expect(config(stubbornInfo).StopTimeout).toBe(1);
    expect(stubbornInfo.State.ExitCode).toBe(137); // SIGKILL after the grace period
  });

  it('mounts a bind directory, a tmpfs and a labelled named volume', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'orch-e2e-bind-'));
    tempDirs.push(dir);
    writeFileSync(join(dir, 'in.txt'), 'from the host\n');
    const volume = uniqueId('orch-e2e-vol');
    const task = makeTask({
      args: ['sh', '-c', 'cat /data/in.txt; grep " /scratch " /proc/mounts; echo kept > /vol/f; cat /vol/f'],
      mounts: [
        { type: 'bind', source: dir, target: '/data', readOnly: true },
        { type: 'tmpfs', target: '/scratch', tmpfsSizeBytes: 1024 * 1024 },
        { type: 'volume', source: volume, target: '/vol', volumeLabels: { purpose: 'e2e' } },
      ],
    });
    const controller = executor.controller(task);
    await stepUntil(task, controller, 'TASK_STATE_COMPLETE');
    expect(task.status.state).toBe('TASK_STATE_COMPLETE');
    const lines = (await collect(controller.logs())).map((e) => e.line);
    expect(lines[0]).toBe('from the host');
    expect(lines[1]).toMatch(/^tmpfs \/scratch tmpfs .*size=1024k/);
    expect(lines[2]).toBe('kept');
    const inspected = await engine.docker.getVolume(volume).inspect();
    expect(inspected.Labels).toMatchObject({
      purpose: 'e2e',
      [LABEL_NODE_ID]: nodeId,
      [LABEL_TASK_ID]: task.id,
    });
  });

  it('places secrets and configs as files, with their owner and mode, before the task starts', async () => {
    const task = makeTask({
      args: [
        'sh',
        '-c',
        'cat /run/secrets/db_pass; cat /etc/app.conf; stat -c "%a %u" /run/secrets/db_pass /tmp',
      ],
      user: '65534',
      files: [
        { path: '/run/secrets/db_pass', data: Buffer.from('s3cret\n'), uid: 65534, gid: 65534, mode: 0o400 },
        { path: '/etc/app.conf', data: Buffer.from('mode=fast\n'), mode: 0o444 },
      ],
    });
    const controller = executor.controller(task);
    await stepUntil(task, controller, 'TASK_STATE_COMPLETE');
    expect(task.status.state).toBe('TASK_STATE_COMPLETE');
    const lines = (await collect(controller.logs())).map((e) => e.line);
    expect(lines).toEqual(['s3cret', 'mode=fast', '400 65534', '1777 0']);
  });

  it('runs with the env, workdir, user and hostname of the spec', async () => {
    const task = makeTask({
      args: ['sh', '-c', 'echo "$GREETING"; pwd; id -u; hostname'],
      env: ['GREETING=hello from orch'],
      workdir: '/tmp',
      user: '65534',
      hostname: 'web-1',
    });
    const controller = executor.controller(task);
    await stepUntil(task, controller, 'TASK_STATE_COMPLETE');
    const lines = (await collect(controller.logs())).map((e) => e.line);
    expect(lines).toEqual(['hello from orch', '/tmp', '65534', 'web-1']);
  });

  it('creates the container with the memory, pids and cpu limits as Docker limits', async () => {
    const task = makeTask({
      args: ['sleep', '60'],
      limits: { memoryBytes: 64 * 1024 * 1024, pids: 64, nanoCpus: 500_000_000 },
    });
    const controller = executor.controller(task);
    await controller.prepare();
    const observed = await controller.inspect();
    expect(observed?.state).toBe('TASK_STATE_STARTING');
    const info = await engine.inspect(observed!.containerId);
    expect(info.HostConfig).toMatchObject({ Memory: 64 * 1024 * 1024, PidsLimit: 64, NanoCpus: 500_000_000 });
  });

  it('reads logs demultiplexed, with tail, timestamps and follow', async () => {
    const task = makeTask({
      args: ['sh', '-c', 'echo out1; echo err1 >&2; echo out2; sleep 0.5; echo late; echo err2 >&2'],
    });
    const controller = executor.controller(task);
    await stepUntil(task, controller, 'TASK_STATE_RUNNING');

    // Follow from the start: every line until the container exits. The engine keeps the order
    // within a stream; between stdout and stderr it does not promise one.
    const followed = await collect(controller.logs({ follow: true, timestamps: true }));
    const lines = (entries: LogEntry[], stream: string) =>
      entries.filter((e) => e.stream === stream).map((e) => e.line);
    expect(lines(followed, 'stdout')).toEqual(['out1', 'out2', 'late']);
    expect(lines(followed, 'stderr')).toEqual(['err1', 'err2']);
    for (const entry of followed) expect(entry.time).toBeInstanceOf(Date);

    const tail = await collect(controller.logs({ tail: 2 }));
    expect(tail).toHaveLength(2);
    expect(tail).toEqual(
      expect.arrayContaining([
        { stream: 'stdout', line: 'late' },
        { stream: 'stderr', line: 'err2' },
      ]),
    );
    // 'late' and 'err2' come 0.5 s after the others; the engine stamps stdout and stderr lines in
    // separate copiers, so err2's stamp may precede late's by a hair: ask from 0.25 s before 'late'.
    const late = followed.find((e) => e.line === 'late')!;
    const since = await collect(controller.logs({ since: new Date(late.time!.getTime() - 250) }));
    expect(since.map((e) => e.line).sort()).toEqual(['err2', 'late']);
  });

  it('stops following logs when the signal aborts', async () => {
    const task = makeTask({ args: ['sh', '-c', 'echo first; sleep 60'] });
    const controller = executor.controller(task);
    await stepUntil(task, controller, 'TASK_STATE_RUNNING');
    const abort = new AbortController();
    const seen: string[] = [];
    await expect(
      (async () => {
        for await (const entry of controller.logs({ follow: true, signal: abort.signal })) {
          seen.push(entry.line);
          abort.abort(new Error('enough'));
        }
      })(),
    ).rejects.toThrow('enough');
    expect(seen).toEqual(['first']);
  });

  it('publishes a target port on a dynamic host port of the given address', async () => {
    const task = makeTask({
      args: ['httpd', '-f', '-p', '80', '-h', '/www'],
      ports: [{ targetPort: 80, protocol: 'tcp', hostIp: '127.0.0.1', hostPort: 0 }],
    });
    const { last } = await stepUntil(task, executor.controller(task), 'TASK_STATE_RUNNING');
    expect(last?.ports).toHaveLength(1);
    const [port] = last!.ports!;
    expect(port).toMatchObject({ targetPort: 80, protocol: 'tcp', hostIp: '127.0.0.1' });
    expect(port.hostPort).toBeGreaterThan(0);

    let body = '';
    for (let attempt = 0; attempt < 50 && !body; attempt++) {
      try {
        body = await (await fetch(`http://127.0.0.1:${port.hostPort}/`)).text();
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 100)); // httpd still binding
      }
    }
    expect(body).toContain('orch/busybox');
  });

  it('lets a restarted agent adopt its running containers instead of duplicating them', async () => {
    const task = makeTask({ args: ['sh', '-c', 'trap "exit 0" TERM; while true; do sleep 0.1; done'] });
    await stepUntil(task, executor.controller(task), 'TASK_STATE_RUNNING');

    const restarted = new DockerExecutor({ nodeId, engine: new DockerEngine() });
    const listed = await restarted.listTasks();
    expect(listed).toEqual([
      expect.objectContaining({
        taskId: task.id,
        serviceId: 'svc-e2e',
        nodeId,
        containerId: task.status.containerId,
        state: 'TASK_STATE_RUNNING',
        engineState: 'running',
      }),
    ]);
    expect(await new DockerExecutor({ nodeId: uniqueId('other-node'), engine }).listTasks()).toEqual([]);

    // Stepping the adopted task again finds the same container: prepare and start are no-ops.
    const adopted = restarted.controller(task);
    await adopted.prepare();
    await adopted.start();
    expect(await engine.listNodeContainers(nodeId)).toEqual([task.status.containerId]);

    // A task no longer assigned is stopped and removed.
    await restarted.removeTask(task.id);
    expect(await restarted.listTasks()).toEqual([]);
    expect(await adopted.inspect()).toBeUndefined();
  });

  it('reports a task with a health check running only once it is healthy', async () => {
    const task = makeTask({
      args: ['sh', '-c', 'trap "exit 0" TERM; sleep 0.4; touch /tmp/ready; while true; do sleep 0.1; done'],
      healthcheck: { test: ['CMD-SHELL', 'test -f /tmp/ready'], intervalMs: 100, retries: 3 },
    });
    const controller = executor.controller(task);
    await stepUntil(task, controller, 'TASK_STATE_RUNNING');
    expect(task.status.state).toBe('TASK_STATE_RUNNING');
    expect((await controller.inspect())?.health).toBe('healthy');
  });

  it('fails a task that turns unhealthy before it is running, and stops it', async () => {
    const task = makeTask({
      args: ['sh', '-c', 'trap "exit 0" TERM; while true; do sleep 0.1; done'],
      healthcheck: { test: ['CMD', 'false'], intervalMs: 100, retries: 1 },
    });
    const controller = executor.controller(task);
    await stepUntil(task, controller, 'TASK_STATE_FAILED');
    expect(task.status).toMatchObject({ state: 'TASK_STATE_FAILED', err: 'task: unhealthy container' });
    expect((await controller.inspect())?.engineState).toBe('exited');
  });

  it('uses a local image under pull policy missing without asking a registry', async () => {
    const task = makeTask({ args: ['true'], pullPolicy: 'missing' });
    await stepUntil(task, executor.controller(task), 'TASK_STATE_COMPLETE');
    expect(task.status.state).toBe('TASK_STATE_COMPLETE');
  });

  it('reads the raw stream of a container with a TTY as stdout', async () => {
    const task = makeTask({ args: ['sh', '-c', 'echo to-out; echo to-err >&2'], tty: true });
    const controller = executor.controller(task);
    await stepUntil(task, controller, 'TASK_STATE_COMPLETE');
    expect(await collect(controller.logs())).toEqual([
      { stream: 'stdout', line: 'to-out' },
      { stream: 'stdout', line: 'to-err' },
    ]);
  });

  it('attaches every network of the task, with the service name as alias', async () => {
    const names = [uniqueId('orch-e2e-net-a'), uniqueId('orch-e2e-net-b')];
    for (const name of names) {
      await engine.docker.createNetwork({
        Name: name,
        Driver: 'bridge',
        Labels: { [LABEL_NODE_ID]: nodeId },
      });
    }
    const task = makeTask({ args: ['sleep', '60'], stopGracePeriodMs: 0, networks: names });
    await stepUntil(task, executor.controller(task), 'TASK_STATE_RUNNING');
    const attached = (await engine.inspect(task.status.containerId)).NetworkSettings.Networks;
    expect(Object.keys(attached).sort()).toEqual([...names].sort());
    for (const name of names) expect(attached[name].Aliases).toContain('e2e');
  });

  it('keeps fields of the caller status it does not know about', async () => {
    const task = makeTask({ args: ['true'] }) as ExecutorTask<TaskStatus__Output & { extra?: string }>;
    task.status = { ...task.status, extra: 'kept' };
    const result = await runTaskStep(task, executor.controller(task));
    expect(result.status).toMatchObject({ state: 'TASK_STATE_ACCEPTED', extra: 'kept' });
  });
});
