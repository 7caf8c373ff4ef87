// runTaskStep moves one task forward by exactly one state, the way swarmkit's exec.Do does: it
// looks at the task's observed and desired states, performs the single action between the current
// state and the next one (prepare, start, wait, or shutdown), and returns the new observed status.
// It never moves a task backwards, never skips a state, and turns every failure into either a status
// (rejected before the task started, failed after) or a retry for errors that are only temporary.
// The caller (the agent) loops: report the status when it changed, retry later on `retry`, wait for
// a new desired state on `noop`, stop on `dead`.
import type { Logger } from '../../common/logger';
import { formatTaskState, isTerminal, type TaskState, taskStateRank } from '../../common/task-state';
import { ExecutorError, FinalExecutorError, isTemporary, TaskExitError } from './errors';
import type { TaskController, Waitable } from './executor';
import type { BoundPort, ExecutorTask, TaskStatusLike } from './task-spec';

export type StepOutcome =
  /** The task moved to a new state: report `status`. */
  | 'advanced'
  /** Nothing to do until the desired state changes. */
  | 'noop'
  /** A temporary error: `status` is unchanged; try the same step again after a backoff. */
  | 'retry'
  /** The task is in a terminal state; no step will ever change it. */
  | 'dead';

export interface TaskStepResult<S extends TaskStatusLike> {
  outcome: StepOutcome;
  status: S;
  /** Why the step failed, for `retry` and for transitions to rejected or failed. */
  error?: Error;
  /** The ports the engine bound, known once the task is running. */
  ports?: BoundPort[];
}

export interface TaskStepOptions extends Waitable {
  /** Clock for status timestamps (ms since the epoch). */
  now?: () => number;
  logger?: Logger;
}

const RUNNING = taskStateRank('TASK_STATE_RUNNING');
const STARTING = taskStateRank('TASK_STATE_STARTING');
const SHUTDOWN = taskStateRank('TASK_STATE_SHUTDOWN');

/**
 * Performs the next transition of `task` and returns its new status (a copy; `task` is not changed).
 * Rejects only when `signal` aborts the step (e.g. a wait the agent no longer needs).
 */
export async function runTaskStep<S extends TaskStatusLike>(
  task: Pick<ExecutorTask<S>, 'id' | 'desiredState' | 'status'>,
  controller: TaskController,
  options: TaskStepOptions = {},
): Promise<TaskStepResult<S>> {
  const now = options.now ?? Date.now;
  const current = task.status;
  const observed = current.state;
  const step: Waitable = { signal: options.signal };

  const transition = (
    state: TaskState,
    message: string,
    fields: Partial<TaskStatusLike> = {},
    extra: Partial<TaskStepResult<S>> = {},
  ): TaskStepResult<S> => {
    options.logger?.debug(
      {
        task: task.id,
        from: formatTaskState(observed),
        to: formatTaskState(state),
        desired: formatTaskState(task.desiredState),
      },
      'task state changed',
    );
    return {
      outcome: 'advanced',
      status: { ...current, state, message, ...fields, timestampMs: now() },
      ...extra,
    };
  };

  const failed = (err: unknown): TaskStepResult<S> => {
    if (options.signal?.aborted) throw err;
    const error = err instanceof Error ? err : new Error(String(err));
    if (isTemporary(error)) {
      options.logger?.warn({ task: task.id, err: error }, 'temporary executor error; step will be retried');
      return { outcome: 'retry', status: current, error };
    }
    // Nothing ran yet: the node could not take the task. Once started, the task itself failed.
    const state: TaskState = taskStateRank(observed) < STARTING ? 'TASK_STATE_REJECTED' : 'TASK_STATE_FAILED';
    const exitCode = error instanceof TaskExitError ? error.exitCode : current.exitCode;
    const final =
      error instanceof ExecutorError ? error : new FinalExecutorError(error.message, { cause: error });
    return transition(state, final.message, { err: final.message, exitCode }, { error: final });
  };

  if (isTerminal(observed)) return { outcome: 'dead', status: current };

  const desired = taskStateRank(task.desiredState);
  if (desired >= SHUTDOWN) {
    try {
      await controller.shutdown(step);
    } catch (err) {
      return failed(err);
    }
    return transition('TASK_STATE_SHUTDOWN', 'shutdown');
  }

  // Desired RUNNING (or COMPLETE, for a job) means: run, then wait for the end.
  const rank = taskStateRank(observed);
  if (rank < RUNNING && rank >= desired) return { outcome: 'noop', status: current };

  try {
    switch (observed) {
      case 'TASK_STATE_NEW':
      case 'TASK_STATE_PENDING':
      case 'TASK_STATE_ASSIGNED':
        return transition('TASK_STATE_ACCEPTED', 'accepted');
      case 'TASK_STATE_ACCEPTED':
        return transition('TASK_STATE_PREPARING', 'preparing');
      case 'TASK_STATE_PREPARING': {
        await controller.prepare(step);
        const seen = await controller.inspect(step);
        return transition('TASK_STATE_STARTING', 'prepared', { containerId: seen?.containerId ?? '' });
      }
      case 'TASK_STATE_STARTING': {
        await controller.start(step);
        const seen = await controller.inspect(step);
        return transition(
          'TASK_STATE_RUNNING',
          'started',
          { containerId: seen?.containerId ?? current.containerId },
          { ports: seen?.ports ?? [] },
        );
      }
      case 'TASK_STATE_RUNNING': {
        const exit = await controller.wait(step);
        if (exit.exitCode !== 0 || exit.oomKilled)
          return failed(new TaskExitError(exit.exitCode, exit.oomKilled));
        return transition('TASK_STATE_COMPLETE', 'finished', { exitCode: 0 });
      }
      default:
        return { outcome: 'dead', status: current };
    }
  } catch (err) {
    return failed(err);
  }
}
