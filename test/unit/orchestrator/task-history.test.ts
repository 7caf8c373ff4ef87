import { planHistoryCleanup } from '../../../src/manager/orchestrator';
import { task } from '../scheduler/cluster-fixtures';

function finished(id: string, slot: number, atMs: number) {
  return task({
    id,
    slot,
    nodeId: 'a',
    desired: 'TASK_STATE_SHUTDOWN',
    state: 'TASK_STATE_FAILED',
    timestampMs: atMs,
  });
}

describe('task history', () => {
  it('keeps the 5 newest terminal tasks of each slot by default', () => {
    const slot1 = Array.from({ length: 7 }, (_, i) => finished(`a${i}`, 1, 100 + i));
    const slot2 = Array.from({ length: 5 }, (_, i) => finished(`b${i}`, 2, 100 + i));
    expect(planHistoryCleanup([...slot1, ...slot2])).toEqual(['a0', 'a1']);
  });

  it("never deletes a task that may still run or is its slot's current task", () => {
    const tasks = [
      task({
        id: 'stopping',
        slot: 1,
        nodeId: 'a',
        desired: 'TASK_STATE_SHUTDOWN',
        state: 'TASK_STATE_RUNNING',
      }),
      task({ id: 'current-failed', slot: 1, nodeId: 'a', state: 'TASK_STATE_FAILED' }),
      ...Array.from({ length: 3 }, (_, i) => finished(`h${i}`, 1, i)),
    ];
    expect(planHistoryCleanup(tasks, { retention: 0 })).toEqual(['h0', 'h1', 'h2']);
  });

  it('keeps everything with a negative retention and nothing of a removed slot', () => {
    const tasks = Array.from({ length: 8 }, (_, i) => finished(`h${i}`, 1, i));
    expect(planHistoryCleanup(tasks, { retention: -1 })).toEqual([]);
    expect(planHistoryCleanup(tasks, { retention: -1, isSlotRemoved: (slot) => slot === '1' })).toHaveLength(
      8,
    );
  });

  it('keys global tasks by node', () => {
    const tasks = Array.from({ length: 3 }, (_, i) => ({
      ...finished(`g${i}`, 0, i),
      nodeId: i === 0 ? 'n1' : 'n2',
    }));
    expect(planHistoryCleanup(tasks, { retention: 1 })).toEqual(['g1']);
  });
});
