import { randomTaskId } from '../../../src/manager/orchestrator';

describe('task IDs of the orchestrator', () => {
  it('are 25 characters of [0-9a-z], like Swarm object IDs, and do not repeat', () => {
    const ids = new Set<string>();
    for (let i = 0; i < 50_000; i++) {
      const id = randomTaskId();
      if (i < 100) expect(id).toMatch(/^[0-9a-z]{25}$/);
      ids.add(id);
    }
    expect(ids.size).toBe(50_000);
  });
});
