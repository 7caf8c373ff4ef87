import { silentLogger } from '../../../src/common/logger';
import { LeaderLoopRegistry, sleep } from '../../../src/manager/manager-loops';
import { LocalProposer, MemoryStore } from '../../../src/store';

function context(term = 1) {
  return {
    store: new MemoryStore({ proposer: new LocalProposer() }),
    logger: silentLogger(),
    nodeId: 'n1',
    term,
  };
}

describe('leader loop registry', () => {
  it('starts every registered loop on leadership and stops them all when it ends', async () => {
    const registry = new LeaderLoopRegistry(silentLogger());
    const events: string[] = [];
    for (const name of ['orchestrator', 'scheduler']) {
      registry.register(name, () => ({
        async run(signal) {
          events.push(`${name} started`);
          await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve()));
          events.push(`${name} stopped`);
        },
      }));
    }
    expect(registry.active).toBe(false);
    registry.start(context());
    expect(registry.active).toBe(true);
    await sleep(10);
    expect(events).toEqual(['orchestrator started', 'scheduler started']);
    await registry.stop();
    expect(registry.active).toBe(false);
    expect(events.slice(2).sort()).toEqual(['orchestrator stopped', 'scheduler stopped']);
  });

  it('starts a loop registered while leading at once', async () => {
    const registry = new LeaderLoopRegistry(silentLogger());
    registry.start(context(7));
    let term = 0;
    registry.register('late', (ctx) => ({
      async run(signal) {
        term = ctx.term;
        await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve()));
      },
    }));
    await sleep(10);
    expect(term).toBe(7);
    await registry.stop();
  });

  it('restarts a loop that fails while still leading, and not after leadership ended', async () => {
    const registry = new LeaderLoopRegistry(silentLogger());
    let runs = 0;
    registry.register('flaky', () => ({
      async run(signal) {
        runs++;
        if (runs === 1) throw new Error('boom');
        await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve()));
      },
    }));
    registry.start(context());
    const deadline = Date.now() + 5000;
    while (runs < 2 && Date.now() < deadline) await sleep(20);
    expect(runs).toBe(2);
    await registry.stop();
    await sleep(300);
    expect(runs).toBe(2);
  });

  it('refuses the same name twice', () => {
    const registry = new LeaderLoopRegistry(silentLogger());
    const factory = () => ({ run: async () => {} });
    registry.register('a', factory);
    expect(() => registry.register('a', factory)).toThrow('leader loop a is registered twice');
  });
});
