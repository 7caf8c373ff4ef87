// The store's errors. Each names the table, the object and (where it applies) the field, in one
// line a user can read; the Control API maps them to gRPC status codes at its edge.
import type { TableName } from './objects';

/** Base of every store error. */
export class StoreError extends Error {
  override name = 'StoreError';
}

/** A write carried a stale `meta.version`: someone changed the object since the writer read it. */
export class VersionConflictError extends StoreError {
  override name = 'VersionConflictError';
  constructor(
    readonly table: TableName,
    readonly id: string,
    readonly expectedVersion: number,
    readonly actualVersion: number,
    options?: { cause?: unknown },
  ) {
    super(
      `${singular(table)} ${id}: update out of sequence (meta.version ${expectedVersion}, current version ${actualVersion})`,
      options,
    );
  }
}

/** A name that must be unique in its table is already taken (names compare case-insensitively). */
export class NameConflictError extends StoreError {
  override name = 'NameConflictError';
  constructor(
    readonly table: TableName,
    readonly objectName: string,
    readonly existingId: string,
    options?: { cause?: unknown },
  ) {
    super(`${singular(table)} name "${objectName}" is already in use by ${existingId} (spec.name)`, options);
  }
}

/** Create of an ID that already exists. */
export class AlreadyExistsError extends StoreError {
  override name = 'AlreadyExistsError';
  constructor(
    readonly table: TableName,
    readonly id: string,
    options?: { cause?: unknown },
  ) {
    super(`${singular(table)} ${id} already exists (meta.id)`, options);
  }
}

/** Update or delete of an object that does not exist (any more). */
export class NotFoundError extends StoreError {
  override name = 'NotFoundError';
  constructor(
    readonly table: TableName,
    readonly id: string,
    options?: { cause?: unknown },
  ) {
    super(`${singular(table)} ${id} not found`, options);
  }
}

/** The object cannot be stored as given: a required field is missing or a field has a bad value. */
export class InvalidObjectError extends StoreError {
  override name = 'InvalidObjectError';
  constructor(
    readonly table: TableName,
    readonly field: string,
    reason: string,
    readonly id = '',
    options?: { cause?: unknown },
  ) {
    super(`${singular(table)}${id ? ` ${id}` : ''}: ${field} ${reason}`, options);
  }
}

/** One transaction would make a Raft entry larger than the store allows; split it with `batch`. */
export class TransactionTooLargeError extends StoreError {
  override name = 'TransactionTooLargeError';
  constructor(
    readonly sizeBytes: number,
    readonly limitBytes: number,
  ) {
    super(`transaction of ${sizeBytes} bytes exceeds the limit of ${limitBytes} bytes: use store.batch`);
  }
}

/** A watcher fell more than its limit behind and was closed; resubscribe with viewAndWatch. */
export class WatcherOverflowError extends StoreError {
  override name = 'WatcherOverflowError';
  constructor(readonly limit: number) {
    super(`watcher closed: more than ${limit} events were waiting to be read`);
  }
}

/** The store was closed while the operation waited. */
export class StoreClosedError extends StoreError {
  override name = 'StoreClosedError';
  constructor() {
    super('the store is closed');
  }
}

/**
 * A proposal's fate is unknown to this manager: the store was restored from a snapshot while it
 * was in flight, or the proposer reported it committed at an index that applied something else.
 * The change may or may not have happened; read the store to find out.
 */
export class ProposalOutcomeUnknownError extends StoreError {
  override name = 'ProposalOutcomeUnknownError';
}

/** A committed entry or snapshot could not be decoded: the log holds something the store did not write. */
export class CorruptEntryError extends StoreError {
  override name = 'CorruptEntryError';
}

function singular(table: TableName): string {
  return table.slice(0, -1);
}
