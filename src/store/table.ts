// Access to one table inside a transaction: reads through the transaction's pending changes (if it
// writes) to the committed state, and writes that normalize, validate and record a change.
// Readers get the store's frozen objects; writers hand in any input shape and get back the frozen,
// canonical object as it will be proposed (meta.version still the version read; the applier
// stamps the new version and times).
import type { Message } from 'protobufjs';
import { deleteMessage, encodeAction, freezeObject, normalizeObject } from './codec';
import { StoreError } from './errors';
import { generateId } from './identity';
import type { InputTypes, ObjectTypes, TableName } from './objects';
import { nameKey, SCHEMAS, type TableSchema, validateObject } from './schema';
import type { TableOverlay } from './table-overlay';
import type { TableState } from './table-state';

export interface TableReader<T> {
  /** The object with this ID, or undefined. */
  get(id: string): T | undefined;
  /** The object with this unique name (case-insensitive); undefined in tables without unique names. */
  getByName(name: string): T | undefined;
  /** Every object (order unspecified). */
  list(): T[];
  count(): number;
  /** Objects for which the predicate holds (a full scan). */
  filter(predicate: (object: T) => boolean): T[];
  /** Objects whose ID starts with the prefix, as Docker resolves short IDs (a full scan). */
  findByIdPrefix(prefix: string): T[];
  /** Objects whose unique name starts with the prefix, case-insensitively (a full scan). */
  findByNamePrefix(prefix: string): T[];
}

export interface TableWriter<T, I> extends TableReader<T> {
  /** Adds an object; a missing meta.id gets a fresh one. Refused if the ID or the name is taken. */
  create(object: I): T;
  /** Replaces an object; its meta.version must be the version currently stored (optimistic concurrency). */
  update(object: I): T;
  /** Deletes an object; with `version`, only if it is still at that version. Returns the deleted object. */
  delete(id: string, version?: number): T;
}

export class Table<K extends TableName> implements TableWriter<ObjectTypes[K], InputTypes[K]> {
  protected readonly schema: TableSchema<ObjectTypes[K]>;

  /** `overlay` is present in write transactions only. */
  constructor(
    protected readonly table: K,
    protected readonly state: TableState<ObjectTypes[K]>,
    protected readonly overlay: TableOverlay<ObjectTypes[K]> | undefined,
  ) {
    this.schema = SCHEMAS[table] as unknown as TableSchema<ObjectTypes[K]>;
  }

  get(id: string): ObjectTypes[K] | undefined {
    return this.overlay === undefined ? this.state.get(id) : this.overlay.get(id);
  }

  getByName(name: string): ObjectTypes[K] | undefined {
    if (this.schema.uniqueName === undefined) return undefined;
    const key = nameKey(name);
    const owner = this.overlay === undefined ? this.state.nameOwner(key) : this.overlay.nameOwner(key);
    return owner === undefined ? undefined : this.get(owner);
  }

  list(): ObjectTypes[K][] {
    const overlay = this.overlay;
    if (overlay === undefined || overlay.size === 0) return [...this.state.values()];
    const result: ObjectTypes[K][] = [];
    for (const object of this.state.values()) {
      const change = overlay.changes.get(object.meta!.id);
      if (change === undefined) result.push(object);
      else if (change.object !== undefined) result.push(change.object);
    }
    for (const change of overlay.changes.values()) if (change.kind === 'create') result.push(change.object!);
    return result;
  }

  count(): number {
    const overlay = this.overlay;
    let count = this.state.size;
    if (overlay !== undefined) {
      for (const change of overlay.changes.values()) {
        if (change.kind === 'create') count++;
        else if (change.kind === 'delete') count--;
      }
    }
    return count;
  }

  filter(predicate: (object: ObjectTypes[K]) => boolean): ObjectTypes[K][] {
    return this.list().filter(predicate);
  }

  findByIdPrefix(prefix: string): ObjectTypes[K][] {
    const exact = this.get(prefix);
    if (exact !== undefined) return [exact];
    return this.filter((o) => o.meta!.id.startsWith(prefix));
  }

  findByNamePrefix(prefix: string): ObjectTypes[K][] {
    const uniqueName = this.schema.uniqueName;
    if (uniqueName === undefined) return [];
    const key = nameKey(prefix);
    return this.filter((o) => nameKey(uniqueName(o)).startsWith(key));
  }

  create(input: InputTypes[K]): ObjectTypes[K] {
    const overlay = this.writable();
    const meta = (input as { meta?: { id?: string } | null }).meta;
    const withMeta = {
      ...input,
      meta: { id: meta?.id || generateId(), version: 0, createdAtMs: 0, updatedAtMs: 0 },
    };
    const { object, message } = this.normalize(withMeta);
    overlay.create(object, encodeAction('create', this.table, message));
    return object;
  }

  update(input: InputTypes[K]): ObjectTypes[K] {
    const overlay = this.writable();
    const { object, message } = this.normalize(input);
    overlay.update(object, (kind) => encodeAction(kind, this.table, message));
    return object;
  }

  delete(id: string, version?: number): ObjectTypes[K] {
    const encode = (expectedVersion: number): Uint8Array =>
      encodeAction('delete', this.table, deleteMessage(this.table, id, expectedVersion));
    return this.writable().delete(id, version, encode).deleted;
  }

  /** Objects under one key of a secondary index, as this transaction sees them. */
  protected byIndex(index: string, key: string): ObjectTypes[K][] {
    const ids = this.state.lookup(index, key);
    const overlay = this.overlay;
    const result: ObjectTypes[K][] = [];
    if (overlay === undefined || overlay.size === 0) {
      for (const id of ids) result.push(this.state.get(id)!);
      return result;
    }
    for (const id of ids) if (!overlay.changes.has(id)) result.push(this.state.get(id)!);
    for (const change of overlay.changes.values()) {
      if (change.object !== undefined && this.matches(change.object, index, key)) result.push(change.object);
    }
    return result;
  }

  /** Objects matching every (index, key) pair: looks up the most selective index, then filters. */
  protected byIndexes(criteria: ReadonlyArray<readonly [string, string]>): ObjectTypes[K][] {
    if (criteria.length === 0) return this.list();
    let best = criteria[0]!;
    for (const c of criteria)
      if (this.state.lookup(c[0], c[1]).size < this.state.lookup(best[0], best[1]).size) best = c;
    const candidates = this.byIndex(best[0], best[1]);
    if (criteria.length === 1) return candidates;
    return candidates.filter((o) => criteria.every(([index, key]) => this.matches(o, index, key)));
  }

  private matches(object: ObjectTypes[K], index: string, key: string): boolean {
    const keys = this.schema.indexes[index]!(object);
    return keys === undefined ? false : typeof keys === 'string' ? keys === key : keys.includes(key);
  }

  private normalize(input: unknown): { object: ObjectTypes[K]; message: Message } {
    const normalized = normalizeObject(this.table, input);
    validateObject(this.table, normalized.object);
    freezeObject(normalized.object);
    return normalized;
  }

  private writable(): TableOverlay<ObjectTypes[K]> {
    if (this.overlay === undefined) throw new StoreError(`${this.table}: cannot write in a read-only view`);
    return this.overlay;
  }
}
