// Entry of the Raft log's durable storage: a write-ahead log for entries and hard state, LevelDB
// for snapshots and the compaction point.
export { StorageClosedError, StorageCorruptError, StorageLockedError, StorageWriteError } from './errors';
export {
  type PersistedState,
  RaftStorage,
  type RaftStorageOptions,
  type SaveOptions,
  type StableUpdate,
} from './raft-storage';
export type { WalSyncMode } from './wal';
