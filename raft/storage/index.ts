// Entry of the Raft log's durable storage (LevelDB).
export { StorageClosedError, StorageCorruptError, StorageLockedError } from './errors';
export {
  LevelStorage,
  type LevelStorageOptions,
  type PersistedState,
  type StableUpdate,
} from './level-storage';
