import { type ObjectEvent, type StoreEvent, WatcherOverflowError } from '../../../src/store';
import { localStore, service, task } from './helpers';

function describeEvent(e: StoreEvent): string {
  if (e.type === 'commit' || e.type === 'restored') return `${e.type}@${e.index}`;
  return `${e.type} ${e.table} ${e.object.meta!.id}@${e.index}`;
}

async function take(iterator: AsyncIterator<StoreEvent>, count: number): Promise<string[]> {
  const seen: string[] = [];
  while (seen.length < count) {
    const { value, done } = await iterator.next();
    if (done) break;
    seen.push(describeEvent(value));
  }
  return seen;
}

describe('store watch', () => {
  it('delivers every change in apply order with old and new objects, then a commit event', async () => {
    const { store } = localStore();
    const watcher = store.watch({ commits: true });
    await store.update((tx) => {
      tx.services.create(service('web', { meta: { id: 's1' } }));
      tx.tasks.create(task('s1', 1, { meta: { id: 't1' } }));
    });
    await store.update((tx) => tx.tasks.update({ ...tx.tasks.get('t1')!, nodeId: 'n1' }));
    await store.update((tx) => tx.tasks.delete('t1'));
    expect(await take(watcher, 7)).toEqual([
      'create services s1@1',
      'create tasks t1@1',
      'commit@1',
      'update tasks t1@2',
      'commit@2',
      'delete tasks t1@3',
      'commit@3',
    ]);
    watcher.close();
  });

  it('carries the previous object on updates and the last version on deletes', async () => {
    const { store } = localStore();
    const events: ObjectEvent[] = [];
    const subscription = store.subscribe((e) => {
      if (e.type !== 'commit' && e.type !== 'restored') events.push(e);
    });
    await store.update((tx) => tx.tasks.create(task('s1', 1, { meta: { id: 't1' } })));
    await store.update((tx) => tx.tasks.update({ ...tx.tasks.get('t1')!, nodeId: 'n1' }));
    await store.update((tx) => tx.tasks.delete('t1'));
    subscription.close();
    await store.update((tx) => tx.tasks.create(task('s1', 2)));
    expect(events.map((e) => [e.type, e.object.meta!.version, e.old?.meta?.version])).toEqual([
      ['create', 1, undefined],
      ['update', 2, 1],
      ['delete', 2, undefined],
    ]);
    const update = events[1]!;
    if (update.table !== 'tasks') throw new Error('expected a task event');
    expect([update.old!.nodeId, update.object.nodeId]).toEqual(['', 'n1']);
  });

  it('filters by table, change type and predicate', async () => {
    const { store } = localStore();
    const watcher = store.watch({
      tables: ['tasks'],
      types: ['update'],
      filter: (e) => e.object.nodeId === 'n1', // typed as a task event: tables narrows it
    });
    await store.update((tx) => {
      tx.services.create(service('web', { meta: { id: 's1' } }));
      tx.tasks.create(task('s1', 1, { meta: { id: 't1' } }));
      tx.tasks.create(task('s1', 2, { meta: { id: 't2' } }));
    });
    await store.update((tx) => {
      tx.tasks.update({ ...tx.tasks.get('t1')!, nodeId: 'n2' });
      tx.tasks.update({ ...tx.tasks.get('t2')!, nodeId: 'n1' });
    });
    await store.update((tx) => tx.services.update({ ...tx.services.get('s1')! }));
    watcher.close();
    const seen: string[] = [];
    for await (const event of watcher) seen.push(describeEvent(event));
    expect(seen).toEqual(['update tasks t2@2']);
  });

  it('viewAndWatch starts the watch exactly after the view: no gap, no duplicate', async () => {
    const { store } = localStore();
    // Start watching from inside a listener, in the middle of delivering an entry's events: the
    // view already holds that whole entry, so the watcher must not see the rest of it again.
    let started: { result: string[]; watcher: AsyncIterator<StoreEvent> } | undefined;
    let seen = 0;
    store.subscribe((e) => {
      if (e.type === 'create' && ++seen === 21 && started === undefined) {
        started = store.viewAndWatch((tx) => tx.tasks.list().map((t) => t.meta!.id));
      }
    });
    for (let i = 1; i <= 50; i++) {
      await store.update((tx) => {
        tx.tasks.create(task('s1', i, { meta: { id: `a${i}` } }));
        tx.tasks.create(task('s1', i, { meta: { id: `b${i}` } }));
      });
    }
    const { result, watcher } = started!;
    const watched: string[] = [];
    while (watched.length + result.length < 100) {
      const { value } = await watcher.next();
      if (value.type === 'create') watched.push(value.object.meta!.id);
    }
    await watcher.return!();
    expect(result).toHaveLength(22); // 11 entries of 2 tasks
    const all = [...result, ...watched];
    expect(new Set(all).size).toBe(100);
    expect(all).toHaveLength(100);
  });

  it('cuts off a watcher that falls too far behind, with an error, instead of buffering forever', async () => {
    const { store } = localStore();
    const slow = store.watch({ maxQueuedEvents: 10 });
    const fast = store.watch({ maxQueuedEvents: 10 });
    const drained: string[] = [];
    const reader = (async () => {
      for await (const e of fast) drained.push(describeEvent(e));
    })();
    for (let i = 0; i < 25; i++) {
      await store.update((tx) => tx.tasks.create(task('s1', i)));
      await new Promise((resolve) => setImmediate(resolve));
    }
    await expect(slow.next()).rejects.toThrow(WatcherOverflowError);
    await expect(slow.next()).resolves.toEqual({ value: undefined, done: true });
    expect(slow.isClosed).toBe(true);
    fast.close();
    await reader;
    expect(drained).toHaveLength(25);
  });

  it('ends the iteration when the signal aborts or the store closes', async () => {
    const { store } = localStore();
    const controller = new AbortController();
    const aborted = store.watch({ signal: controller.signal });
    const pending = aborted.next();
    controller.abort();
    await expect(pending).resolves.toEqual({ value: undefined, done: true });

    const untilClose = store.watch();
    const waiting = untilClose.next();
    store.close();
    await expect(waiting).resolves.toEqual({ value: undefined, done: true });
    await expect(store.update((tx) => tx.tasks.count())).rejects.toThrow('the store is closed');
  });

  it('keeps running when a listener throws', async () => {
    const { store } = localStore();
    store.subscribe(() => {
      throw new Error('listener bug');
    });
    const seen: string[] = [];
    store.subscribe((e) => seen.push(describeEvent(e)), { tables: ['tasks'] });
    await store.update((tx) => tx.tasks.create(task('s1', 1, { meta: { id: 't1' } })));
    expect(seen).toEqual(['create tasks t1@1']);
  });

  it('ends a watcher whose filter throws, with that error, and keeps applying', async () => {
    const { store } = localStore();
    const watcher = store.watch({
      filter: () => {
        throw new Error('filter bug');
      },
    });
    await store.update((tx) => tx.tasks.create(task('s1', 1)));
    await expect(watcher.next()).rejects.toThrow('filter bug');
    await store.update((tx) => tx.tasks.create(task('s1', 2)));
    expect(store.view((tx) => tx.tasks.count())).toBe(2);
  });

  it("types the events of a table-filtered subscription as that table's objects", async () => {
    const { store } = localStore();
    const nodes: string[] = [];
    store.subscribe(
      (e) => {
        if (e.type === 'create' || e.type === 'update') nodes.push(e.object.nodeId); // Task, no narrowing needed
      },
      { tables: ['tasks'] },
    );
    await store.update((tx) => {
      tx.services.create(service('web', { meta: { id: 's1' } }));
      tx.tasks.create(task('s1', 1, { nodeId: 'n7' }));
    });
    expect(nodes).toEqual(['n7']);
  });
});
