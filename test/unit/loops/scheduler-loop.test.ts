// The scheduler loop alone over a store: batches, reasons, and placements whose write failed.

import { SchedulerLoop } from '../../../src/manager/loops';
import { TaskState } from '../../../src/manager/orchestrator';
import { LocalProposer, MemoryStore, type ProposeOptions, type Proposer } from '../../../src/store';
import { node, serviceSpec } from '../scheduler/cluster-fixtures';
import { FakeLoopClock, flush } from './loop-harness';

/** Rejects the proposals it is told to, as a Raft runtime does when leadership is lost. */
class FlakyProposer implements Proposer {
  readonly local = new LocalProposer();
  failing = 0;
  propose(data: Uint8Array, options?: ProposeOptions): Promise<{ index: number }> {
    if (this.failing > 0) {
      this.failing--;
      return Promise.reject(new Error('not the leader any more'));
    }
    return this.local.propose(data, options);
  }
}

describe('scheduler loop', () => {
  const clock = new FakeLoopClock();
  let proposer: FlakyProposer;
  let store: MemoryStore;
  let loop: SchedulerLoop;

  beforeEach(async () => {
    proposer = new FlakyProposer();
    store = new MemoryStore({ proposer, clock: () => clock.now() });
    proposer.local.attach(store);
    for (const id of ['n1', 'n2']) {
      const { meta: _m, ...input } = node(id, { cpus: 1 });
      await store.update((tx) => tx.nodes.create({ ...input, meta: { id } }));
    }
  });
  afterEach(async () => {
    await loop?.stop();
    store.close();
  });

  async function addPending(count: number): Promise<void> {
    const spec = serviceSpec({ name: 'web', replicas: count, reserveCpus: 0.5 });
    await store.update((tx) => {
      for (let slot = 1; slot <= count; slot++)
        tx.tasks.create({
          meta: { id: `t${slot}` },
          serviceId: 'svc',
          slot,
          spec,
          desiredState: TaskState.Running,
          status: { state: TaskState.Pending },
        });
    });
  }

  async function run(ms: number): Promise<void> {
    const until = clock.now() + ms;
    for (;;) {
      await flush();
      const next = clock.nextDueMs();
      if (next === undefined || next > until) break;
      clock.advanceTo(next);
    }
    clock.advanceTo(until);
    await flush();
  }

  function byNode(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const t of store.view((tx) => tx.tasks.list()))
      if (t.nodeId) counts[t.nodeId] = (counts[t.nodeId] ?? 0) + 1;
    return counts;
  }

  it('places a batch of pending tasks in one pass and explains the ones that do not fit', async () => {
    await addPending(5);
    loop = new SchedulerLoop({ store, clock });
    loop.start();
    await run(1_000);
    expect(byNode()).toEqual({ n1: 2, n2: 2 });
    const left = store.view((tx) => tx.tasks.list()).filter((t) => !t.nodeId);
    expect(left.map((t) => [t.status!.state, t.status!.err])).toEqual([
      [TaskState.Pending, 'no suitable node (insufficient resources on 2 nodes)'],
    ]);
  });

  it('takes back placements whose write failed, and places the tasks again on the next pass', async () => {
    await addPending(4);
    loop = new SchedulerLoop({ store, clock, retryDelayMs: 500 });
    proposer.failing = 1;
    loop.start();
    await run(100);
    // The write of the first pass failed: nothing is assigned, and nothing is held in the view.
    expect(byNode()).toEqual({});
    expect(loop.reservedOn('n1')).toEqual({ nanoCpus: 0, memoryBytes: 0, tasks: 0 });
    expect(loop.reservedOn('n2')).toEqual({ nanoCpus: 0, memoryBytes: 0, tasks: 0 });
    await run(1_000);
    expect(byNode()).toEqual({ n1: 2, n2: 2 });
    expect(loop.reservedOn('n1')).toEqual({ nanoCpus: 1_000_000_000, memoryBytes: 0, tasks: 2 });
    expect(store.view((tx) => tx.tasks.list()).map((t) => t.status!.state)).toEqual(
      Array(4).fill(TaskState.Assigned),
    );
  });

  it('does not rewrite a pending task whose reason has not changed', async () => {
    await addPending(6);
    loop = new SchedulerLoop({ store, clock });
    loop.start();
    await run(1_000);
    const applied = store.appliedIndex;
    // A node change wakes the scheduler; the two tasks still fit nowhere, for the same reason.
    await store.update((tx) => {
      const n = tx.nodes.get('n1')!;
      tx.nodes.update({ ...n, spec: { ...n.spec!, labels: { zone: 'a' } } });
    });
    await run(1_000);
    expect(store.appliedIndex).toBe(applied + 1);
  });
});
