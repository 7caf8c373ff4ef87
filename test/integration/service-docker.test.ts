// A replicated service on real containers, driven through the CLI the way a user drives it: one
// manager and two workers (real `orch` processes on loopback, Docker executor, one engine shared by
// the three nodes, told apart by orch's container labels). Issue #6's "Done when": the service
// converges spread over the nodes, a container removed behind orch's back is replaced, a worker
// killed with SIGKILL has its tasks rescheduled and, restarted, leaves no duplicate container,
// drain moves tasks off, scaling to 0 and back works, and rm leaves no labelled container.

import { describeDocker, TEST_IMAGE } from '../support/docker';
import { OrchCluster } from './cluster-harness';
import { currentTasks, historyTasks, parseTaskTable } from './support/cli-table';
import { containersWithLabels, docker, dockerOk } from './support/docker-cli';
import { waitUntil } from './support/wait';

jest.setTimeout(120_000);

/**
 * How long one step may take before the test gives up: generous, since the 2-core machine is shared
 * (other suites and benchmarks run containers too). The time bounds are asserted apart.
 */
const CONVERGE_MS = 30_000;

/** Short, so that the "3 heartbeat periods + 2 s" bound of the kill -9 step stays short too. */
const HEARTBEAT_MS = 1000;
/**
 * The web service's restart delay. Swarm's default (5 s) delays a replacement by that much on its
 * own; the issue asks for one within 5 s after `docker rm -f`, so the service sets a shorter delay,
 * which the measured time includes.
 */
const RESTART_DELAY = '1s';
/**
 * busybox httpd runs as the container's PID 1, which ignores SIGTERM: every stop lasts the whole
 * grace period (Swarm's default is 10 s). The same happens under Swarm; a short grace keeps the
 * drain, scale-down and rm steps short.
 */
const STOP_GRACE = '1s';

function measured(what: string, ms: number, bound: number): void {
  process.stdout.write(`service-docker: ${what}: ${ms} ms (bound ${bound} ms)\n`);
}

