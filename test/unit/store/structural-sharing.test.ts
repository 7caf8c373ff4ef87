import { shareEqual } from '../../../src/store/structural-sharing';
import { localStore, service, task } from './helpers';

const frozen = <T>(value: T): T => {
  if (typeof value === 'object' && value !== null && !(value instanceof Uint8Array)) {
    for (const v of Object.values(value)) frozen(v);
    Object.freeze(value);
  }
  return value;
};

describe('structural sharing', () => {
  it('returns the previous object when everything is equal', () => {
    const previous = frozen({ a: 1, b: { c: ['x', 'y'] }, m: { k: 'v' } });
    expect(shareEqual({ a: 1, b: { c: ['x', 'y'] }, m: { k: 'v' } }, previous)).toBe(previous);
  });

  it('keeps changed parts and reuses unchanged ones', () => {
    const previous = frozen({ a: 1, b: { c: ['x', 'y'] }, d: { e: 2 } });
    const next = shareEqual({ a: 1, b: { c: ['x', 'y'] }, d: { e: 3 } }, previous);
    expect(next).not.toBe(previous);
    expect(next.b).toBe(previous.b);
    expect(next.d).toEqual({ e: 3 });
  });

  it('treats extra or missing keys, longer arrays and different bytes as changes', () => {
    const previous = frozen({ labels: { a: '1' }, list: [1, 2], data: Buffer.from('ab') });
    const next = shareEqual(
      { labels: { a: '1', b: '2' }, list: [1, 2, 3], data: Buffer.from('ac') },
      previous,
    );
    expect(next.labels).toEqual({ a: '1', b: '2' });
    expect(next.list).toEqual([1, 2, 3]);
    expect(next.data.toString()).toBe('ac');
    const fewer = shareEqual({ labels: {}, list: [1], data: Buffer.from('ab') }, previous);
    expect(fewer.labels).toEqual({});
    expect(fewer.list).toEqual([1]);
    expect(fewer.data).toBe(previous.data);
  });

  it('shares a new task spec with its service and an unchanged spec across task versions', async () => {
    const { store } = localStore();
    const svc = await store.update((tx) => tx.services.create(service('web', { meta: { id: 'web' } })));
    await store.update((tx) => tx.tasks.create(task('web', 1, { meta: { id: 't1' }, spec: svc.spec })));
    const [storedService, v1] = store.view((tx) => [tx.services.get('web')!, tx.tasks.get('t1')!] as const);
    expect(v1.spec).toBe(storedService.spec);

    await store.update((tx) =>
      tx.tasks.update({ ...v1, status: { ...v1.status!, state: 'TASK_STATE_RUNNING' } }),
    );
    const v2 = store.view((tx) => tx.tasks.get('t1')!);
    expect(v2.spec).toBe(v1.spec);
    expect(v2.status).not.toBe(v1.status);
    expect(v1.status!.state).toBe('TASK_STATE_NEW'); // the old version is untouched
    expect(Object.isFrozen(v2.status)).toBe(true);
  });

  it('shares task specs with their services again after a restore', async () => {
    const { store } = localStore();
    const svc = await store.update((tx) => tx.services.create(service('web', { meta: { id: 'web' } })));
    await store.update((tx) => {
      tx.tasks.create(task('web', 1, { meta: { id: 't1' }, spec: svc.spec }));
      tx.tasks.create(task('web', 2, { meta: { id: 't2' }, spec: svc.spec }));
    });
    const { store: restored } = localStore();
    restored.restore(store.snapshot());
    restored.view((tx) => {
      expect(tx.tasks.get('t1')!.spec).toBe(tx.services.get('web')!.spec);
      expect(tx.tasks.get('t2')!.spec).toBe(tx.services.get('web')!.spec);
    });
  });
});
