import {
  canTransition,
  checkDesiredTransition,
  checkObservedTransition,
  formatTaskState,
  isTerminal,
  observedStateWriter,
  TaskState,
  TaskStateError,
  type TaskStateValue,
  taskContainerName,
  taskName,
} from '../../../src/manager/orchestrator';

const lifecycle: TaskStateValue[] = [
  TaskState.New,
  TaskState.Pending,
  TaskState.Assigned,
  TaskState.Accepted,
  TaskState.Preparing,
  TaskState.Starting,
  TaskState.Running,
];
const terminal: TaskStateValue[] = [
  TaskState.Complete,
  TaskState.Shutdown,
  TaskState.Failed,
  TaskState.Rejected,
  TaskState.Orphaned,
];

describe('task state', () => {
  it('treats complete, shutdown, failed, rejected and orphaned as terminal', () => {
    for (const state of lifecycle) expect(isTerminal(state)).toBe(false);
    for (const state of terminal) expect(isTerminal(state)).toBe(true);
  });

  it('moves forward along new → pending → assigned → accepted → preparing → starting → running', () => {
    for (let i = 0; i + 1 < lifecycle.length; i++)
      expect(canTransition(lifecycle[i]!, lifecycle[i + 1]!)).toBe(true);
  });

  it('may skip states forward and end from any non-terminal state', () => {
    expect(canTransition(TaskState.Assigned, TaskState.Running)).toBe(true);
    expect(canTransition(TaskState.Preparing, TaskState.Failed)).toBe(true);
    expect(canTransition(TaskState.Running, TaskState.Complete)).toBe(true);
  });

  it('never goes backwards, never stays put and never leaves a terminal state', () => {
    const all = [...lifecycle, ...terminal];
    for (const from of all) {
      for (const to of all) {
        if (all.indexOf(to) <= all.indexOf(from)) expect(canTransition(from, to)).toBe(false);
      }
    }
    for (const from of terminal) for (const to of all) expect(canTransition(from, to)).toBe(false);
  });

  it('lets managers report new, pending, assigned and orphaned, and agents the rest', () => {
    expect(
      [TaskState.New, TaskState.Pending, TaskState.Assigned, TaskState.Orphaned].map(observedStateWriter),
    ).toEqual(['manager', 'manager', 'manager', 'manager']);
    expect(
      [TaskState.Accepted, TaskState.Running, TaskState.Failed, TaskState.Rejected].map(observedStateWriter),
    ).toEqual(['agent', 'agent', 'agent', 'agent']);
  });

  it('refuses an observed state from the wrong side', () => {
    expect(() => checkObservedTransition('manager', TaskState.Assigned, TaskState.Running)).toThrow(
      'task state assigned → running: only agents report this state',
    );
    expect(() => checkObservedTransition('agent', TaskState.Pending, TaskState.Assigned)).toThrow(
      TaskStateError,
    );
    expect(() => checkObservedTransition('agent', TaskState.Assigned, TaskState.Accepted)).not.toThrow();
    expect(() => checkObservedTransition('manager', TaskState.Running, TaskState.Orphaned)).not.toThrow();
  });

  it('lets a manager shut down a task that never reached an agent', () => {
    expect(() => checkObservedTransition('manager', TaskState.Pending, TaskState.Shutdown)).not.toThrow();
    expect(() => checkObservedTransition('manager', TaskState.Assigned, TaskState.Shutdown)).toThrow(
      TaskStateError,
    );
  });

  it('refuses a backwards report whoever sends it', () => {
    expect(() => checkObservedTransition('agent', TaskState.Running, TaskState.Starting)).toThrow(
      'task state running → starting: a task state never goes backwards',
    );
  });

  it('keeps desired state to running, complete and shutdown, moving forward only', () => {
    expect(() => checkDesiredTransition(TaskState.Running, TaskState.Shutdown)).not.toThrow();
    expect(() => checkDesiredTransition(TaskState.Shutdown, TaskState.Running)).toThrow(
      'a desired state never goes backwards',
    );
    expect(() => checkDesiredTransition(TaskState.Running, TaskState.Failed)).toThrow('not a desired state');
  });

  it('prints states the way service ps does', () => {
    expect(formatTaskState(TaskState.Running)).toBe('running');
    expect(formatTaskState(TaskState.Orphaned)).toBe('orphaned');
  });
});

describe('task names', () => {
  it('names replicated tasks <service>.<slot> and global ones <service>.<nodeId>', () => {
    expect(taskName('web', { meta: { id: 'abc' }, slot: 3, nodeId: 'n1' })).toBe('web.3');
    expect(taskName('agent', { meta: { id: 'abc' }, slot: 0, nodeId: 'n1' })).toBe('agent.n1');
    expect(taskContainerName('web', { meta: { id: 'abc' }, slot: 3, nodeId: '' })).toBe('web.3.abc');
  });
});
