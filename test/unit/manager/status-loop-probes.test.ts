// The leader's status loop probes what it uses: managers' reachability always, every node's only
// when it also decides node liveness (before the dispatcher's heartbeats take over).
import type { RaftNode } from '../../../raft/runtime';
import { silentLogger } from '../../../src/common/logger';
import { statusLoop } from '../../../src/manager/manager-membership';
import { LocalProposer, MemoryStore } from '../../../src/store';

function storeWithNodes(): MemoryStore {
  const proposer = new LocalProposer();
  const store = new MemoryStore({ proposer });
  proposer.attach(store);
  return store;
}

async function addNode(store: MemoryStore, id: string, role: 'manager' | 'worker', addr: string) {
  await store.update((tx) =>
    tx.nodes.create({
      meta: { id },
      role: role === 'manager' ? 'NODE_ROLE_MANAGER' : 'NODE_ROLE_WORKER',
      spec: { desiredRole: role === 'manager' ? 'NODE_ROLE_MANAGER' : 'NODE_ROLE_WORKER' },
      status: { state: 'NODE_STATE_READY', addr },
    }),
  );
}

/** A Raft node with voters m1 (this one) and m2, and nothing else the loop calls. */
function fakeRaft(): RaftNode {
  const members = new Map([
    ['m1', { meta: { nodeAddr: '127.0.0.1:4001' } }],
    ['m2', { meta: { nodeAddr: '127.0.0.1:4002' } }],
  ]);
  return {
    id: 'm1',
    memberList: () => members,
    status: () => ({ voters: ['m1', 'm2'] }),
  } as unknown as RaftNode;
}

async function onePass(nodeLiveness: boolean): Promise<{ probed: string[]; store: MemoryStore }> {
  const store = storeWithNodes();
  await addNode(store, 'm1', 'manager', '127.0.0.1:4001');
  await addNode(store, 'm2', 'manager', '127.0.0.1:4002');
  for (let i = 1; i <= 3; i++) await addNode(store, `w${i}`, 'worker', `127.0.0.1:500${i}`);
  const probed: string[] = [];
  const abort = new AbortController();
  const loop = statusLoop({
    store,
    raft: fakeRaft(),
    logger: silentLogger(),
    nodeLiveness,
    intervalMs: 60_000,
    probe: async (addr) => {
      probed.push(addr);
      return addr !== '127.0.0.1:5003';
    },
  });
  const running = loop.run(abort.signal);
  // One pass probes, writes what changed, then sleeps for the interval: stop it there.
  for (let i = 0; i < 100 && store.view((tx) => tx.nodes.get('m2')?.managerStatus) == null; i++)
    await new Promise((resolve) => setTimeout(resolve, 5));
  abort.abort();
  await running.catch(() => undefined);
  return { probed: probed.sort(), store };
}

describe('status loop probes', () => {
  it('probes only the other managers when the dispatcher decides node liveness', async () => {
    const { probed, store } = await onePass(false);
    expect(probed).toEqual(['127.0.0.1:4002']);
    const status = store.view((tx) => tx.nodes.get('m2')!.managerStatus!);
    expect(status).toMatchObject({ reachable: true, leader: false, addr: '127.0.0.1:4002' });
    // Workers keep the state the dispatcher gave them.
    expect(store.view((tx) => tx.nodes.get('w3')!.status!.state)).toBe('NODE_STATE_READY');
    store.close();
  });

  it('probes every node and marks the silent ones down when it decides node liveness itself', async () => {
    const { probed, store } = await onePass(true);
    expect(probed).toEqual(['127.0.0.1:4002', '127.0.0.1:5001', '127.0.0.1:5002', '127.0.0.1:5003']);
    expect(store.view((tx) => tx.nodes.get('w3')!.status!.state)).toBe('NODE_STATE_DOWN');
    expect(store.view((tx) => tx.nodes.get('w1')!.status!.state)).toBe('NODE_STATE_READY');
    store.close();
  });
});
