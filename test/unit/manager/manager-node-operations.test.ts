import { silentLogger } from '../../../src/common/logger';
import {
  demoteNodeInStore,
  promoteNodeInStore,
  removeNodeFromStore,
} from '../../../src/manager/manager-node-operations';
import type { NodeInput } from '../../../src/store';
import { LocalProposer, MemoryStore } from '../../../src/store';

function manager(id: string, n: number, reachable: boolean): NodeInput {
  return {
    meta: { id },
    spec: { desiredRole: 'NODE_ROLE_MANAGER', availability: 'NODE_AVAILABILITY_ACTIVE' },
    role: 'NODE_ROLE_MANAGER',
    status: { state: reachable ? 'NODE_STATE_READY' : 'NODE_STATE_DOWN', addr: `127.0.0.${n}:4242` },
    managerStatus: { raftId: id, addr: `127.0.0.${n}:4242`, reachable, leader: n === 1 },
  };
}

function worker(id: string, n: number, state: 'NODE_STATE_READY' | 'NODE_STATE_DOWN'): NodeInput {
  return {
    meta: { id },
    spec: { desiredRole: 'NODE_ROLE_WORKER', availability: 'NODE_AVAILABILITY_ACTIVE' },
    role: 'NODE_ROLE_WORKER',
    status: { state, addr: `127.0.0.${n}:4242` },
  };
}

describe('membership operations in the store', () => {
  let store: MemoryStore;
  const ctx = () => ({ store, selfId: 'm1', logger: silentLogger() });

  beforeEach(async () => {
    store = new MemoryStore({
      proposer: new LocalProposer().attach({ applyCommitted: (d, i) => store.applyCommitted(d, i) }),
    });
    await store.update((tx) => {
      tx.clusters.create({ meta: { id: 'c1' }, spec: { name: 'default' } });
      tx.nodes.create(manager('m1', 1, true));
      tx.nodes.create(manager('m2', 2, true));
      tx.nodes.create(manager('m3', 3, false));
      tx.nodes.create(worker('w1', 4, 'NODE_STATE_READY'));
      tx.nodes.create(worker('w2', 5, 'NODE_STATE_DOWN'));
    });
  });

  afterEach(() => store.close());

  const get = (id: string) => store.view((tx) => tx.nodes.get(id));

  it('promote sets the desired role and the manager address (Raft shares the node port)', async () => {
    await promoteNodeInStore(ctx(), 'w1', {});
    expect(get('w1')?.spec?.desiredRole).toBe('NODE_ROLE_MANAGER');
    expect(get('w1')?.managerStatus).toMatchObject({
      raftId: 'w1',
      addr: '127.0.0.4:4242',
      reachable: false,
    });
  });

  it('demote refuses what would cost the remaining managers their quorum', async () => {
    // m3 is unreachable: demoting m2 leaves m1 and m3, and only m1 answers.
    await expect(demoteNodeInStore(ctx(), 'm2', {})).rejects.toThrow(
      'demoting m2 would leave the cluster without quorum: only 1 of the 2 remaining managers are reachable',
    );
    expect(get('m2')?.spec?.desiredRole).toBe('NODE_ROLE_MANAGER');
    await demoteNodeInStore(ctx(), 'm3', {});
    expect(get('m3')?.spec?.desiredRole).toBe('NODE_ROLE_WORKER');
  });

  it('demote refuses the last manager', async () => {
    await demoteNodeInStore(ctx(), 'm3', {});
    await demoteNodeInStore(ctx(), 'm2', {});
    await expect(demoteNodeInStore(ctx(), 'm1', {})).rejects.toThrow(
      'node m1 is the last manager of the cluster; it cannot be demoted',
    );
  });

  it('remove refuses a manager and a ready node without --force, and revokes the removed one', async () => {
    await expect(removeNodeFromStore(ctx(), 'm2', {})).rejects.toThrow(/is a manager .* demote it/);
    await expect(removeNodeFromStore(ctx(), 'w1', {})).rejects.toThrow(
      "node w1 is not down and can't be removed; stop it first, or use --force",
    );
    await removeNodeFromStore(ctx(), 'w2', {});
    await removeNodeFromStore(ctx(), 'w1', { force: true });
    expect(get('w1')).toBeUndefined();
    const removed = store.view((tx) => tx.clusters.get('c1')?.removedNodes.map((r) => r.nodeId));
    expect(removed).toEqual(['w2', 'w1']);
  });

  it('names an unknown node', async () => {
    await expect(promoteNodeInStore(ctx(), 'nope', {})).rejects.toThrow(
      'node nope is not part of this cluster',
    );
  });
});
