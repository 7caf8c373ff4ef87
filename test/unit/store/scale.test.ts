// The scale benchmark's shape (50,000 tasks on 1,000 nodes) through the real code paths. No timing
// is asserted (shared machines are noisy); the times are printed for the report.
// ORCH_STORE_SCALE=full makes the tasks carry their service spec (as real ones do) and adds 50,000
// status updates, a snapshot and a restore: several times slower, so not part of the default run.
import { performance } from 'node:perf_hooks';
import { LocalProposer, MemoryStore, type Service } from '../../../src/store';
import { service, task } from './helpers';

const NODES = 1_000;
const SERVICES = 50;
const TASKS_PER_SERVICE = 1_000;
const FULL = process.env.ORCH_STORE_SCALE === 'full';

describe('store at scale', () => {
  it(
    'inserts 50,000 tasks on 1,000 nodes in batches and answers index queries from indexes',
    async () => {
      const withSpec = (spec: Service['spec']) => (FULL ? { spec } : {});
      const proposer = new LocalProposer();
      const store = new MemoryStore({ proposer });
      proposer.attach(store);
      const timings: Record<string, string> = {};
      const time = async <T>(label: string, fn: () => T | Promise<T>): Promise<T> => {
        const start = performance.now();
        const cpu = process.cpuUsage();
        const result = await fn();
        const used = process.cpuUsage(cpu);
        timings[label] =
          `${(performance.now() - start).toFixed(0)} ms wall, ${((used.user + used.system) / 1000).toFixed(0)} ms cpu`;
        return result;
      };

      await time('create 1,000 nodes + 50 services', () =>
        store.batch(async (batch) => {
          for (let n = 0; n < NODES; n++) {
            await batch.update((tx) =>
              tx.nodes.create({ meta: { id: `node${n}` }, role: 'NODE_ROLE_WORKER' }),
            );
          }
          for (let s = 0; s < SERVICES; s++) {
            await batch.update((tx) => tx.services.create(service(`svc${s}`, { meta: { id: `svc${s}` } })));
          }
        }),
      );
      const specs = store.view((tx) => tx.services.list().map((s) => s.spec!));
      await time(`insert 50,000 tasks (batch)${FULL ? ', each carrying its service spec' : ''}`, () =>
        store.batch(async (batch) => {
          for (let s = 0; s < SERVICES; s++) {
            const spec = specs[s]!;
            for (let slot = 1; slot <= TASKS_PER_SERVICE; slot++) {
              const i = s * TASKS_PER_SERVICE + slot;
              await batch.update((tx) =>
                tx.tasks.create(
                  task(`svc${s}`, slot, {
                    meta: { id: `task${i}` },
                    nodeId: `node${i % NODES}`,
                    ...withSpec(spec),
                  }),
                ),
              );
            }
          }
        }),
      );
      const perNode = await time('tasks by node, all 1,000 nodes', () =>
        store.view((tx) => {
          let total = 0;
          for (let n = 0; n < NODES; n++) total += tx.tasks.findByNode(`node${n}`).length;
          return total;
        }),
      );
      expect(perNode).toBe(SERVICES * TASKS_PER_SERVICE);
      const slot = await time('tasks by (service, slot), 1,000 lookups', () =>
        store.view((tx) => {
          let total = 0;
          for (let i = 1; i <= 1000; i++) total += tx.tasks.findBySlot('svc7', i).length;
          return total;
        }),
      );
      expect(slot).toBe(1000);
      if (FULL) {
        await time('update 50,000 task states (batch)', () =>
          store.batch(async (batch) => {
            for (const t of store.view((tx) => tx.tasks.findByDesiredState('TASK_STATE_RUNNING'))) {
              await batch.update((tx) =>
                tx.tasks.update({ ...t, status: { ...t.status!, state: 'TASK_STATE_RUNNING' } }),
              );
            }
          }),
        );
      }
      const snapshot = await time('snapshot', () => store.snapshot());
      const restored = new MemoryStore({ proposer: new LocalProposer() });
      await time('restore', () => restored.restore(snapshot));
      expect(restored.view((tx) => tx.tasks.findByService('svc3').length)).toBe(TASKS_PER_SERVICE);
      expect(restored.appliedIndex).toBe(store.appliedIndex);
      timings['snapshot size'] = `${(snapshot.length / 1024 / 1024).toFixed(1)} MiB`;
      timings['heap used'] = `${(process.memoryUsage().heapUsed / 1024 / 1024).toFixed(0)} MiB`;
      console.log(`store scale:\n${JSON.stringify(timings, null, 2)}`);
    },
    FULL ? 300_000 : 30_000,
  );
});
