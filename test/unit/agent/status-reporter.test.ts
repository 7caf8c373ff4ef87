import { StatusReporter, type TaskStatusReport } from '../../../src/agent';
import { silentLogger } from '../../../src/common/logger';

const status = (state: string) => ({ state: state as 'TASK_STATE_RUNNING', message: state, timestampMs: 1 });

describe('status reporter', () => {
  let reporter: StatusReporter;
  afterEach(() => reporter.close());

  it('sends the latest status of each task in one call', async () => {
    const calls: TaskStatusReport[][] = [];
    reporter = new StatusReporter(async (reports) => void calls.push(reports), silentLogger(), 5);
    reporter.report('t1', status('TASK_STATE_ACCEPTED'));
    reporter.report('t1', status('TASK_STATE_RUNNING'));
    reporter.report('t2', status('TASK_STATE_PREPARING'));
    await reporter.idle();
    expect(calls).toHaveLength(1);
    expect(calls[0]!.map((r) => [r.taskId, r.status.state])).toEqual([
      ['t1', 'TASK_STATE_RUNNING'],
      ['t2', 'TASK_STATE_PREPARING'],
    ]);
  });

  it('keeps reports while there is no session and sends them when one opens', async () => {
    const calls: TaskStatusReport[][] = [];
    let connected = false;
    reporter = new StatusReporter(
      (reports) => (connected ? Promise.resolve(void calls.push(reports)) : undefined),
      silentLogger(),
      5,
    );
    reporter.report('t1', status('TASK_STATE_RUNNING'));
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(calls).toHaveLength(0);
    expect(reporter.pendingCount).toBe(1);
    connected = true;
    reporter.sessionReady();
    await reporter.idle();
    expect(calls.flat().map((r) => r.taskId)).toEqual(['t1']);
  });

  it('puts back a batch the dispatcher refused, unless a newer status replaced it', async () => {
    const calls: TaskStatusReport[][] = [];
    let fail = true;
    reporter = new StatusReporter(
      (reports) => {
        calls.push(reports);
        if (fail) {
          // While the call is in flight, t2 moves on.
          reporter.report('t2', status('TASK_STATE_RUNNING'));
          return Promise.reject(new Error('unavailable'));
        }
        return Promise.resolve();
      },
      silentLogger(),
      5,
    );
    reporter.report('t1', status('TASK_STATE_STARTING'));
    reporter.report('t2', status('TASK_STATE_STARTING'));
    await new Promise((resolve) => setTimeout(resolve, 20));
    fail = false;
    reporter.sessionReady();
    await reporter.idle();
    const last = new Map(calls.at(-1)!.map((r) => [r.taskId, r.status.state]));
    expect(last).toEqual(
      new Map([
        ['t1', 'TASK_STATE_STARTING'],
        ['t2', 'TASK_STATE_RUNNING'],
      ]),
    );
  });
});
