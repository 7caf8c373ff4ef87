import {
  CorruptEntryError,
  LocalProposer,
  MemoryStore,
  ProposalOutcomeUnknownError,
  type StoreEvent,
} from '../../../src/store';
import { flushPromises, localStore, QueuedProposer, service, task } from './helpers';

async function populate(store: MemoryStore): Promise<void> {
  await store.update((tx) => {
    tx.clusters.create({
      meta: { id: 'cluster' },
      spec: { name: 'default', dispatcher: { heartbeatPeriodMs: 5000 } },
      rootCaCertPem: '-----BEGIN CERTIFICATE-----',
      rootCaKeyPem: Buffer.from('key'),
      workerTokenSecretHash: 'sha256:abc',
    });
    tx.nodes.create({ meta: { id: 'n1' }, role: 'NODE_ROLE_MANAGER', spec: { labels: { zone: 'a' } } });
    tx.services.create(service('web', { meta: { id: 'web' } }));
    tx.tasks.create(task('web', 1, { meta: { id: 't1' }, nodeId: 'n1' }));
    tx.networks.create({ spec: { name: 'ingress', ingress: true, ipam: [{ subnet: '10.0.0.0/24' }] } });
    tx.secrets.create({ spec: { name: 'pw', data: Buffer.from('hunter2') } });
    tx.configs.create({ spec: { name: 'conf', data: Buffer.from('x=1'), labels: { b: '2', a: '1' } } });
  });
  await store.update((tx) =>
    tx.tasks.update({ ...tx.tasks.get('t1')!, desiredState: 'TASK_STATE_SHUTDOWN' }),
  );
}

describe('store snapshots', () => {
  it('round-trips every table, the indexes and the applied index', async () => {
    const { store } = localStore();
    await populate(store);
    const data = store.snapshot();

    const restored = new MemoryStore({ proposer: new LocalProposer() });
    restored.restore(data);
    expect(restored.appliedIndex).toBe(2);
    expect(Buffer.from(restored.snapshot()).equals(Buffer.from(data))).toBe(true);
    restored.view((tx) => {
      expect(tx.clusters.getByName('default')!.rootCaKeyPem.toString()).toBe('key');
      expect(tx.secrets.getByName('PW')!.spec!.data.toString()).toBe('hunter2');
      expect(tx.tasks.findByDesiredState('TASK_STATE_SHUTDOWN').map((t) => t.meta!.id)).toEqual(['t1']);
      expect(tx.tasks.findBySlot('web', 1)).toHaveLength(1);
      expect(tx.nodes.findByRole('NODE_ROLE_MANAGER')[0]!.meta).toEqual(
        store.view((v) => v.nodes.get('n1')!.meta),
      );
      expect(Object.isFrozen(tx.services.get('web'))).toBe(true);
    });
  });

  it('lets a restored manager continue from the log and end identical to one that applied it all', async () => {
    const proposer = new LocalProposer();
    const leader = new MemoryStore({ proposer, clock: () => 7 });
    proposer.attach(leader);
    await populate(leader);
    const late = new MemoryStore({ proposer: new LocalProposer() });
    late.restore(leader.snapshot());
    proposer.attach(late);
    await leader.update((tx) => {
      tx.tasks.create(task('web', 2, { meta: { id: 't2' } }));
      tx.secrets.delete(tx.secrets.getByName('pw')!.meta!.id);
    });
    expect(Buffer.from(late.snapshot()).equals(Buffer.from(leader.snapshot()))).toBe(true);
  });

  it('tells watchers the store was restored and fails proposals in flight', async () => {
    const log = new QueuedProposer();
    const store = new MemoryStore({ proposer: log });
    const events: StoreEvent[] = [];
    store.subscribe((e) => events.push(e));
    const inFlight = store.update((tx) => tx.tasks.create(task('web', 9)));
    await flushPromises();

    const { store: source } = localStore();
    await populate(source);
    store.restore(source.snapshot());
    await expect(inFlight).rejects.toThrow(ProposalOutcomeUnknownError);
    expect(events).toEqual([{ type: 'restored', index: 2 }]);
    expect(store.view((tx) => tx.tasks.count())).toBe(1);
  });

  it('refuses a corrupt snapshot and keeps the current state', async () => {
    const { store } = localStore();
    await populate(store);
    const before = store.snapshot();
    expect(() => store.restore(Uint8Array.from([1, 2, 3, 4, 5]))).toThrow(CorruptEntryError);
    expect(Buffer.from(store.snapshot()).equals(Buffer.from(before))).toBe(true);
  });
});
