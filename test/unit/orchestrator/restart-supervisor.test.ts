import { RestartSupervisor } from '../../../src/manager/orchestrator';
import { service, serviceSpec, task } from '../scheduler/cluster-fixtures';
import { FakeClock } from './orchestrator-fixtures';

function failed(
  id: string,
  atMs: number,
  state: 'TASK_STATE_FAILED' | 'TASK_STATE_COMPLETE' = 'TASK_STATE_FAILED',
) {
  return task({
    id,
    slot: 1,
    nodeId: 'a',
    state,
    timestampMs: atMs,
    exitCode: state === 'TASK_STATE_FAILED' ? 1 : 0,
  });
}

describe('restart supervisor', () => {
  const clock = new FakeClock(100_000);

  it('never restarts with condition none', () => {
    const supervisor = new RestartSupervisor({ clock });
    const svc = service('svc', serviceSpec({ restart: { condition: 'none' } }));
    expect(supervisor.decide(svc, failed('t', 100_000))).toEqual({
      restart: false,
      reason: 'restart condition is none',
    });
  });

  it('with on-failure, restarts a failed task but not one that exited 0', () => {
    const supervisor = new RestartSupervisor({ clock });
    const svc = service('svc', serviceSpec({ restart: { condition: 'on-failure' } }));
    expect(supervisor.decide(svc, failed('t', 100_000))).toEqual({ restart: true, atMs: 100_000 });
    expect(supervisor.decide(svc, failed('t', 100_000, 'TASK_STATE_COMPLETE'))).toMatchObject({
      restart: false,
    });
  });

  it('with any, restarts even a task that completed', () => {
    const supervisor = new RestartSupervisor({ clock });
    const svc = service('svc', serviceSpec({ restart: { condition: 'any' } }));
    expect(supervisor.decide(svc, failed('t', 100_000, 'TASK_STATE_COMPLETE'))).toEqual({
      restart: true,
      atMs: 100_000,
    });
  });

  it('restarts the delay after the task stopped', () => {
    const supervisor = new RestartSupervisor({ clock });
    const svc = service('svc', serviceSpec({ restart: { delayMs: 5_000 } }));
    expect(supervisor.decide(svc, failed('t', 98_000))).toEqual({ restart: true, atMs: 103_000 });
  });

  it('stops after max attempts when there is no window', () => {
    const supervisor = new RestartSupervisor({ clock });
    const svc = service('svc', serviceSpec({ restart: { maxAttempts: 2 } }));
    supervisor.record([
      supervisor.restartRecord(svc, '1', 10_000),
      supervisor.restartRecord(svc, '1', 20_000),
    ]);
    expect(supervisor.decide(svc, failed('t', 30_000))).toEqual({
      restart: false,
      reason: 'restarted 2 times: max attempts reached',
    });
    // Other slots have their own history.
    expect(supervisor.decide(svc, { ...failed('u', 30_000), slot: 2 })).toMatchObject({ restart: true });
  });

  it('counts only the attempts within the window before the failure', () => {
    const supervisor = new RestartSupervisor({ clock });
    const svc = service('svc', serviceSpec({ restart: { maxAttempts: 2, windowMs: 60_000 } }));
    supervisor.record([
      supervisor.restartRecord(svc, '1', 10_000),
      supervisor.restartRecord(svc, '1', 50_000),
    ]);
    expect(supervisor.decide(svc, failed('t', 65_000))).toMatchObject({ restart: false });
    // At 75 s the attempt at 10 s has left the window: one attempt in the last minute.
    expect(supervisor.decide(svc, failed('t', 75_000))).toEqual({ restart: true, atMs: 75_000 });
  });

  it('gives the same answer when asked again later', () => {
    const later = new FakeClock(100_000);
    const supervisor = new RestartSupervisor({ clock: later });
    const svc = service('svc', serviceSpec({ restart: { maxAttempts: 1, windowMs: 10_000 } }));
    supervisor.record([supervisor.restartRecord(svc, '1', 95_000)]);
    const stopped = failed('t', 99_000);
    const first = supervisor.decide(svc, stopped);
    later.advance(3_600_000);
    expect(supervisor.decide(svc, stopped)).toEqual(first);
    expect(first).toMatchObject({ restart: false });
  });

  it('starts counting afresh when the service changes', () => {
    const supervisor = new RestartSupervisor({ clock });
    const v1 = service('svc', serviceSpec({ restart: { maxAttempts: 1 } }), 1);
    supervisor.record([supervisor.restartRecord(v1, '1', 10_000)]);
    expect(supervisor.decide(v1, failed('t', 20_000))).toMatchObject({ restart: false });
    const v2 = service('svc', serviceSpec({ restart: { maxAttempts: 1 } }), 2);
    expect(supervisor.decide(v2, failed('t', 20_000))).toMatchObject({ restart: true });
  });

  it('keeps no more attempts than the policy can use', () => {
    const supervisor = new RestartSupervisor({ clock });
    const svc = service('svc', serviceSpec({ restart: { maxAttempts: 3 } }));
    supervisor.record(Array.from({ length: 100 }, (_, i) => supervisor.restartRecord(svc, '1', i)));
    expect(supervisor.attempts(svc, '1')).toEqual([97, 98, 99]);
    const unlimited = service('other', serviceSpec());
    supervisor.record([supervisor.restartRecord(unlimited, '1', 5)]);
    expect(supervisor.attempts(unlimited, '1')).toEqual([]);
  });
});
