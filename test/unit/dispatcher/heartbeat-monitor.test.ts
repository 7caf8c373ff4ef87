import { HeartbeatMonitor } from '../../../src/manager/dispatcher';

function busyWait(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // a stalled event loop
  }
}

const tick = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('heartbeat monitor', () => {
  let monitor: HeartbeatMonitor;
  let expired: string[];

  beforeEach(() => {
    expired = [];
    monitor = new HeartbeatMonitor({ onExpired: (id) => expired.push(id) });
  });

  afterEach(() => monitor.close());

  it('expires a node after 3 periods without a heartbeat, once', async () => {
    monitor.beat('n1', 10);
    await tick(100);
    expect(expired).toEqual(['n1']);
    expect(monitor.has('n1')).toBe(false);
  });

  it('does not expire a node that keeps beating', async () => {
    monitor.beat('n1', 30);
    for (let i = 0; i < 10; i++) {
      await tick(10);
      monitor.beat('n1', 30);
    }
    expect(expired).toEqual([]);
    monitor.forget('n1');
    await tick(120);
    expect(expired).toEqual([]);
  });

  it('gives a node one more period when its timer fired late because the loop was stalled', async () => {
    monitor.beat('n1', 100);
    monitor.beat('n2', 100);
    // The loop is stuck well past the 300 ms deadline; the heartbeats waiting meanwhile are read
    // right after the timers run (setImmediate comes after the timers phase).
    busyWait(500);
    setImmediate(() => monitor.beat('n1', 100));
    // n1 was heard and is due 300 ms after that beat; n2 stayed silent through its extra period (100 ms).
    await tick(180);
    expect(expired).toEqual(['n2']);
    expect(monitor.has('n1')).toBe(true);
  });
});
