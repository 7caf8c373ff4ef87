// The leader loops' debounce is leading-edge: a change after an idle period is handled on the next
// turn of the event loop, and only passes that follow each other keep the debounce between them,
// so a lone change costs no wait while a burst of changes still makes few passes.

import { StoreLoop } from '../../../src/manager/loops';
import { LocalProposer, MemoryStore, type ObjectEventOf, type ReadTx } from '../../../src/store';
import { node } from '../scheduler/cluster-fixtures';
import { FakeLoopClock, flush } from './loop-harness';

const DEBOUNCE_MS = 50;

/** Counts the node changes it has seen and records, per pass, when it ran and how many it handled. */
class RecordingLoop extends StoreLoop<'nodes'> {
  readonly name = 'recording';
  protected readonly tables = ['nodes'] as const;
  readonly passes: Array<{ atMs: number; changes: number }> = [];
  private changes = 0;

  protected resync(_tx: ReadTx): void {}

  protected handle(_event: ObjectEventOf<'nodes'>): boolean {
    this.changes++;
    return true;
  }

  protected async pass(): Promise<void> {
    this.passes.push({ atMs: this.clock.now(), changes: this.changes });
    this.changes = 0;
  }
}

async function turns(n = 5): Promise<void> {
  for (let i = 0; i < n; i++) await flush();
}

describe('store loop debounce', () => {
  let clock: FakeLoopClock;
  let store: MemoryStore;
  let loop: RecordingLoop;
  let nextNode = 0;

  async function change(): Promise<void> {
    const id = `node-${++nextNode}`;
    const { meta: _meta, ...input } = node(id);
    await store.update((tx) => tx.nodes.create({ ...input, meta: { id } }));
  }

  /** Fires the timers due now (the next-tick passes) and lets the loop run them. */
  async function runDueNow(): Promise<void> {
    await turns();
    clock.advanceTo(clock.now());
    await turns();
  }

  beforeEach(async () => {
    clock = new FakeLoopClock();
    const proposer = new LocalProposer();
    store = new MemoryStore({ proposer, clock: () => clock.now() });
    proposer.attach(store);
    loop = new RecordingLoop({ store, clock, debounceMs: DEBOUNCE_MS });
    loop.start();
    await runDueNow(); // the first pass, from the initial view
    clock.advanceTo(clock.now() + 10 * DEBOUNCE_MS);
    loop.passes.length = 0;
  });

  afterEach(async () => {
    await loop.stop();
    store.close();
  });

  it('handles the first change after an idle period on the next tick, without waiting for the debounce', async () => {
    const at = clock.now();
    await change();
    await runDueNow();
    expect(loop.passes).toEqual([{ atMs: at, changes: 1 }]);
  });

  it('gathers changes that follow a pass into one pass, a debounce after the previous one ended', async () => {
    const at = clock.now();
    await change();
    await runDueNow();
    for (let i = 0; i < 5; i++) await change();
    await runDueNow();
    // Still within the gap: nothing ran yet.
    expect(loop.passes).toEqual([{ atMs: at, changes: 1 }]);

    clock.advanceTo(at + DEBOUNCE_MS);
    await turns();
    expect(loop.passes).toEqual([
      { atMs: at, changes: 1 },
      { atMs: at + DEBOUNCE_MS, changes: 5 },
    ]);
  });

  it('counts the gap from the end of the previous pass, and is immediate again once idle', async () => {
    const start = clock.now();
    await change();
    await runDueNow();
    clock.advanceTo(start + 30);
    await change();
    await runDueNow();
    clock.advanceTo(start + DEBOUNCE_MS);
    await turns();
    expect(loop.passes.map((p) => p.atMs)).toEqual([start, start + DEBOUNCE_MS]);

    clock.advanceTo(start + 5 * DEBOUNCE_MS);
    await change();
    await runDueNow();
    expect(loop.passes.map((p) => p.atMs)).toEqual([start, start + DEBOUNCE_MS, start + 5 * DEBOUNCE_MS]);
  });
});
