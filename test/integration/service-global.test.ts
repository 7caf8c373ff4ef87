// Placement on real containers, driven through the CLI: two managers and a worker (real `orch`
// processes on loopback, Docker executor). Issue #6's "Done when": a constraint nobody satisfies
// leaves the task pending with the scheduler's reason and `service create` exits non-zero with it;
// a global service runs one task per eligible node and follows nodes joining, drained and removed;
// `service logs` (with --tail, and -f) prefixes lines with task and node like docker's, also when
// the CLI talks to a manager that is not the leader.

import { describeDocker, TEST_IMAGE } from '../support/docker';
import { OrchCluster, type RunResult } from './cluster-harness';
import { currentTasks, parseTaskTable } from './support/cli-table';
import { containersWithLabels } from './support/docker-cli';
import { waitUntil } from './support/wait';

jest.setTimeout(120_000);

/**
 * How long one step may take before the test gives up: generous, since the 2-core machine is shared
 * (other suites and benchmarks run containers too). The issue's time bounds are asserted apart.
 */
const CONVERGE_MS = 30_000;

const HEARTBEAT_MS = 1000;
/** A line every 200 ms, numbered, so that a followed stream shows lines written after it started. */
const TICKER_SCRIPT = 'i=0; while true; do i=$((i+1)); echo tick $i; sleep 0.2; done';
/** `name.node-or-slot.task@node    | line`, as docker prints service logs. */
const LOG_LINE = /^(ticker\.[a-z0-9]{25}\.[a-z0-9]{12}@\S+)\s+\| tick (\d+)$/;

