// startLeaderLoops as the manager uses it: everything starts from the store's current state and
// stop() leaves nothing behind that could still write.

import { SchedulerLoop, startLeaderLoops } from '../../../src/manager/loops';
import { TaskState } from '../../../src/manager/orchestrator';
import { LocalProposer, MemoryStore, type ProposeOptions, type Proposer } from '../../../src/store';
import { node, serviceSpec } from '../scheduler/cluster-fixtures';
import { FakeLoopClock, flush, stateOf, TestLeader } from './loop-harness';

/** A LocalProposer that can hold proposals, as a slow Raft round would. */
class HoldingProposer implements Proposer {
  readonly local = new LocalProposer();
  proposals = 0;
  private held: Array<() => void> = [];
  holding = false;

  propose(data: Uint8Array, options?: ProposeOptions): Promise<{ index: number }> {
    this.proposals++;
    if (!this.holding) return this.local.propose(data, options);
    return new Promise((resolve, reject) =>
      this.held.push(() => this.local.propose(data, options).then(resolve, reject)),
    );
  }

  release(): void {
    this.holding = false;
    for (const commit of this.held.splice(0)) commit();
  }

  get heldCount(): number {
    return this.held.length;
  }
}

describe('startLeaderLoops', () => {
  it('picks up the work a previous leader left: services without tasks, new and pending tasks', async () => {
    const leader = new TestLeader();
    try {
      await leader.loops.stop();
      await leader.addNode('n1');
      await leader.addNode('n2');
      const svc = await leader.createService({ name: 'web', replicas: 4 });
      expect(leader.tasksOf(svc.meta!.id)).toEqual([]);
      leader.start();
      await leader.settle();
      expect(leader.tasksOf(svc.meta!.id).map(stateOf)).toEqual(Array(4).fill(TaskState.Assigned));
      expect(leader.liveByNode(svc.meta!.id)).toEqual({ n1: 2, n2: 2 });
    } finally {
      await leader.close();
    }
  });

  it('stops every loop: no write after stop() resolves, even with a write in flight', async () => {
    const clock = new FakeLoopClock();
    const proposer = new HoldingProposer();
    const store = new MemoryStore({ proposer, clock: () => clock.now() });
    proposer.local.attach(store);
    const { meta: _m, ...n1 } = node('n1');
    await store.update((tx) => tx.nodes.create({ ...n1, meta: { id: 'n1' } }));
    const loops = startLeaderLoops({ store, clock });
    try {
      await store.update((tx) => tx.services.create({ spec: serviceSpec({ name: 'web', replicas: 3 }) }));
      await flush();
      proposer.holding = true;
      // The orchestrator's pass proposes its tasks and waits for them to commit.
      clock.advanceTo(clock.now() + 100);
      await flush();
      expect(proposer.heldCount).toBeGreaterThan(0);

      let stopped = false;
      const stopping = loops.stop().then(() => {
        stopped = true;
      });
      await flush();
      expect(stopped).toBe(false); // it waits for the pass in flight
      proposer.release();
      await stopping;
      expect(loops.isBusy).toBe(false);
      expect(clock.pendingTimers).toBe(0);

      const proposals = proposer.proposals;
      const applied = store.appliedIndex;
      // Changes that would make every loop act: nothing happens.
      await store.update((tx) => tx.services.create({ spec: serviceSpec({ name: 'api', replicas: 2 }) }));
      await store.update((tx) => {
        const n = tx.nodes.get('n1')!;
        tx.nodes.update({ ...n, status: { ...n.status!, state: 'NODE_STATE_DOWN' } });
      });
      for (let i = 0; i < 20; i++) {
        clock.advanceTo(clock.now() + 1_000);
        await flush();
      }
      expect(proposer.proposals).toBe(proposals + 2);
      expect(store.appliedIndex).toBe(applied + 2);
      expect(store.stats().subscribers).toBe(0);
    } finally {
      await loops.stop();
      store.close();
    }
  });

  it('resyncs when the store is restored from a snapshot', async () => {
    const leader = new TestLeader();
    try {
      await leader.addNode('n1');
      const svc = await leader.createService({ name: 'web', replicas: 2 });
      await leader.settle();
      // A snapshot from another manager: the node and a service with no tasks yet.
      const other = new TestLeader();
      await other.loops.stop();
      await other.addNode('n1');
      const restoredSvc = await other.createService({ name: 'api', replicas: 3 });
      const data = other.store.snapshot();
      await other.close();
      leader.store.restore(data);
      await leader.settle();
      expect(leader.tasksOf(svc.meta!.id)).toEqual([]);
      expect(leader.tasksOf(restoredSvc.meta!.id).map(stateOf)).toEqual(Array(3).fill(TaskState.Assigned));
    } finally {
      await leader.close();
    }
  });

  it('resyncs from a fresh view when a watcher falls behind', async () => {
    // Watchers cut off after 8 unread events: every transaction of 100 task changes overflows them.
    const leader = new TestLeader({}, { maxQueuedEvents: 8 });
    try {
      await leader.addNode('n1');
      await leader.addNode('n2');
      const svc = await leader.createService({ name: 'web', replicas: 300 });
      await leader.converge();
      const tasks = leader.tasksOf(svc.meta!.id);
      expect(tasks).toHaveLength(300);
      expect(tasks.every((t) => stateOf(t) === TaskState.Running)).toBe(true);
      expect(leader.liveByNode(svc.meta!.id)).toEqual({ n1: 150, n2: 150 });
      expect(leader.store.stats().watchersOverflowed).toBeGreaterThan(0);
    } finally {
      await leader.close();
    }
  });

  it('runs a loop alone with run(signal) until the signal aborts', async () => {
    const leader = new TestLeader();
    await leader.loops.stop();
    const loop = new SchedulerLoop({ store: leader.store, clock: leader.clock });
    const abort = new AbortController();
    const running = loop.run(abort.signal);
    abort.abort();
    await running;
    expect(loop.isStopped).toBe(true);
    expect(leader.store.stats().subscribers).toBe(0);
    await leader.close();
  });
});
