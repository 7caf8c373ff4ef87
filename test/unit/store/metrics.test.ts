import { Registry } from 'prom-client';
import { MemoryStore, NotFoundError, registerStoreMetrics, VersionConflictError } from '../../../src/store';
import { flushPromises, localStore, QueuedProposer, service, task } from './helpers';

describe('store metrics', () => {
  it('reports the applied index, objects per table, transactions and overflowed watchers on scrape', async () => {
    const { store } = localStore();
    const registry = new Registry();
    registerStoreMetrics(registry, store);

    const svc = await store.update((tx) => tx.services.create(service('web')));
    await store.update((tx) => {
      tx.tasks.create(task(svc.meta!.id, 1));
      tx.tasks.create(task(svc.meta!.id, 2));
    });
    const stale = store.view((tx) => tx.services.get(svc.meta!.id)!);
    await store.update((tx) => tx.services.update(stale));
    // Refused by the transaction itself, before anything is proposed: not an update that failed.
    await expect(store.update((tx) => tx.services.update(stale))).rejects.toThrow(VersionConflictError);
    const watcher = store.watch({ maxQueuedEvents: 1 });
    await store.update((tx) => {
      tx.tasks.create(task(svc.meta!.id, 3));
      tx.tasks.create(task(svc.meta!.id, 4));
    });
    expect(watcher.isClosed).toBe(true);

    const text = await registry.metrics();
    expect(text).toContain('orch_store_applied_index 4');
    expect(text).toContain('orch_store_objects{table="tasks"} 4');
    expect(text).toContain('orch_store_objects{table="services"} 1');
    expect(text).toContain('orch_store_transactions_applied_total 4');
    expect(text).toContain('orch_store_updates_failed_total 0');
    expect(text).toContain('orch_store_watchers_overflowed_total 1');
    expect(text).toContain('orch_store_subscribers 0');
  });

  it('counts transactions refused at apply time, by error, on every manager', async () => {
    const log = new QueuedProposer();
    const a = new MemoryStore({ proposer: log });
    const b = new MemoryStore({ proposer: log });
    const created = a.update((tx) => tx.tasks.create(task('svc', 1, { meta: { id: 't1' } })));
    await flushPromises();
    log.commitAll([a, b]);
    await created;
    // Both managers' writers saw t1 and delete it; the second entry finds it gone.
    const fromA = a.update((tx) => tx.tasks.delete('t1'));
    const fromB = b.update((tx) => tx.tasks.delete('t1'));
    await flushPromises();
    log.commitAll([a, b]);
    await fromA;
    await expect(fromB).rejects.toThrow(NotFoundError);
    for (const store of [a, b]) {
      const registry = new Registry();
      registerStoreMetrics(registry, store);
      expect(await registry.metrics()).toContain(
        'orch_store_transactions_refused_total{error="NotFoundError"} 1',
      );
    }
    expect(a.stats().updatesFailed).toBe(0);
    expect(b.stats().updatesFailed).toBe(1);
  });
});
