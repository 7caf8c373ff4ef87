import * as grpc from '@grpc/grpc-js';
import type { ControlCallError } from '../../../src/cli/control-client';
import { addNodes, type ControlFixture, nodeInput, startControl } from './control-fixture';

async function failure(promise: Promise<unknown>): Promise<ControlCallError> {
  try {
    await promise;
  } catch (err) {
    return err as ControlCallError;
  }
  throw new Error('expected the call to fail');
}

describe('Control API: nodes', () => {
  let f: ControlFixture;

  beforeEach(async () => {
    f = await startControl();
    await addNodes(f.store, [
      nodeInput('manager1aaaa', 'alpha', { role: 'manager', leader: true }),
      nodeInput('worker1bbbb', 'beta'),
      nodeInput('worker2bbcc', 'gamma', { state: 'NODE_STATE_DOWN' }),
    ]);
  });

  afterEach(async () => {
    await f?.close();
  });

  it('lists nodes sorted by hostname and filters them by role', async () => {
    const all = await f.client.listNodes();
    expect(all.map((n) => n.description?.hostname)).toEqual(['alpha', 'beta', 'gamma']);
    const managers = await f.client.listNodes({ filters: { roles: ['NODE_ROLE_MANAGER'] } });
    expect(managers.map((n) => n.meta?.id)).toEqual(['manager1aaaa']);
  });

  it('finds a node by full ID, hostname or unique ID prefix, and names the candidates of an ambiguous prefix', async () => {
    expect((await f.client.getNode('worker1bbbb')).description?.hostname).toBe('beta');
    expect((await f.client.getNode('gamma')).meta?.id).toBe('worker2bbcc');
    expect((await f.client.getNode('worker1')).meta?.id).toBe('worker1bbbb');
    const err = await failure(f.client.getNode('worker'));
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(err.message).toBe(
      'node reference "worker" is ambiguous: it matches 2 nodes (worker1bbbb, worker2bbcc); use a longer ID',
    );
    const missing = await failure(f.client.getNode('nope'));
    expect(missing.code).toBe(grpc.status.NOT_FOUND);
    expect(missing.message).toBe('no such node: nope');
  });

  it('reads through a Raft read barrier only when asked for a linearizable read', async () => {
    await f.client.getNode('beta');
    expect(f.ops.readBarriers).toBe(0);
    await f.client.getNode('beta', { linearizable: true });
    expect(f.ops.readBarriers).toBe(1);
  });

  it('drains a node and adds labels at the version it was read at', async () => {
    const node = await f.client.getNode('beta');
    const updated = await f.client.updateNode('beta', node.meta!.version, {
      ...node.spec!,
      availability: 'NODE_AVAILABILITY_DRAIN',
      labels: { zone: 'a' },
    });
    expect(updated.spec).toMatchObject({ availability: 'NODE_AVAILABILITY_DRAIN', labels: { zone: 'a' } });
    expect(updated.meta!.version).toBeGreaterThan(node.meta!.version);
  });

  it('refuses an update made from a stale read with ABORTED and changes nothing', async () => {
    const node = await f.client.getNode('beta');
    await f.client.updateNode('beta', node.meta!.version, {
      ...node.spec!,
      availability: 'NODE_AVAILABILITY_PAUSE',
    });
    const err = await failure(
      f.client.updateNode('beta', node.meta!.version, {
        ...node.spec!,
        availability: 'NODE_AVAILABILITY_DRAIN',
      }),
    );
    expect(err.code).toBe(grpc.status.ABORTED);
    expect(err.message).toMatch(/^node worker1bbbb: update out of sequence/);
    expect((await f.client.getNode('beta')).spec?.availability).toBe('NODE_AVAILABILITY_PAUSE');
  });

  it('refuses a role change through update: that is what promote and demote are for', async () => {
    const node = await f.client.getNode('beta');
    const err = await failure(
      f.client.updateNode('beta', node.meta!.version, { ...node.spec!, desiredRole: 'NODE_ROLE_MANAGER' }),
    );
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(err.message).toBe(
      "spec.desiredRole: the role changes only with 'orch node promote' or 'orch node demote'",
    );
  });

  it('refuses to remove a node that is not down unless forced, like docker', async () => {
    const before = f.store.appliedIndex;
    const err = await failure(f.client.removeNode('beta', false));
    expect(err.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(err.message).toBe("node worker1bbbb is not down and can't be removed; use --force");
    expect(f.store.appliedIndex).toBe(before);
    await f.client.removeNode('beta', true);
    expect((await f.client.listNodes()).map((n) => n.meta?.id)).not.toContain('worker1bbbb');
  });

  it('removes a down worker and revokes its certificate in the cluster object', async () => {
    await f.store.update((tx) => tx.clusters.create({ meta: { id: 'c1' }, spec: { name: 'default' } }));
    await f.client.removeNode('gamma', false);
    const cluster = f.store.view((tx) => tx.clusters.getByName('default'));
    expect(cluster?.removedNodes.map((r) => r.nodeId)).toEqual(['worker2bbcc']);
    expect(f.ops.removedMembers).toEqual([]);
  });

  it('removes a manager only with force, taking it out of Raft first', async () => {
    await addNodes(f.store, [
      nodeInput('manager2dddd', 'delta', { role: 'manager' }),
      nodeInput('manager3eeee', 'eps', { role: 'manager' }),
    ]);
    const err = await failure(f.client.removeNode('delta', false));
    expect(err.message).toBe(
      "node manager2dddd is a cluster manager and a member of the Raft cluster: demote it first ('orch node demote manager2dddd') or use --force",
    );
    await f.client.removeNode('delta', true);
    expect(f.ops.removedMembers).toEqual(['manager2dddd']);
  });

  it('records a promotion as the desired role and refuses to demote the last manager', async () => {
    const promoted = await f.client.promoteNode('beta');
    expect(promoted.spec?.desiredRole).toBe('NODE_ROLE_MANAGER');
    const err = await failure(f.client.demoteNode('alpha'));
    expect(err.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(err.message).toBe(
      "node manager1aaaa is the last manager of the cluster and can't be demoted: promote another node first",
    );
  });

  it('refuses a demotion that would leave the other managers without a quorum', async () => {
    await addNodes(f.store, [
      nodeInput('manager2dddd', 'delta', { role: 'manager', reachable: false }),
      nodeInput('manager3eeee', 'eps', { role: 'manager', reachable: false }),
    ]);
    const err = await failure(f.client.demoteNode('alpha'));
    expect(err.message).toBe(
      "can't demote node manager1aaaa: the other managers would lose their quorum (0 of 2 reachable, 2 needed)",
    );
    expect(f.store.view((tx) => tx.nodes.get('manager1aaaa'))?.spec?.desiredRole).toBe('NODE_ROLE_MANAGER');
  });
});
