// Worker liveness with real orch processes: a worker killed with SIGKILL is shown Down after its
// missed heartbeats and Ready again once `orch daemon` restarts it; a Down worker can be removed
// while a Ready one is only removed with --force.
import { OrchCluster } from './cluster-harness';
import { waitUntil } from './support/wait';

jest.setTimeout(90_000);

const HEARTBEAT_MS = 1000;

describe('worker liveness', () => {
  const cluster = new OrchCluster();
  const nodeIds = new Map<number, string>();

  afterAll(() => cluster.close());

  beforeAll(async () => {
    const init = await cluster.init(1, '--heartbeat-period', '1s');
    if (init.code !== 0) throw new Error(`init failed: ${init.stderr}`);
    const workerToken = await cluster.token('worker', 1);
    for (const n of [2, 3]) {
      const result = await cluster.join(n, workerToken, 1);
      if (result.code !== 0) throw new Error(`join of node ${n} failed: ${result.stderr}`);
      nodeIds.set(n, (await cluster.info(n)).nodeId);
    }
  });

  async function nodeState(nodeId: string): Promise<string | undefined> {
    const client = cluster.control(1);
    try {
      return (await client.listNodes()).find((node) => node.meta?.id === nodeId)?.status?.state;
    } finally {
      client.close();
    }
  }

  it('shows a killed worker Down after its missed heartbeats, and Ready again after orch daemon', async () => {
    const worker = nodeIds.get(2)!;
    await waitUntil(async () => (await nodeState(worker)) === 'NODE_STATE_READY', { what: 'worker ready' });

    cluster.kill9(2);
    const killedAt = Date.now();
    await waitUntil(async () => (await nodeState(worker)) === 'NODE_STATE_DOWN', {
      what: 'the killed worker to be Down',
      timeoutMs: 10 * HEARTBEAT_MS,
      intervalMs: 50,
    });
    // Measured, not asserted (shared machines are noisy): Down is due after 3 missed periods.
    process.stderr.write(
      `cluster-worker: Down ${Date.now() - killedAt} ms after SIGKILL (period ${HEARTBEAT_MS} ms)\n`,
    );

    const ls = await cluster.orch(1, 'node', 'ls');
    expect(ls.stdout).toMatch(new RegExp(`^${worker.slice(0, 12)}.*\\bDown\\b`, 'm'));

    await cluster.restart(2);
    await waitUntil(async () => (await nodeState(worker)) === 'NODE_STATE_READY', {
      what: 'the restarted worker to be Ready',
      timeoutMs: 20_000,
    });
  });

  it('removes a Down worker; refuses to remove a Ready one without --force', async () => {
    const worker = nodeIds.get(3)!;
    const refused = await cluster.orch(1, 'node', 'rm', worker);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr.trim().split('\n')).toHaveLength(1);
    expect(refused.stderr).toMatch(/--force/);

    cluster.kill9(3);
    await waitUntil(async () => (await nodeState(worker)) === 'NODE_STATE_DOWN', {
      what: 'worker 3 to be Down',
      timeoutMs: 10 * HEARTBEAT_MS,
    });
    const removed = await cluster.orch(1, 'node', 'rm', worker);
    expect(removed.code).toBe(0);
    expect(await nodeState(worker)).toBeUndefined();
  });
});
