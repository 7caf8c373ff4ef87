import { LocalProposer, MemoryStore } from '../../../src/store';
import { task } from './helpers';

function batchStore(maxChangesPerBatchTransaction: number): { store: MemoryStore; proposer: LocalProposer } {
  const proposer = new LocalProposer();
  const store = new MemoryStore({ proposer, maxChangesPerBatchTransaction });
  proposer.attach(store);
  return { store, proposer };
}

describe('store batch', () => {
  it('splits a large write-back into transactions under the change limit', async () => {
    const { store, proposer } = batchStore(100);
    await store.batch(async (batch) => {
      for (let i = 0; i < 1050; i++) await batch.update((tx) => tx.tasks.create(task('svc', i)));
    });
    expect(store.view((tx) => tx.tasks.count())).toBe(1050);
    expect(proposer.index).toBe(11); // 10 full transactions of 100, then the last 50
    const versions = new Set(store.view((tx) => tx.tasks.list().map((t) => t.meta!.version)));
    expect([...versions].sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
  });

  it('splits by encoded size as well as by count', async () => {
    const proposer = new LocalProposer();
    const store = new MemoryStore({
      proposer,
      maxTransactionBytes: 30_000,
      maxChangesPerBatchTransaction: 10_000,
    });
    proposer.attach(store);
    const big = 'x'.repeat(1000);
    await store.batch(async (batch) => {
      for (let i = 0; i < 100; i++)
        await batch.update((tx) => tx.configs.create({ spec: { name: `c${i}`, data: Buffer.from(big) } }));
    });
    expect(store.view((tx) => tx.configs.count())).toBe(100);
    expect(proposer.index).toBeGreaterThanOrEqual(5); // ~100 KB in entries of at most 20 KB
  });

  it('lets later units read what earlier units wrote, flushed or not', async () => {
    const { store } = batchStore(3);
    await store.batch(async (batch) => {
      for (let i = 0; i < 10; i++) {
        await batch.update((tx) => {
          const previous = tx.tasks.get(`t${i - 1}`);
          tx.tasks.create(
            task('svc', i, { meta: { id: `t${i}` }, nodeId: previous ? `after-${previous.slot}` : 'first' }),
          );
        });
      }
    });
    expect(store.view((tx) => tx.tasks.get('t9')!.nodeId)).toBe('after-8');
  });

  it('drops only the unit whose callback throws', async () => {
    const { store } = batchStore(200);
    const failures: string[] = [];
    await store.batch(async (batch) => {
      for (let i = 0; i < 5; i++) {
        try {
          await batch.update((tx) => {
            tx.tasks.create(task('svc', i, { meta: { id: `t${i}` } }));
            if (i === 2) throw new Error(`unit ${i} failed`);
          });
        } catch (err) {
          failures.push((err as Error).message);
        }
      }
    });
    expect(failures).toEqual(['unit 2 failed']);
    expect(store.view((tx) => tx.tasks.list().map((t) => t.meta!.id))).toEqual(['t0', 't1', 't3', 't4']);
  });

  it('rejects when a transaction of the batch is refused, keeping the ones already committed', async () => {
    const { store } = batchStore(2);
    await store.update((tx) => tx.tasks.create(task('svc', 0, { meta: { id: 'existing' } })));
    const attempt = store.batch(async (batch) => {
      await batch.update((tx) => tx.tasks.create(task('svc', 1, { meta: { id: 'a' } })));
      await batch.update((tx) => tx.tasks.create(task('svc', 2, { meta: { id: 'b' } })));
      await batch.update((tx) => tx.tasks.delete('existing'));
      // Someone else deletes it before this batch's next transaction applies.
      await store.update((tx) => tx.tasks.delete('existing'));
      await batch.update((tx) => tx.tasks.create(task('svc', 3, { meta: { id: 'c' } })));
    });
    await expect(attempt).rejects.toThrow('task existing not found');
    expect(
      store.view((tx) =>
        tx.tasks
          .list()
          .map((t) => t.meta!.id)
          .sort(),
      ),
    ).toEqual(['a', 'b']);
  });
});
