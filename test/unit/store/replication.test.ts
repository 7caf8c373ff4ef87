import {
  encodeEntry,
  LocalProposer,
  MemoryStore,
  NameConflictError,
  type Proposer,
  VersionConflictError,
} from '../../../src/store';
import { flushPromises, QueuedProposer, service, task } from './helpers';

/** A small deterministic PRNG (mulberry32) so the workload is the same on every run. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Random creates, updates and deletes over services and tasks, through `writer`. */
async function randomWorkload(writer: MemoryStore, steps: number, seed: number): Promise<void> {
  const random = prng(seed);
  for (let step = 0; step < steps; step++) {
    await writer.update((tx) => {
      const services = tx.services.list();
      const roll = random();
      if (services.length === 0 || roll < 0.2) {
        const s = tx.services.create(service(`svc-${step}`, { meta: { id: `s${step}` } }));
        tx.tasks.create(task(s.meta!.id, 1, { meta: { id: `t${step}` }, nodeId: `n${step % 7}` }));
      } else if (roll < 0.8) {
        const tasks = tx.tasks.list();
        if (tasks.length === 0) return;
        const t = tasks[Math.floor(random() * tasks.length)]!;
        tx.tasks.update({
          ...t,
          nodeId: `n${Math.floor(random() * 7)}`,
          status: { state: 'TASK_STATE_RUNNING' },
        });
      } else {
        const s = services[Math.floor(random() * services.length)]!;
        for (const t of tx.tasks.findByService(s.meta!.id)) tx.tasks.delete(t.meta!.id);
        tx.services.delete(s.meta!.id);
      }
    });
  }
}

describe('store replication', () => {
  it('ends byte-identical on every manager fed the same committed entries', async () => {
    let clock = 1_000;
    const proposer = new LocalProposer();
    const leader = new MemoryStore({ proposer, clock: () => clock++ });
    const follower = new MemoryStore({ proposer: new LocalProposer() }); // never proposes
    proposer.attach(leader).attach(follower);
    await randomWorkload(leader, 300, 42);

    expect(leader.appliedIndex).toBe(follower.appliedIndex);
    expect(Buffer.from(follower.snapshot()).equals(Buffer.from(leader.snapshot()))).toBe(true);
    expect(leader.view((tx) => tx.tasks.count())).toBeGreaterThan(0);
  });

  it('lets only the first of two racing proposals win, identically on every manager', async () => {
    // One log shared by two managers that both believe they may write (e.g. an old and a new leader).
    const log = new QueuedProposer();
    const a = new MemoryStore({ proposer: log, clock: () => 5 });
    const b = new MemoryStore({ proposer: log, clock: () => 5 });
    const seed = new LocalProposer();
    seed.attach(a).attach(b);
    const bootstrap = new MemoryStore({ proposer: seed });
    seed.attach(bootstrap);
    await bootstrap.update((tx) => tx.services.create(service('web', { meta: { id: 'web' } })));
    log.startAt(seed.index + 1);

    const read = a.view((tx) => tx.services.get('web')!);
    const fromA = a.update((tx) =>
      tx.services.update({ ...read, spec: { ...read.spec!, labels: { by: 'a' } } }),
    );
    const fromB = b.update((tx) =>
      tx.services.update({ ...read, spec: { ...read.spec!, labels: { by: 'b' } } }),
    );
    const nameA = a.update((tx) => tx.networks.create({ spec: { name: 'net' } }));
    const nameB = b.update((tx) => tx.networks.create({ spec: { name: 'NET' } }));
    await flushPromises();
    log.commitAll([a, b]);

    await expect(fromA).resolves.toBeDefined();
    await expect(fromB).rejects.toThrow(VersionConflictError);
    await expect(nameA).resolves.toBeDefined();
    await expect(nameB).rejects.toThrow(NameConflictError);
    for (const store of [a, b]) {
      expect(store.view((tx) => tx.services.get('web')!.spec!.labels)).toEqual({ by: 'a' });
      expect(store.view((tx) => tx.networks.list().map((n) => n.spec!.name))).toEqual(['net']);
    }
    expect(Buffer.from(a.snapshot()).equals(Buffer.from(b.snapshot()))).toBe(true);
  });

  it('waits for the entry to apply when the proposer reports the commit first', async () => {
    const entries: Array<{ data: Uint8Array; index: number }> = [];
    const proposer: Proposer = {
      async propose(data) {
        entries.push({ data, index: entries.length + 1 });
        return { index: entries.length };
      },
    };
    const store = new MemoryStore({ proposer });
    let settled = false;
    const update = store
      .update((tx) => tx.tasks.create(task('svc', 1)))
      .then(() => {
        settled = true;
      });
    await flushPromises();
    expect(settled).toBe(false);
    store.applyCommitted(entries[0]!.data, entries[0]!.index);
    await update;
    expect(store.view((tx) => tx.tasks.count())).toBe(1);
  });

  it('rejects with the proposer error and writes nothing when the proposal fails', async () => {
    class NotLeaderError extends Error {
      override name = 'NotLeaderError';
    }
    const store = new MemoryStore({
      proposer: {
        propose: async () => {
          throw new NotLeaderError('not the leader; the leader is m2');
        },
      },
    });
    await expect(store.update((tx) => tx.tasks.create(task('svc', 1)))).rejects.toThrow(NotLeaderError);
    expect(store.view((tx) => tx.tasks.count())).toBe(0);
  });

  it('rejects with the abort reason when the signal aborts while waiting for the commit', async () => {
    const log = new QueuedProposer();
    const store = new MemoryStore({ proposer: log });
    const controller = new AbortController();
    const update = store.update((tx) => tx.tasks.create(task('svc', 1)), { signal: controller.signal });
    await flushPromises();
    controller.abort(new Error('client went away'));
    await expect(update).rejects.toThrow('client went away');
    // The entry was already proposed: it still commits and applies, like any committed entry.
    log.commitAll([store]);
    expect(store.view((tx) => tx.tasks.count())).toBe(1);
  });

  it('skips entries at or below the applied index and entries that are not store transactions', async () => {
    const proposer = new LocalProposer();
    const store = new MemoryStore({ proposer });
    proposer.attach(store);
    await store.update((tx) => tx.tasks.create(task('svc', 1, { meta: { id: 't1' } })));
    const replay = encodeEntry(1, 'x', []);
    store.applyCommitted(replay, 1);
    store.applyCommitted(Uint8Array.from([0xff, 0xff, 0xff]), 2);
    expect(store.appliedIndex).toBe(2);
    store.applyCommitted(new Uint8Array(0), 3); // an empty entry (e.g. a new leader's) changes nothing
    expect(store.appliedIndex).toBe(3);
    expect(store.view((tx) => tx.tasks.list().map((t) => t.meta!.id))).toEqual(['t1']);
  });
});

