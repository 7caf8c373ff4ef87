// removeService over several transactions while agents keep reporting task status: every task ends
// marked for shutdown (or deleted), even when a status write lands between the removal's
// transactions or between a transaction's reads and its commit.
import pino from 'pino';
import type { ControlContext } from '../../../src/manager/controlapi/control-context';
import { removeService } from '../../../src/manager/controlapi/service-operations';
import { LocalProposer, MemoryStore, type ProposeOptions, type Proposer } from '../../../src/store';
import { FakeClusterOps, NOW_MS, taskInput, webSpec } from './control-fixture';

/** A LocalProposer that lets a test write to the store just before a chosen proposal commits. */
class InterleavingProposer implements Proposer {
  readonly local = new LocalProposer();
  proposals = 0;
  before: Map<number, () => Promise<void>> = new Map();
  private inHook = false;

  async propose(data: Uint8Array, options?: ProposeOptions): Promise<{ index: number }> {
    if (!this.inHook) {
      this.proposals++;
      const hook = this.before.get(this.proposals);
      if (hook) {
        this.inHook = true;
        try {
          await hook();
        } finally {
          this.inHook = false;
        }
      }
    }
    return this.local.propose(data, options);
  }
}

describe('removeService', () => {
  let store: MemoryStore;
  let proposer: InterleavingProposer;
  let ctx: ControlContext;

  beforeEach(() => {
    proposer = new InterleavingProposer();
    // Three changes per transaction: six tasks and the service take three transactions.
    store = new MemoryStore({ proposer, clock: () => NOW_MS, maxChangesPerBatchTransaction: 3 });
    proposer.local.attach(store);
    ctx = { store, ops: new FakeClusterOps(), logger: pino({ level: 'silent' }), clock: () => NOW_MS };
  });

  afterEach(() => store.close());

  async function serviceWithTasks(count: number): Promise<string> {
    const service = await store.update((tx) =>
      tx.services.create({ spec: webSpec({ replicated: { replicas: count } }) }),
    );
    const id = service.meta!.id;
    await store.update((tx) => {
      for (let slot = 1; slot <= count; slot++)
        tx.tasks.create(taskInput(`t${slot}`, id, slot, { nodeId: 'node1' }));
    });
    return id;
  }

  /** What an agent's status report does to a running task: a new version of it. */
  function reportRunning(taskId: string, message: string): Promise<void> {
    return store.update((tx) => {
      const task = tx.tasks.get(taskId)!;
      tx.tasks.update({ ...task, status: { ...task.status!, message } });
    });
  }

  it('marks every task for shutdown although agents report status between and during its transactions', async () => {
    const id = await serviceWithTasks(6);
    proposer.proposals = 0;
    // Before the removal's second transaction commits: t4 (read by it) and t6 (read by the third) move.
    proposer.before.set(2, async () => {
      await reportRunning('t4', 'still running');
      await reportRunning('t6', 'still running');
    });
    await removeService(ctx, 'web', {});
    store.view((tx) => {
      expect(tx.services.get(id)).toBeUndefined();
      const tasks = tx.tasks.findByService(id);
      expect(tasks.map((t) => t.meta!.id).sort()).toEqual(['t1', 't2', 't3', 't4', 't5', 't6']);
      for (const task of tasks) expect(task.desiredState).toBe('TASK_STATE_SHUTDOWN');
      // The agent's report is kept, not overwritten by the removal's older read.
      expect(tx.tasks.get('t4')?.status?.message).toBe('still running');
    });
  });

  it('deletes tasks that ended on their own meanwhile, and is refused once the service is gone', async () => {
    const id = await serviceWithTasks(4);
    proposer.proposals = 0;
    proposer.before.set(2, () =>
      store.update((tx) => {
        const task = tx.tasks.get('t4')!;
        tx.tasks.update({ ...task, status: { ...task.status!, state: 'TASK_STATE_FAILED', err: 'exit 1' } });
      }),
    );
    await removeService(ctx, id, {});
    store.view((tx) => {
      expect(tx.tasks.get('t4')).toBeUndefined();
      expect(tx.tasks.findByService(id).every((t) => t.desiredState === 'TASK_STATE_SHUTDOWN')).toBe(true);
      expect(tx.tasks.findByService(id)).toHaveLength(3);
    });
    await expect(removeService(ctx, id, {})).rejects.toThrow(`no such service: ${id}`);
  });
});
