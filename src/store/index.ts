// Entry of the replicated store: the MemoryStore, its transactions and watchers, the Proposer
// contract it reaches Raft through, the entry/snapshot codec and the errors.
export type { Batch } from './batch';
export { decodeEntry, encodeEntry } from './codec';
export {
  AlreadyExistsError,
  CorruptEntryError,
  InvalidObjectError,
  NameConflictError,
  NotFoundError,
  ProposalOutcomeUnknownError,
  StoreClosedError,
  StoreError,
  TransactionTooLargeError,
  VersionConflictError,
  WatcherOverflowError,
} from './errors';
export type {
  ChangeKind,
  CommitEvent,
  EventFilter,
  ObjectEvent,
  ObjectEventOf,
  RestoredEvent,
  StoreEvent,
  StoreEventOf,
} from './events';
export { generateId } from './identity';
export {
  DEFAULT_MAX_CHANGES_PER_BATCH_TRANSACTION,
  DEFAULT_MAX_TRANSACTION_BYTES,
  MemoryStore,
  type MemoryStoreOptions,
  type StoreStats,
  type UpdateOptions,
} from './memory-store';
export type {
  Cluster,
  ClusterInput,
  Config,
  ConfigInput,
  InputTypes,
  Network,
  NetworkInput,
  Node,
  NodeInput,
  NodeRole,
  ObjectTypes,
  Secret,
  SecretInput,
  Service,
  ServiceInput,
  StoredObject,
  TableName,
  Task,
  TaskInput,
  TaskState,
} from './objects';
export { TABLE_NAMES } from './objects';
export { type CommittedEntryApplier, LocalProposer, type ProposeOptions, type Proposer } from './proposer';
export { registerStoreMetrics } from './store-metrics';
export type { TableReader, TableWriter } from './table';
export type {
  ClusterReader,
  ClusterWriter,
  ConfigReader,
  ConfigWriter,
  NetworkReader,
  NetworkWriter,
  NodeReader,
  NodeWriter,
  SecretReader,
  SecretWriter,
  ServiceReader,
  ServiceWriter,
  TaskFilter,
  TaskReader,
  TaskWriter,
} from './tables';
export type { ReadTx, WriteTx } from './transaction';
export { DEFAULT_MAX_QUEUED_EVENTS, Watcher, type WatchOptions } from './watcher';
