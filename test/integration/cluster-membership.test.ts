// Removing a dead manager frees its Raft slot: after `orch node rm --force` of a killed manager and
// the join of a new one, the cluster has three voters again, so it survives one more manager down.
// Had the dead manager kept its slot, two of four voters would be gone and writes would stop.
import type { ServiceSpec } from '../../src/api';
import { OrchCluster } from './cluster-harness';
import { waitUntil } from './support/wait';

jest.setTimeout(120_000);

function spec(name: string): ServiceSpec {
  return {
    name,
    container: { image: 'busybox:local', command: ['sleep', '1000'] },
    replicated: { replicas: 0 },
  };
}

describe('manager removal', () => {
  const cluster = new OrchCluster();

  afterAll(() => cluster.close());

  it('node rm --force of a dead manager frees its Raft slot for a new manager', async () => {
    const init = await cluster.init(1, '--heartbeat-period', '1s');
    if (init.code !== 0) throw new Error(`init failed: ${init.stderr}`);
    const managerToken = await cluster.token('manager', 1);
    for (const n of [2, 3]) {
      const joined = await cluster.join(n, managerToken, 1);
      if (joined.code !== 0) throw new Error(`join of node ${n} failed: ${joined.stderr}`);
    }
    await waitUntil(async () => (await cluster.info(1)).cluster?.reachableManagers === 3, {
      what: 'three reachable managers',
    });
    const dead = (await cluster.info(3)).nodeId;

    cluster.kill9(3);
    await waitUntil(async () => (await cluster.orch(1, 'node', 'ls')).stdout.includes('Unreachable'), {
      what: 'the killed manager to be Unreachable',
      timeoutMs: 20_000,
    });
    const removed = await cluster.orch(1, 'node', 'rm', '--force', dead);
    expect(removed.stderr).toBe('');
    expect(removed.code).toBe(0);

    const joined = await cluster.join(4, managerToken, 1);
    if (joined.code !== 0) throw new Error(`join of node 4 failed: ${joined.stderr}`);
    await waitUntil(async () => (await cluster.info(4)).raftMembership === 'voter', {
      what: 'the new manager to become a voter',
      timeoutMs: 30_000,
    });

    cluster.kill9(2);
    const client = cluster.control(1);
    try {
      await waitUntil(
        async () => {
          try {
            await client.createService(spec('after-removal'), { timeoutMs: 3000 });
            return true;
          } catch {
            return false;
          }
        },
        { what: 'a write with two of three voters up', timeoutMs: 30_000, intervalMs: 500 },
      );
      const names = (await client.listServices()).services.map((s) => s.spec?.name);
      expect(names).toContain('after-removal');
    } finally {
      client.close();
    }
  });
});
