import type { Service } from '../../../src/store';
import {
  addNodes,
  type ControlFixture,
  nodeInput,
  startControl,
  taskInput,
  webSpec,
} from '../controlapi/control-fixture';
import { cliRunner, type RunCli } from './cli-harness';

type Behaviour = 'run' | 'pending' | 'crash' | 'pause-updates';

/**
 * A stand-in for the leader's orchestrator, scheduler and agents: every few milliseconds it gives
 * each slot of each replicated service a task with the current spec and moves it as `behaviour` says.
 */
function simulateCluster(f: ControlFixture, behaviour: Behaviour): { stop(): void } {
  let counter = 0;
  let busy = false;
  const tick = async () => {
    if (busy) return;
    busy = true;
    try {
      await f.store.update((tx) => {
        for (const service of tx.services.list() as Service[]) {
          const id = service.meta!.id;
          const replicas = service.spec?.replicated?.replicas ?? 0;
          let paused = service.updateStatus?.state === 'UPDATE_STATE_PAUSED';
          for (const task of tx.tasks.findByService(id)) {
            const runsWith = (spec: typeof task.spec) => JSON.stringify([spec?.container, spec?.forceUpdate]);
            const outdated = runsWith(task.spec) !== runsWith(service.spec);
            const removedSlot = service.spec?.mode === 'replicated' && task.slot > replicas;
            if (
              behaviour === 'pause-updates' &&
              outdated &&
              !removedSlot &&
              task.desiredState === 'TASK_STATE_RUNNING'
            ) {
              if (!paused) {
                tx.services.update({
                  ...service,
                  updateStatus: {
                    state: 'UPDATE_STATE_PAUSED',
                    startedAtMs: Date.now(),
                    message: `update paused due to failure or early termination of task ${task.meta!.id}`,
                  },
                });
                paused = true;
              }
              continue;
            }
            if (task.desiredState === 'TASK_STATE_RUNNING' && (removedSlot || outdated)) {
              tx.tasks.update({
                ...task,
                desiredState: 'TASK_STATE_SHUTDOWN',
                status: { ...task.status!, state: 'TASK_STATE_SHUTDOWN' },
              });
            }
          }
          const global = service.spec?.mode === 'global';
          const places = global
            ? tx.nodes.list().map((n) => n.meta!.id)
            : Array.from({ length: replicas }, (_, i) => i + 1);
          for (const place of places) {
            const slot = typeof place === 'number' ? place : 0;
            const nodeId = typeof place === 'string' ? place : 'node1';
            const live = tx.tasks
              .find({ serviceId: id, ...(global ? { nodeId } : { slot }) })
              .find((t) => t.desiredState === 'TASK_STATE_RUNNING');
            if (live && live.status?.state === 'TASK_STATE_STARTING') {
              tx.tasks.update({
                ...live,
                status: { ...live.status, state: 'TASK_STATE_RUNNING', timestampMs: Date.now() },
              });
            }
            if (live) continue;
            const base = taskInput(`task-${++counter}`, id, slot, { nodeId, spec: service.spec });
            if (behaviour === 'run' || behaviour === 'pause-updates') {
              tx.tasks.create({
                ...base,
                status: { ...base.status, state: 'TASK_STATE_STARTING', timestampMs: Date.now() },
              });
            } else if (behaviour === 'pending') {
              tx.tasks.create({
                ...base,
                nodeId: '',
                status: {
                  state: 'TASK_STATE_PENDING',
                  err: 'no suitable node (insufficient resources on 1 node)',
                  timestampMs: Date.now(),
                },
              });
            } else {
              tx.tasks.create({
                ...base,
                desiredState: 'TASK_STATE_SHUTDOWN',
                status: {
                  state: 'TASK_STATE_FAILED',
                  err: 'task: non-zero exit (2)',
                  timestampMs: Date.now(),
                },
              });
            }
          }
        }
      });
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(() => void tick(), 5);
  return { stop: () => clearInterval(timer) };
}

describe('service convergence progress', () => {
  let f: ControlFixture;
  let orch: RunCli;
  let cluster: { stop(): void } | undefined;

  beforeEach(async () => {
    f = await startControl({}, { clock: Date.now });
    await addNodes(f.store, [nodeInput('node1', 'alpha')]);
    orch = cliRunner(f);
  });

  afterEach(async () => {
    cluster?.stop();
    cluster = undefined;
    await f?.close();
  });

  it('create waits until every replica runs and prints docker-style progress lines', async () => {
    cluster = simulateCluster(f, 'run');
    const { code, stdout, stderr } = await orch(
      'service',
      'create',
      '--name',
      'web',
      '--replicas',
      '2',
      'orch/busybox',
    );
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const lines = stdout.split('\n');
    expect(lines[0]).toMatch(/^\w{25}$/);
    expect(lines).toContain('overall progress: 2 out of 2 tasks');
    expect(lines).toContain(`1/2: running   [${'='.repeat(49)}>]`);
    expect(lines).toContain(`2/2: running   [${'='.repeat(49)}>]`);
    expect(lines.at(-2)).toBe('verify: Service converged');
  });

  it('a global service waits for a task on every eligible node', async () => {
    await addNodes(f.store, [
      nodeInput('node2', 'beta'),
      { ...nodeInput('node3', 'gamma'), spec: { availability: 'NODE_AVAILABILITY_DRAIN' } },
    ]);
    cluster = simulateCluster(f, 'run');
    const { code, stdout } = await orch(
      'service',
      'create',
      '--name',
      'agent',
      '--mode',
      'global',
      'orch/busybox',
    );
    expect(code).toBe(0);
    expect(stdout).toContain('overall progress: 2 out of 2 tasks\n');
    expect(stdout).toContain(`node1: running   [${'='.repeat(49)}>]\n`);
    expect(stdout).toContain(`node2: running   [${'='.repeat(49)}>]\n`);
  });

  it('scale and update wait for the new tasks too', async () => {
    await f.client.createService(webSpec({ replicated: { replicas: 1 } }));
    cluster = simulateCluster(f, 'run');
    const scaled = await orch('service', 'scale', 'web=3');
    expect(scaled.code).toBe(0);
    expect(scaled.stdout).toContain('web scaled to 3\n');
    expect(scaled.stdout).toContain('overall progress: 3 out of 3 tasks\n');
    const updated = await orch('service', 'update', '--image', 'orch/busybox:2', 'web');
    expect(updated.code).toBe(0);
    expect(updated.stdout).toContain('verify: Service converged\n');
    const running = f.store.view((tx) =>
      tx.tasks.filter(
        (t) => t.desiredState === 'TASK_STATE_RUNNING' && t.status?.state === 'TASK_STATE_RUNNING',
      ),
    );
    expect(running.map((t) => t.spec?.container?.image)).toEqual([
      'orch/busybox:2',
      'orch/busybox:2',
      'orch/busybox:2',
    ]);
  });

  it('stops with the reason when the rolling update pauses', async () => {
    await f.client.createService(webSpec({ replicated: { replicas: 1 } }));
    cluster = simulateCluster(f, 'pause-updates');
    const created = await orch('service', 'update', '--label-add', 'only=labels', 'web');
    expect(created.code).toBe(0);
    const { code, stderr } = await orch('service', 'update', '--image', 'orch/busybox:broken', 'web');
    expect(code).toBe(1);
    expect(stderr).toMatch(
      /^orch: service web can't converge: the update was paused: update paused due to failure or early termination of task task-\d+\n$/,
    );
  });

  it("fails with the scheduler's reason when a task stays pending", async () => {
    cluster = simulateCluster(f, 'pending');
    const { code, stdout, stderr } = await orch(
      'service',
      'create',
      '--name',
      'web',
      '--reserve-memory',
      '1T',
      'orch/busybox',
    );
    expect(code).toBe(1);
    expect(stdout).toContain('1/1: no suitable node (insufficient resources on 1 node)\n');
    expect(stderr).toBe(
      "orch: service web can't converge: task web.1 is pending: no suitable node (insufficient resources on 1 node)\n",
    );
  });

  it('fails when the tasks of a slot keep failing', async () => {
    cluster = simulateCluster(f, 'crash');
    const { code, stderr } = await orch('service', 'create', '--name', 'web', 'orch/busybox', 'false');
    expect(code).toBe(1);
    expect(stderr).toMatch(
      /^orch: service web can't converge: task web\.1 failed \d+ times: task: non-zero exit \(2\)\n$/,
    );
  });

  it('redraws in place on a terminal', async () => {
    cluster = simulateCluster(f, 'run');
    // A verify period makes at least two frames: waiting, then converged.
    const tty = cliRunner(f, { isTTY: true, progressVerifyMs: 20 });
    const { code, stdout } = await tty('service', 'create', '--name', 'web', 'orch/busybox');
    expect(code).toBe(0);
    expect(stdout).toContain('\x1b[3A\x1b[J');
    expect(stdout.endsWith('verify: Service converged\n')).toBe(true);
  });

  it('stops waiting on Ctrl-C and restores the default interrupt afterwards', async () => {
    let interrupt: (() => void) | undefined;
    let restored = false;
    const interruptible = cliRunner(f, {
      onInterrupt: (handler) => {
        interrupt = handler;
        return () => {
          restored = true;
        };
      },
    });
    const running = interruptible('service', 'create', '--name', 'web', 'orch/busybox');
    while (!interrupt) await new Promise((r) => setTimeout(r, 5));
    interrupt();
    const { code, stdout } = await running;
    expect(code).toBe(0);
    expect(stdout).toContain('Operation continuing in background.\n');
    expect(restored).toBe(true);
  });

  it('stops waiting, leaving the operation running, when interrupted', async () => {
    const controller = new AbortController();
    const interrupted = cliRunner(f, { signal: controller.signal });
    const running = interrupted('service', 'create', '--name', 'web', 'orch/busybox');
    while (!f.store.view((tx) => tx.services.getByName('web'))) await new Promise((r) => setTimeout(r, 5));
    controller.abort();
    const { code, stdout } = await running;
    expect(code).toBe(0);
    expect(stdout).toMatch(
      /Operation continuing in background\.\nUse `orch service ps \w+` to check progress\.\n$/,
    );
  });
});
