// The errors an executor raises, split the way the agent must act on them: a TemporaryExecutorError
// is worth retrying the same step later (the engine was unreachable, a call timed out); a
// FinalExecutorError ends the task (rejected before it started, failed after). Nothing here retries.

/** Base of every executor error; `temporary` tells the agent whether retrying the step can help. */
export abstract class ExecutorError extends Error {
  abstract readonly temporary: boolean;
}

/** Retry the same step later: the cause is outside the task (engine down, connection reset, timeout). */
export class TemporaryExecutorError extends ExecutorError {
  override name = 'TemporaryExecutorError';
  readonly temporary = true;
}

/** Retrying cannot help: the task must be rejected (before it started) or failed (after). */
export class FinalExecutorError extends ExecutorError {
  override name = 'FinalExecutorError';
  readonly temporary = false;
}

/** The image is not present locally and the pull policy forbids (or the pull failed) fetching it. */
export class ImageNotFoundError extends FinalExecutorError {
  override name = 'ImageNotFoundError';
  constructor(
    readonly image: string,
    options?: { cause?: unknown },
  ) {
    super(`image not found: ${image}`, options);
  }
}

/** The engine knows no container by that ID (or none for that task). */
export class ContainerNotFoundError extends FinalExecutorError {
  override name = 'ContainerNotFoundError';
  constructor(
    readonly containerId: string,
    options?: { cause?: unknown },
  ) {
    super(`no such container: ${containerId}`, options);
  }
}

/** The engine refused to start the container (bad command, missing mount source, port in use...). */
export class ContainerStartError extends FinalExecutorError {
  override name = 'ContainerStartError';
  constructor(reason: string, options?: { cause?: unknown }) {
    super(`starting container failed: ${reason}`, options);
  }
}

/** The task's process ended with a non-zero exit code (or was OOM killed). */
export class TaskExitError extends FinalExecutorError {
  override name = 'TaskExitError';
  constructor(
    readonly exitCode: number,
    readonly oomKilled = false,
  ) {
    super(`task: non-zero exit (${exitCode})${oomKilled ? ': OOM killed' : ''}`);
  }
}

/** A controller was asked for a task assigned to another node than the executor's. */
export class TaskNodeMismatchError extends FinalExecutorError {
  override name = 'TaskNodeMismatchError';
  constructor(taskId: string, taskNode: string, executorNode: string) {
    super(`task ${taskId} is assigned to node ${taskNode}, not to this executor's node ${executorNode}`);
  }
}

/** True for errors the agent should retry the step for (anything not known to be final is final). */
export function isTemporary(err: unknown): boolean {
  return err instanceof ExecutorError && err.temporary;
}
