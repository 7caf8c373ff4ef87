import { HollowScheduler } from '../../../src/agent/executor/hollow-scheduler';
import { trackLiveTimers } from './live-timers';

describe('hollow scheduler', () => {
  describe('in manual mode', () => {
    it('fires entries in deadline order, first-in first-out at equal deadlines, only when time reaches them', async () => {
      const scheduler = new HollowScheduler({ manual: true, startMs: 100 });
      const fired: string[] = [];
      scheduler.schedule(30, () => fired.push('c@130'));
      scheduler.schedule(10, () => fired.push('a@110'));
      scheduler.schedule(10, () => fired.push('b@110'));
      expect(scheduler.nextDueMs()).toBe(110);
      await scheduler.advance(9);
      expect(fired).toEqual([]);
      await scheduler.advance(21);
      expect(fired).toEqual(['a@110', 'b@110', 'c@130']);
      expect(scheduler.now()).toBe(130);
      expect(scheduler.pending).toBe(0);
    });

    it('runs entries scheduled by a firing entry within the same advance, at their own time', async () => {
      const scheduler = new HollowScheduler({ manual: true });
      const fired: number[] = [];
      scheduler.schedule(10, () => {
        fired.push(scheduler.now());
        scheduler.schedule(5, () => fired.push(scheduler.now()));
      });
      await scheduler.advance(100);
      expect(fired).toEqual([10, 15]);
    });

    it('lets promise continuations run between firings', async () => {
      const scheduler = new HollowScheduler({ manual: true });
      const order: string[] = [];
      const first = new Promise<void>((resolve) => scheduler.schedule(10, resolve));
      void first.then(() => {
        order.push('continuation of first');
        scheduler.schedule(0, () => order.push('scheduled by the continuation'));
      });
      scheduler.schedule(20, () => order.push('second'));
      await scheduler.advance(50);
      expect(order).toEqual(['continuation of first', 'scheduled by the continuation', 'second']);
    });

    it('never fires a cancelled entry and compacts when cancelled entries pile up', async () => {
      const scheduler = new HollowScheduler({ manual: true });
      let fired = 0;
      const entries = Array.from({ length: 5000 }, (_, i) => scheduler.schedule(i + 1, () => fired++));
      for (const entry of entries.slice(0, 4000)) scheduler.cancel(entry);
      scheduler.cancel(entries[0]); // twice is fine
      expect(scheduler.pending).toBe(1000);
      await scheduler.advance(10_000);
      expect(fired).toBe(1000);
      expect(scheduler.pending).toBe(0);
    });
  });

  describe('in real time', () => {
    it('fires every entry in order with a single Node timer', async () => {
      const timers = trackLiveTimers();
      const scheduler = new HollowScheduler();
      try {
        const fired: number[] = [];
        const done = new Promise<void>((resolve) => {
          for (let i = 0; i < 1000; i++) {
            // Ever earlier deadlines: the scheduler must move its one timer, not add timers.
            scheduler.schedule(50 - (i % 50), () => {
              fired.push(scheduler.now());
              if (fired.length === 1000) resolve();
            });
          }
        });
        expect(timers.live).toBe(1);
        await done;
        expect(fired).toEqual([...fired].sort((a, b) => a - b));
        expect(timers.peak).toBe(1);
        expect(timers.live).toBe(0);
        expect(scheduler.pending).toBe(0);
      } finally {
        scheduler.close();
        timers.restore();
      }
    });

    it('fires nothing after close and keeps no timer', async () => {
      const timers = trackLiveTimers();
      try {
        const scheduler = new HollowScheduler();
        let fired = false;
        scheduler.schedule(1, () => {
          fired = true;
        });
        scheduler.close();
        expect(timers.live).toBe(0);
        await new Promise((resolve) => setTimeout(resolve, 20));
        expect(fired).toBe(false);
      } finally {
        timers.restore();
      }
    });

    it('refuses advance() outside manual mode', async () => {
      await expect(new HollowScheduler().advance(1)).rejects.toThrow('manual');
    });
  });
});