describeDocker('services on Docker (1 manager + 2 workers)', () => {
  const cluster = new OrchCluster({ executor: 'docker' });
  let serviceId = '';

  afterAll(async () => {
    await cluster.close();
  });

  beforeAll(async () => {
    const init = await cluster.init(1, '--heartbeat-period', `${HEARTBEAT_MS / 1000}s`);
    if (init.code !== 0) throw new Error(`init failed: ${init.stderr}`);
    const token = await cluster.token('worker', 1);
    await Promise.all(
      [2, 3].map(async (n) => {
        const joined = await cluster.join(n, token, 1);
        if (joined.code !== 0)
          throw new Error(`join of node ${n} failed: ${joined.stderr}\n${cluster.log(n)}`);
      }),
    );
    await waitUntil(async () => (await orchOk(1, 'node', 'ls')).match(/\bReady\b/g)?.length === 3, {
      what: 'three Ready nodes',
      timeoutMs: CONVERGE_MS,
    });
  });

  async function orchOk(n: number, ...args: string[]): Promise<string> {
    const result = await cluster.orch(n, ...args);
    if (result.code !== 0) {
      throw new Error(`orch ${args.join(' ')} failed (${result.code}): ${result.stderr}\n${result.stdout}`);
    }
    return result.stdout;
  }

  /** Running containers of the service, optionally on one node only. */
  function running(onNode?: number): Promise<string[]> {
    const labels = [`orch.service.id=${serviceId}`];
    if (onNode !== undefined) labels.push(`orch.node.id=${cluster.nodeId(onNode)}`);
    return containersWithLabels(labels, false);
  }

  async function runningPerNode(): Promise<number[]> {
    return Promise.all([1, 2, 3].map(async (n) => (await running(n)).length));
  }

  /** Slot label of each running container: two running containers of one slot are duplicates. */
  async function runningSlots(): Promise<string[]> {
    const ids = await running();
    if (ids.length === 0) return [];
    const out = await dockerOk(['inspect', '--format', '{{index .Config.Labels "orch.task.slot"}}', ...ids]);
    return out.split('\n').filter((line) => line !== '');
  }

  it('creates web with 4 replicas, shows progress until it converges, spread over the nodes', async () => {
    const create = await cluster.orch(
      1,
      'service',
      'create',
      '--name',
      'web',
      '--replicas',
      '4',
      '--pull',
      'never',
      '--restart-delay',
      RESTART_DELAY,
      '--stop-grace-period',
      STOP_GRACE,
      TEST_IMAGE,
      'httpd',
      '-f',
      '-p',
      '80',
      '-h',
      '/www',
    );
    expect(create.stderr).toBe('');
    expect(create.code).toBe(0);
    serviceId = create.stdout.split('\n')[0]!.trim();
    expect(serviceId).toMatch(/^[a-z0-9]{25}$/);
    expect(create.stdout).toContain('overall progress: 4 out of 4 tasks');
    expect(create.stdout).toMatch(/^verify: Service converged$/m);

    const tasks = currentTasks(parseTaskTable(await orchOk(1, 'service', 'ps', 'web')));
    expect(tasks.map((t) => t.NAME).sort()).toEqual(['web.1', 'web.2', 'web.3', 'web.4']);
    for (const task of tasks) {
      expect(task['DESIRED STATE']).toBe('Running');
      expect(task['CURRENT STATE']).toMatch(/^Running /);
    }
    // Spread: 1/1/2 over the manager and the workers (every node is Active).
    expect((await runningPerNode()).sort()).toEqual([1, 1, 2]);
    expect(await running()).toHaveLength(4);
  });

  it('replaces a task container removed with docker rm -f within 5 s, keeping the failed task in history', async () => {
    const before = await running();
    const victim = before[0]!;
    const victimTask = (
      await dockerOk(['inspect', '--format', '{{index .Config.Labels "orch.task.id"}}', victim])
    ).trim();
    await dockerOk(['rm', '-f', victim]);
    const removedAt = Date.now();
    await waitUntil(
      async () => {
        const now = await running();
        return now.length === 4 && !now.includes(victim);
      },
      { what: 'a replacement container running', timeoutMs: CONVERGE_MS, intervalMs: 50 },
    );
    const elapsed = Date.now() - removedAt;
    measured('replacement running after docker rm -f', elapsed, 5000);
    expect(elapsed).toBeLessThanOrEqual(5000);

    const rows = parseTaskTable(await orchOk(1, 'service', 'ps', '--no-trunc', 'web'));
    const failed = rows.find((row) => row.ID === victimTask);
    expect(failed).toBeDefined();
    expect(failed!.NAME).toMatch(/^\\_ web\.[1-4]$/);
    expect(failed!['DESIRED STATE']).toBe('Shutdown');
    expect(failed!['CURRENT STATE']).toMatch(/^Failed /);
    expect(failed!.ERROR).not.toBe('');
    expect(currentTasks(rows).every((t) => t['CURRENT STATE'].startsWith('Running'))).toBe(true);
  });

  it('reschedules the tasks of a worker killed with SIGKILL within 3 heartbeats + 2 s; restarted, it keeps no duplicate', async () => {
    const perNode = await runningPerNode();
    const victim = perNode[1]! >= perNode[2]! ? 2 : 3;
    const survivors = [1, 2, 3].filter((n) => n !== victim);
    expect(perNode[victim - 1]).toBeGreaterThan(0);
    // A second service, removed while the worker is down: its container there belongs to a task
    // the restarted agent is no longer assigned, which adoption must remove.
    const side = (
      await orchOk(
        1,
        'service',
        'create',
        '-d',
        '--name',
        'side',
        '--mode',
        'global',
        '--pull',
        'never',
        '--stop-grace-period',
        STOP_GRACE,
        TEST_IMAGE,
        'sleep',
        '3600',
      )
    ).trim();
    const sideOnVictim = [`orch.service.id=${side}`, `orch.node.id=${cluster.nodeId(victim)}`];
    await waitUntil(
      async () => (await containersWithLabels([`orch.service.id=${side}`], false)).length === 3,
      {
        what: 'side running on the three nodes',
        timeoutMs: CONVERGE_MS,
      },
    );

    cluster.kill9(victim);
    const killedAt = Date.now();
    // The killed node's containers keep running (Docker does not know orch): count the others'.
    await waitUntil(
      async () => {
        const counts = await Promise.all(survivors.map(async (n) => (await running(n)).length));
        return counts[0]! + counts[1]! === 4;
      },
      { what: `the tasks of node ${victim} running elsewhere`, timeoutMs: CONVERGE_MS, intervalMs: 50 },
    );
    const elapsed = Date.now() - killedAt;
    const bound = 3 * HEARTBEAT_MS + 2000;
    measured('tasks of a SIGKILLed worker running elsewhere', elapsed, bound);
    // The bound is checked last: the worker must be restarted whatever it says, or every later
    // step would fail with it.
    await orchOk(1, 'service', 'rm', 'side');
    expect(await containersWithLabels(sideOnVictim)).toHaveLength(1);

    await cluster.restart(victim);
    // Adopted by label: the restarted agent stops the containers of the tasks moved away and
    // starts nothing new: every slot runs exactly once.
    await waitUntil(async () => (await running(victim)).length === 0, {
      what: `the restarted node ${victim} to stop its moved tasks`,
      timeoutMs: CONVERGE_MS,
    });
    const slots = await runningSlots();
    expect(slots.sort()).toEqual(['1', '2', '3', '4']);
    // What stays on the restarted node are the stopped containers of tasks `service ps` shows
    // in history: none of a task the cluster does not know.
    const known = new Set(
      historyTasks(parseTaskTable(await orchOk(1, 'service', 'ps', '--no-trunc', 'web'))).map((t) => t.ID),
    );
    const left = await containersWithLabels([
      `orch.service.id=${serviceId}`,
      `orch.node.id=${cluster.nodeId(victim)}`,
    ]);
    for (const id of left) {
      const task = (
        await dockerOk(['inspect', '--format', '{{index .Config.Labels "orch.task.id"}}', id])
      ).trim();
      expect(known).toContain(task);
    }
    await waitUntil(async () => (await containersWithLabels([`orch.service.id=${side}`])).length === 0, {
      what: 'the containers of the removed service gone from every node, the restarted one included',
      timeoutMs: CONVERGE_MS,
    });
    const ls = await orchOk(1, 'service', 'ls');
    expect(ls).toMatch(/^\S+\s+web\s+replicated\s+4\/4\s/m);
    expect(ls).not.toMatch(/\bside\b/);
    expect(elapsed).toBeLessThanOrEqual(bound);
  });

  it('moves every task off a drained node', async () => {
    const node = cluster.nodeId(3);
    expect(await orchOk(1, 'node', 'update', '--availability', 'drain', node)).toBe(`${node}\n`);
    await waitUntil(async () => (await running(3)).length === 0 && (await running()).length === 4, {
      what: 'node 3 drained with 4 tasks running elsewhere',
      timeoutMs: CONVERGE_MS,
    });
    const onNode3 = parseTaskTable(await orchOk(1, 'node', 'ps', '-f', 'desired-state=running', node));
    expect(onNode3).toEqual([]);
    await orchOk(1, 'node', 'update', '--availability', 'active', node);
  });

  it('scales web to 0 (detached) and then to 6, waiting for convergence with progress', async () => {
    const down = await cluster.orch(1, 'service', 'scale', '-d', 'web=0');
    expect(down.code).toBe(0);
    expect(down.stdout).toBe('web scaled to 0\n');
    await waitUntil(async () => (await running()).length === 0, {
      what: 'no container of web running',
      timeoutMs: CONVERGE_MS,
    });

    const up = await cluster.orch(1, 'service', 'scale', 'web=6');
    expect(up.stderr).toBe('');
    expect(up.code).toBe(0);
    expect(up.stdout).toMatch(/^web scaled to 6$/m);
    expect(up.stdout).toContain('overall progress: 6 out of 6 tasks');
    expect(await running()).toHaveLength(6);
    expect((await runningPerNode()).sort()).toEqual([2, 2, 2]);
    const tasks = currentTasks(parseTaskTable(await orchOk(1, 'service', 'ps', 'web')));
    expect(tasks.filter((t) => t['CURRENT STATE'].startsWith('Running'))).toHaveLength(6);
  });

  it('removes web and every labelled container with it', async () => {
    expect(await orchOk(1, 'service', 'rm', 'web')).toBe('web\n');
    await waitUntil(async () => (await containersWithLabels([`orch.service.id=${serviceId}`])).length === 0, {
      what: 'no container of web left (running or not)',
      timeoutMs: CONVERGE_MS,
    });
    const ls = await orchOk(1, 'service', 'ls');
    expect(ls).not.toMatch(/\bweb\b/);
    const ps = await cluster.orch(1, 'service', 'ps', 'web');
    expect(ps.code).not.toBe(0);
    expect((await docker(['ps', '-a', '--filter', `label=orch.service.id=${serviceId}`, '-q'])).stdout).toBe(
      '',
    );
  });
});
