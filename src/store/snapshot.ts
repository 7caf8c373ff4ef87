// Whole-store snapshots for Raft compaction: every table sorted by ID (so equal stores encode to
// equal bytes) plus the applied index; and the reverse, rebuilding tables and indexes from one,
// refusing anything a store could not have held (bad objects, duplicate IDs or names).

import { emptyStates, shareWithStored } from './apply';
import { decodeSnapshot, encodeSnapshot, freezeObject, type SnapshotTables } from './codec';
import { AlreadyExistsError, CorruptEntryError, NameConflictError } from './errors';
import { type ObjectTypes, type StoredObject, TABLE_NAMES, type TableName } from './objects';
import { nameKey, SCHEMAS, type TableSchema, validateObject } from './schema';
import type { TableState } from './table-state';
import type { TableStates } from './transaction';

export function encodeStoreSnapshot(states: TableStates, appliedIndex: number): Uint8Array {
  const tables = {} as { [K in TableName]: ObjectTypes[K][] };
  for (const table of TABLE_NAMES)
    (tables as Record<TableName, StoredObject[]>)[table] = states[table].sorted();
  return encodeSnapshot(appliedIndex, tables as SnapshotTables);
}

/** Decodes and checks a snapshot into fresh tables; throws CorruptEntryError and builds nothing on failure. */
export function loadStoreSnapshot(data: Uint8Array): { states: TableStates; appliedIndex: number } {
  const snapshot = decodeSnapshot(data);
  const states = emptyStates();
  for (const table of TABLE_NAMES) {
    const state = states[table] as TableState<StoredObject>;
    const schema = SCHEMAS[table] as TableSchema;
    for (const object of snapshot.tables[table] as StoredObject[]) {
      try {
        validateObject(table, object);
      } catch (err) {
        throw new CorruptEntryError(`store snapshot: ${(err as Error).message}`, { cause: err });
      }
      const id = object.meta!.id;
      if (state.has(id))
        throw new CorruptEntryError(`store snapshot: ${new AlreadyExistsError(table, id).message}`);
      const name = schema.uniqueName?.(object);
      const owner = name === undefined ? undefined : state.nameOwner(nameKey(name));
      if (owner !== undefined) {
        throw new CorruptEntryError(`store snapshot: ${new NameConflictError(table, name!, owner).message}`);
      }
      // Services load before tasks (TABLE_NAMES order), so tasks share their service's spec again.
      state.put(freezeObject(shareWithStored(states, table, object, undefined)));
    }
  }
  return { states, appliedIndex: snapshot.appliedIndex };
}