describe('LocalProposer', () => {
  it('applies a write-back made from a listener after the entry that triggered it', async () => {
    const proposer = new LocalProposer();
    const store = new MemoryStore({ proposer });
    proposer.attach(store);
    const reactions: Promise<unknown>[] = [];
    // The first listener writes back as soon as it sees a task (as a reconciler would), before the
    // second listener has seen the entry.
    store.subscribe((e) => {
      if (e.type === 'create' && e.table === 'tasks') {
        reactions.push(
          store.update((tx) => tx.tasks.update({ ...tx.tasks.get(e.object.meta!.id)!, nodeId: 'n1' })),
        );
      }
    });
    const seen: string[] = [];
    store.subscribe(
      (e) => seen.push(e.type === 'commit' || e.type === 'restored' ? e.type : `${e.type}@${e.index}`),
      {
        commits: true,
      },
    );
    await store.update((tx) => tx.tasks.create(task('svc', 1, { meta: { id: 't1' } })));
    await Promise.all(reactions);
    expect(seen).toEqual(['create@1', 'commit', 'update@2', 'commit']);
    expect(store.view((tx) => tx.tasks.get('t1')!.nodeId)).toBe('n1');
  });

  it('queues a proposal made while an entry is applied behind that entry, for every replica', async () => {
    const proposer = new LocalProposer();
    const applied: string[] = [];
    const nested: Promise<unknown>[] = [];
    proposer.attach({
      applyCommitted: (_data, index) => {
        applied.push(`a${index}`);
        if (index === 1) nested.push(proposer.propose(new Uint8Array(0)));
      },
    });
    proposer.attach({ applyCommitted: (_data, index) => applied.push(`b${index}`) });
    await expect(proposer.propose(new Uint8Array(0))).resolves.toEqual({ index: 1 });
    await expect(Promise.all(nested)).resolves.toEqual([{ index: 2 }]);
    expect(applied).toEqual(['a1', 'b1', 'a2', 'b2']);
  });
});
