// Errors of the Raft log's durable storage.

/** Another process (or another open handle in this one) holds the data directory. */
export class StorageLockedError extends Error {
  override readonly name = 'StorageLockedError';
  constructor(
    readonly directory: string,
    options?: { cause?: unknown },
  ) {
    super(`raft data directory ${directory} is in use by another process`, options);
  }
}

/** The stored log breaks an invariant (e.g. a gap between entries): refuse to start on it. */
export class StorageCorruptError extends Error {
  override readonly name = 'StorageCorruptError';
  constructor(
    readonly directory: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`raft data directory ${directory} is corrupt: ${message}`, options);
  }
}

/** The storage was used after close(). */
export class StorageClosedError extends Error {
  override readonly name = 'StorageClosedError';
  constructor() {
    super('raft storage is closed');
  }
}

/**
 * A write or sync of the log failed. The file's state is unknown (a failed fsync may have dropped
 * the dirty pages), so the storage refuses every later write: the member must stop and recover.
 */
export class StorageWriteError extends Error {
  override readonly name = 'StorageWriteError';
  constructor(
    readonly directory: string,
    readonly operation: string,
    options?: { cause?: unknown },
  ) {
    const detail = (options?.cause as Error | undefined)?.message ?? String(options?.cause);
    super(`raft log ${operation} in ${directory} failed: ${detail}`, options);
  }
}
