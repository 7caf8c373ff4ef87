// A randomized, seeded check of the store's invariants under racing writers: several managers
// propose concurrently into one log; every manager must end identical, and every index must agree
// with a full scan.
import { MemoryStore, type ReadTx, StoreError } from '../../../src/store';
import { flushPromises, QueuedProposer, task } from './helpers';

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

const STATES = ['TASK_STATE_RUNNING', 'TASK_STATE_SHUTDOWN', 'TASK_STATE_COMPLETE'] as const;

/** Every index answer equals what a scan of the table says. */
function expectIndexesMatchScan(tx: ReadTx): void {
  const tasks = tx.tasks.list();
  const byKey = (key: (t: (typeof tasks)[number]) => string) => {
    const map = new Map<string, string[]>();
    for (const t of tasks) map.set(key(t), [...(map.get(key(t)) ?? []), t.meta!.id]);
    return map;
  };
  const sorted = (ts: { meta: { id: string } | null }[]) => ts.map((t) => t.meta!.id).sort();
  for (const [serviceId, ids] of byKey((t) => t.serviceId))
    expect(sorted(tx.tasks.findByService(serviceId))).toEqual(ids.sort());
  for (const [nodeId, ids] of byKey((t) => t.nodeId)) {
    if (nodeId !== '') expect(sorted(tx.tasks.findByNode(nodeId))).toEqual(ids.sort());
  }
  for (const [slot, ids] of byKey((t) => `${t.serviceId}/${t.slot}`)) {
    const [serviceId, n] = slot.split('/');
    expect(sorted(tx.tasks.findBySlot(serviceId!, Number(n)))).toEqual(ids.sort());
  }
  for (const state of STATES) {
    expect(sorted(tx.tasks.findByDesiredState(state))).toEqual(
      sorted(tasks.filter((t) => t.desiredState === state)),
    );
  }
  const names = new Set<string>();
  for (const s of tx.services.list()) {
    expect(tx.services.getByName(s.spec!.name.toUpperCase())).toBe(s);
    expect(names.has(s.spec!.name.toLowerCase())).toBe(false);
    names.add(s.spec!.name.toLowerCase());
  }
}

describe('store consistency under racing writers', () => {
  it.each([1, 2, 3, 4, 5])('keeps managers identical and indexes exact (seed %i)', async (seed) => {
    const random = prng(seed);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
    const log = new QueuedProposer();
    const managers = [0, 1, 2].map((i) => new MemoryStore({ proposer: log, clock: () => 1000 + i }));
    let refused = 0;
    let applied = 0;
    for (let round = 0; round < 60; round++) {
      const updates: Promise<unknown>[] = [];
      for (const store of managers) {
        if (random() < 0.3) continue;
        const update = store.update((tx) => {
          const roll = random();
          const services = tx.services.list();
          if (roll < 0.25 || services.length === 0) {
            tx.services.create({ spec: { name: `svc-${Math.floor(random() * 15)}` } });
          } else if (roll < 0.5) {
            const s = pick(services);
            for (let i = 0; i < 3; i++) {
              tx.tasks.create(
                task(s.meta!.id, Math.floor(random() * 4), { nodeId: `n${Math.floor(random() * 5)}` }),
              );
            }
          } else if (roll < 0.85) {
            const tasks = tx.tasks.list();
            if (tasks.length === 0) return;
            const t = pick(tasks);
            tx.tasks.update({ ...t, nodeId: `n${Math.floor(random() * 5)}`, desiredState: pick(STATES) });
          } else {
            const s = pick(services);
            for (const t of tx.tasks.findByService(s.meta!.id)) tx.tasks.delete(t.meta!.id);
            tx.services.delete(s.meta!.id);
          }
        });
        updates.push(
          update.then(
            () => applied++,
            (err) => {
              if (!(err instanceof StoreError)) throw err;
              refused++;
            },
          ),
        );
      }
      await flushPromises();
      log.commitAll(managers);
      await Promise.all(updates);
    }

    expect(applied).toBeGreaterThan(50);
    expect(refused).toBeGreaterThan(0);
    // The races really happened: some entries lost at apply time, on every manager alike.
    const refusedAtApply = managers.map((m) =>
      Object.values(m.stats().transactionsRefused).reduce((a, b) => a + b, 0),
    );
    expect(refusedAtApply[0]).toBeGreaterThan(0);
    expect(new Set(refusedAtApply).size).toBe(1);
    const [first, ...rest] = managers.map((m) => Buffer.from(m.snapshot()));
    for (const other of rest) expect(other.equals(first!)).toBe(true);
    for (const store of managers) store.view(expectIndexesMatchScan);
    const restored = new MemoryStore({ proposer: log });
    restored.restore(first!);
    restored.view(expectIndexesMatchScan);
  });
});