describeDocker('placement on Docker (2 managers + 1 worker, a worker joining later)', () => {
  const cluster = new OrchCluster({ executor: 'docker' });
  let tickerId = '';
  /** `service create` of a service no node can run, started in beforeAll. */
  let unsatisfiable: Promise<RunResult>;

  afterAll(async () => {
    await cluster.close();
  });

  beforeAll(async () => {
    const init = await cluster.init(1, '--heartbeat-period', `${HEARTBEAT_MS / 1000}s`);
    if (init.code !== 0) throw new Error(`init failed: ${init.stderr}`);
    const [managerToken, workerToken] = await Promise.all([
      cluster.token('manager', 1),
      cluster.token('worker', 1),
    ]);
    const [manager, worker] = await Promise.all([
      cluster.join(2, managerToken, 1),
      cluster.join(3, workerToken, 1),
    ]);
    if (manager.code !== 0) throw new Error(`manager join failed: ${manager.stderr}\n${cluster.log(2)}`);
    if (worker.code !== 0) throw new Error(`worker join failed: ${worker.stderr}\n${cluster.log(3)}`);
    await waitUntil(async () => (await orchOk(1, 'node', 'ls')).match(/\bReady\b/g)?.length === 3, {
      what: 'three Ready nodes',
      timeoutMs: CONVERGE_MS,
    });
    // The CLI gives a task pending for a reason 10 s before it says the service can't converge:
    // let that run while the global service steps do, and look at the outcome after them.
    unsatisfiable = cluster.orch(
      1,
      'service',
      'create',
      '--name',
      'nowhere',
      '--constraint',
      'node.labels.zone==mars',
      '--pull',
      'never',
      TEST_IMAGE,
      'sleep',
      '3600',
    );
  });

  async function orchOk(n: number, ...args: string[]): Promise<string> {
    const result = await cluster.orch(n, ...args);
    if (result.code !== 0) {
      throw new Error(`orch ${args.join(' ')} failed (${result.code}): ${result.stderr}\n${result.stdout}`);
    }
    return result.stdout;
  }

  function running(serviceId: string, onNode?: number): Promise<string[]> {
    const labels = [`orch.service.id=${serviceId}`];
    if (onNode !== undefined) labels.push(`orch.node.id=${cluster.nodeId(onNode)}`);
    return containersWithLabels(labels, false);
  }

  it('runs one task of a global service on every node', async () => {
    const create = await cluster.orch(
      1,
      'service',
      'create',
      '--name',
      'ticker',
      '--mode',
      'global',
      '--pull',
      'never',
      '--stop-grace-period',
      '1s',
      TEST_IMAGE,
      'sh',
      '-c',
      TICKER_SCRIPT,
    );
    expect(create.stderr).toBe('');
    expect(create.code).toBe(0);
    tickerId = create.stdout.split('\n')[0]!.trim();
    expect(create.stdout).toContain('overall progress: 3 out of 3 tasks');
    expect(create.stdout).toMatch(/^verify: Service converged$/m);
    for (const n of [1, 2, 3]) expect(await running(tickerId, n)).toHaveLength(1);
    expect(await orchOk(1, 'service', 'ls')).toMatch(/^\S+\s+ticker\s+global\s+3\/3\s/m);
  });

  it('leaves a task pending with the reason when no node satisfies a constraint; create says why and exits 1', async () => {
    const create = await unsatisfiable;
    expect(create.code).toBe(1);
    expect(create.stdout).toContain('overall progress: 0 out of 1 tasks');
    expect(create.stderr.trim().split('\n')).toHaveLength(1);
    expect(create.stderr).toMatch(
      /^orch: service nowhere can't converge: task nowhere\.1 is pending: no suitable node \(.*constraint.*\)$/m,
    );
    const serviceId = create.stdout.split('\n')[0]!.trim();

    const rows = parseTaskTable(await orchOk(1, 'service', 'ps', '--no-trunc', 'nowhere'));
    expect(rows).toHaveLength(1);
    expect(rows[0]!.NAME).toBe('nowhere.1');
    expect(rows[0]!.NODE).toBe('');
    expect(rows[0]!['DESIRED STATE']).toBe('Running');
    expect(rows[0]!['CURRENT STATE']).toMatch(/^Pending /);
    expect(rows[0]!.ERROR).toMatch(/^"no suitable node \(.*constraint.*\)"$/);
    expect(await containersWithLabels([`orch.service.id=${serviceId}`])).toEqual([]);
    await orchOk(1, 'service', 'rm', 'nowhere');
  });

  /** The numbered lines of `service logs ARGS ticker` on node n, by prefix (task and node). */
  async function tickerLogs(n: number, ...args: string[]): Promise<Map<string, number[]>> {
    const logs = await cluster.orch(n, 'service', 'logs', ...args, 'ticker');
    if (logs.code !== 0) throw new Error(`service logs failed: ${logs.stderr}`);
    const perTask = new Map<string, number[]>();
    for (const line of logs.stdout.split('\n').filter((l) => l !== '')) {
      const match = LOG_LINE.exec(line);
      if (!match) throw new Error(`not a service log line: ${JSON.stringify(line)}`);
      perTask.set(match[1]!, [...(perTask.get(match[1]!) ?? []), Number(match[2])]);
    }
    return perTask;
  }

  /** `service logs --tail 2` on node n: the last two lines of each of the three tasks, prefixed like docker's. */
  async function expectTailedLogs(n: number): Promise<void> {
    const everyTaskHasLines = async () => {
      const perTask = await tickerLogs(n, '--tail', '3');
      return perTask.size === 3 && [...perTask.values()].every((lines) => lines.length === 3);
    };
    await waitUntil(everyTaskHasLines, {
      what: 'three lines from each of the three tasks',
      intervalMs: 200,
      timeoutMs: CONVERGE_MS,
    });
    const perTask = await tickerLogs(n, '--tail', '2');
    const tasks = currentTasks(parseTaskTable(await orchOk(1, 'service', 'ps', '--no-trunc', 'ticker')));
    expect(perTask.size).toBe(3);
    for (const task of tasks) {
      // ticker.<node ID>.<task ID>@<hostname>, as docker prints a global service's lines.
      const prefix = [...perTask.keys()].find((p) => p.includes(`.${task.ID.slice(0, 12)}@`));
      expect(prefix).toBeDefined();
      const numbers = perTask.get(prefix!)!;
      expect(numbers).toHaveLength(2);
      expect(numbers[1]).toBe(numbers[0]! + 1);
    }
  }

  /** `service logs -f` on node n prints lines written after it started, and stops on Ctrl-C. */
  async function expectFollowedLogs(n: number): Promise<void> {
    const newest = Math.max(...[...(await tickerLogs(n, '--tail', '1')).values()].flat());
    const follow = cluster.spawnOrch(n, 'service', 'logs', '-f', '--tail', '1', 'ticker');
    try {
      await follow.waitForLine((line) => Number(LOG_LINE.exec(line)?.[2] ?? 0) > newest + 5, 15_000);
      follow.signal('SIGINT');
      expect((await follow.exited).code).toBe(0);
    } finally {
      await follow.kill();
    }
  }

  it('shows service logs prefixed with task and node, the last N lines with --tail', async () => {
    await expectTailedLogs(1);
  });

  it('follows service logs with -f until interrupted', async () => {
    await expectFollowedLogs(1);
  });

  // Agents publish logs to the leader's dispatcher only; a follower's Control API reads them through
  // the leader (leaderLogSource).
  it('shows and follows service logs on a manager that is not the leader', async () => {
    expect((await cluster.info(2)).isLeader).toBe(false);
    await expectTailedLogs(2);
    await expectFollowedLogs(2);
  });

  it('starts a task of the global service on a node that joins', async () => {
    const joined = await cluster.join(4, await cluster.token('worker', 1), 1);
    if (joined.code !== 0) throw new Error(`join of node 4 failed: ${joined.stderr}\n${cluster.log(4)}`);
    await waitUntil(async () => (await running(tickerId, 4)).length === 1, {
      what: 'a ticker task on the new node',
      timeoutMs: CONVERGE_MS,
    });
    await waitUntil(async () => /^\S+\s+ticker\s+global\s+4\/4\s/m.test(await orchOk(1, 'service', 'ls')), {
      what: 'ticker 4/4',
      timeoutMs: CONVERGE_MS,
    });
  });

  it('shuts down the task of a drained node', async () => {
    const node = cluster.nodeId(3);
    await orchOk(1, 'node', 'update', '--availability', 'drain', node);
    await waitUntil(async () => (await running(tickerId, 3)).length === 0, {
      what: 'no ticker task running on the drained node',
      timeoutMs: CONVERGE_MS,
    });
    const onNode = parseTaskTable(await orchOk(1, 'node', 'ps', '--no-trunc', node));
    expect(onNode.every((t) => t['DESIRED STATE'] === 'Shutdown')).toBe(true);
    expect(await orchOk(1, 'service', 'ls')).toMatch(/^\S+\s+ticker\s+global\s+3\/3\s/m);
  });

  it('drops the task of a node removed from the cluster', async () => {
    const node = cluster.nodeId(4);
    expect(await orchOk(1, 'node', 'rm', '--force', node)).toBe(`${node}\n`);
    await waitUntil(
      async () => {
        const rows = parseTaskTable(
          await orchOk(1, 'service', 'ps', '--no-trunc', '-f', 'desired-state=running', 'ticker'),
        );
        return rows.length === 2 && rows.every((t) => t['CURRENT STATE'].startsWith('Running'));
      },
      { what: 'ticker running on the two remaining active nodes only', timeoutMs: CONVERGE_MS },
    );
    expect(await orchOk(1, 'service', 'ls')).toMatch(/^\S+\s+ticker\s+global\s+2\/2\s/m);
  });

  it('removes the global service and the containers of its tasks on the nodes of the cluster', async () => {
    await orchOk(2, 'service', 'rm', 'ticker');
    // Node 4 was removed: it no longer hears from the cluster, and its container is the harness's
    // to clean up (as a force-removed Swarm node keeps its containers).
    for (const n of [1, 2, 3]) {
      const labels = [`orch.service.id=${tickerId}`, `orch.node.id=${cluster.nodeId(n)}`];
      await waitUntil(async () => (await containersWithLabels(labels)).length === 0, {
        what: `no ticker container left on node ${n}`,
        timeoutMs: CONVERGE_MS,
      });
    }
  });
});
