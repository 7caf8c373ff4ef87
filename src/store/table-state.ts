// One committed table: objects by ID, the unique-name index and the secondary indexes, kept in step
// on every change. Only the applier (memory-store.ts) writes here; objects are frozen before they
// arrive, so a reference handed to a reader stays a valid snapshot of that version forever.
import type { StoredObject } from './objects';
import { type IndexKeys, nameKey, type TableSchema } from './schema';

const EMPTY: ReadonlySet<string> = new Set();

export class TableState<T extends StoredObject> {
  private readonly objects = new Map<string, T>();
  /** nameKey(name) → ID, for tables with unique names. */
  private readonly names = new Map<string, string>();
  /** index name → key → IDs. Invariant: an ID is under key k of index i iff schema.indexes[i](object) yields k. */
  private readonly indexes = new Map<string, Map<string, Set<string>>>();
  /** The same indexes as a list with their key functions, for the per-change loops. */
  private readonly indexList: ReadonlyArray<{
    keysOf: (object: T) => IndexKeys;
    byKey: Map<string, Set<string>>;
  }>;

  constructor(readonly schema: TableSchema<T>) {
    this.indexList = Object.entries(schema.indexes).map(([index, keysOf]) => {
      const byKey = new Map<string, Set<string>>();
      this.indexes.set(index, byKey);
      return { keysOf, byKey };
    });
  }

  get size(): number {
    return this.objects.size;
  }

  get(id: string): T | undefined {
    return this.objects.get(id);
  }

  has(id: string): boolean {
    return this.objects.has(id);
  }

  /** The ID holding a unique name (by nameKey), if any. */
  nameOwner(key: string): string | undefined {
    return this.names.get(key);
  }

  /** IDs under one key of a secondary index. The set is live: copy it before the store changes. */
  lookup(index: string, key: string): ReadonlySet<string> {
    const byKey = this.indexes.get(index);
    if (byKey === undefined) throw new Error(`${this.schema.table} has no index ${index}`);
    return byKey.get(key) ?? EMPTY;
  }

  hasIndex(index: string): boolean {
    return this.indexes.has(index);
  }

  values(): IterableIterator<T> {
    return this.objects.values();
  }

  /** Every object sorted by ID: the deterministic order snapshots need. */
  sorted(): T[] {
    return [...this.objects.values()].sort((a, b) => compareIds(a.meta!.id, b.meta!.id));
  }

  /** Inserts or replaces; returns the replaced object. The caller has checked name uniqueness. */
  put(object: T): T | undefined {
    const id = object.meta!.id;
    const old = this.objects.get(id);
    this.objects.set(id, object);
    const uniqueName = this.schema.uniqueName;
    if (uniqueName !== undefined) {
      const newKey = nameKey(uniqueName(object));
      if (old !== undefined) {
        const oldKey = nameKey(uniqueName(old));
        if (oldKey !== newKey && this.names.get(oldKey) === id) this.names.delete(oldKey);
      }
      this.names.set(newKey, id);
    }
    for (const { keysOf, byKey } of this.indexList) {
      const newKeys = keysOf(object);
      if (old !== undefined) {
        const oldKeys = keysOf(old);
        if (sameKeys(oldKeys, newKeys)) continue;
        forEachKey(oldKeys, (key) => removeFrom(byKey, key, id));
      }
      forEachKey(newKeys, (key) => addTo(byKey, key, id));
    }
    return old;
  }

  remove(id: string): T | undefined {
    const old = this.objects.get(id);
    if (old === undefined) return undefined;
    this.objects.delete(id);
    if (this.schema.uniqueName !== undefined) {
      const key = nameKey(this.schema.uniqueName(old));
      if (this.names.get(key) === id) this.names.delete(key);
    }
    for (const { keysOf, byKey } of this.indexList)
      forEachKey(keysOf(old), (key) => removeFrom(byKey, key, id));
    return old;
  }

  clear(): void {
    this.objects.clear();
    this.names.clear();
    for (const byKey of this.indexes.values()) byKey.clear();
  }
}

/** Plain code-unit order: deterministic and locale-independent. */
export function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function forEachKey(keys: IndexKeys, fn: (key: string) => void): void {
  if (keys === undefined) return;
  if (typeof keys === 'string') fn(keys);
  else for (const key of keys) fn(key);
}

function sameKeys(a: IndexKeys, b: IndexKeys): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined || typeof a === 'string' || typeof b === 'string') return false;
  return a.length === b.length && a.every((key, i) => key === b[i]);
}

function addTo(byKey: Map<string, Set<string>>, key: string, id: string): void {
  let ids = byKey.get(key);
  if (ids === undefined) {
    ids = new Set();
    byKey.set(key, ids);
  }
  ids.add(id);
}

function removeFrom(byKey: Map<string, Set<string>>, key: string, id: string): void {
  const ids = byKey.get(key);
  if (ids === undefined) return;
  ids.delete(id);
  if (ids.size === 0) byKey.delete(key);
}
