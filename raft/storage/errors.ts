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
