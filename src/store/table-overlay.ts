// Pending changes to one table on top of its committed state, with every check a change must pass:
// ID uniqueness on create, existence on update/delete, optimistic concurrency on meta.version, and
// unique names. A write transaction collects its changes here; the applier replays a committed
// entry through the same checks against the state at its index, so every manager decides alike.
import type { ActionKind } from './codec';
import { AlreadyExistsError, NameConflictError, NotFoundError, VersionConflictError } from './errors';
import type { StoredObject, TableName } from './objects';
import { nameKey, type TableSchema } from './schema';
import type { TableState } from './table-state';

/** The net effect of a transaction on one object. */
export interface PendingChange<T extends StoredObject> {
  readonly kind: ActionKind;
  readonly table: TableName;
  readonly id: string;
  /** The new object (create/update); undefined for delete. */
  readonly object: T | undefined;
  /** update/delete: the committed version the writer read (checked again when the entry applies). */
  readonly expectedVersion: number;
  /** The encoded StoreAction (write transactions give it with the change; the applier does not need it). */
  readonly encoded?: Uint8Array;
}

interface JournalEntry<T extends StoredObject> {
  id: string;
  previous: PendingChange<T> | undefined;
}

export class TableOverlay<T extends StoredObject> {
  /** ID → net change, in the order objects were first touched. */
  readonly changes = new Map<string, PendingChange<T>>();
  /** nameKey → ID for names held by objects in this overlay. */
  private readonly names = new Map<string, string>();
  /** ID → nameKey it holds in `names`. */
  private readonly nameOf = new Map<string, string>();
  /** Sum of the encoded sizes of `changes`. */
  private bytes = 0;
  /** Undo log while a batch unit runs; undefined outside one. */
  private journal: JournalEntry<T>[] | undefined;

  constructor(readonly base: TableState<T>) {}

  get schema(): TableSchema<T> {
    return this.base.schema;
  }

  get size(): number {
    return this.changes.size;
  }

  /** Encoded size of every pending change. */
  get encodedBytes(): number {
    return this.bytes;
  }

  /** The object as this transaction sees it (its own changes over the committed state). */
  get(id: string): T | undefined {
    const change = this.changes.get(id);
    return change === undefined ? this.base.get(id) : change.object;
  }

  /** The ID that holds a unique name from this transaction's point of view. */
  nameOwner(key: string): string | undefined {
    const pending = this.names.get(key);
    if (pending !== undefined) return pending;
    const committed = this.base.nameOwner(key);
    // A committed holder that this transaction deleted or renamed no longer holds it.
    return committed !== undefined && !this.changes.has(committed) ? committed : undefined;
  }

  create(object: T, encoded?: Uint8Array): PendingChange<T> {
    const id = object.meta!.id;
    if (this.get(id) !== undefined || this.changes.get(id)?.kind === 'delete') {
      throw new AlreadyExistsError(this.schema.table, id);
    }
    this.checkName(object);
    return this.set(id, {
      kind: 'create',
      table: this.schema.table,
      id,
      object,
      expectedVersion: 0,
      encoded,
    })!;
  }

  update(object: T, encode?: (kind: ActionKind) => Uint8Array): PendingChange<T> {
    const id = object.meta!.id;
    const current = this.get(id);
    if (current === undefined) throw new NotFoundError(this.schema.table, id);
    const version = object.meta!.version;
    if (version !== current.meta!.version) {
      throw new VersionConflictError(this.schema.table, id, version, current.meta!.version);
    }
    this.checkName(object);
    const previous = this.changes.get(id);
    const kind = previous?.kind === 'create' ? 'create' : 'update';
    const expectedVersion = kind === 'create' ? 0 : this.base.get(id)!.meta!.version;
    return this.set(id, {
      kind,
      table: this.schema.table,
      id,
      object,
      expectedVersion,
      encoded: encode?.(kind),
    })!;
  }

  /**
   * Deletes; with `version`, only if the object is still at that version. Returns what was deleted
   * and the resulting change (undefined when the object was created by this same transaction).
   */
  delete(
    id: string,
    version?: number,
    encode?: (expectedVersion: number) => Uint8Array,
  ): { deleted: T; change: PendingChange<T> | undefined } {
    const current = this.get(id);
    if (current === undefined) throw new NotFoundError(this.schema.table, id);
    if (version !== undefined && version !== current.meta!.version) {
      throw new VersionConflictError(this.schema.table, id, version, current.meta!.version);
    }
    const expectedVersion = this.base.get(id)?.meta?.version ?? 0;
    const change: PendingChange<T> | undefined =
      this.changes.get(id)?.kind === 'create'
        ? undefined
        : {
            kind: 'delete',
            table: this.schema.table,
            id,
            object: undefined,
            expectedVersion,
            encoded: encode?.(expectedVersion),
          };
    this.set(id, change);
    return { deleted: current, change };
  }

  /** Starts recording an undo log (batch units roll back alone when their callback throws). */
  beginUnit(): void {
    this.journal = [];
  }

  endUnit(commit: boolean): void {
    const journal = this.journal;
    this.journal = undefined;
    if (commit || journal === undefined) return;
    for (let i = journal.length - 1; i >= 0; i--) this.set(journal[i]!.id, journal[i]!.previous);
  }

  clear(): void {
    this.changes.clear();
    this.bytes = 0;
    this.names.clear();
    this.nameOf.clear();
  }

  private checkName(object: T): void {
    const uniqueName = this.schema.uniqueName;
    if (uniqueName === undefined) return;
    const name = uniqueName(object);
    const owner = this.nameOwner(nameKey(name));
    if (owner !== undefined && owner !== object.meta!.id) {
      throw new NameConflictError(this.schema.table, name, owner);
    }
  }

  private set(id: string, change: PendingChange<T> | undefined): PendingChange<T> | undefined {
    const previous = this.changes.get(id);
    this.journal?.push({ id, previous });
    this.bytes += (change?.encoded?.length ?? 0) - (previous?.encoded?.length ?? 0);
    const oldKey = this.nameOf.get(id);
    if (oldKey !== undefined) {
      if (this.names.get(oldKey) === id) this.names.delete(oldKey);
      this.nameOf.delete(id);
    }
    if (change === undefined) {
      this.changes.delete(id);
      return undefined;
    }
    this.changes.set(id, change);
    const uniqueName = this.schema.uniqueName;
    if (uniqueName !== undefined && change.object !== undefined) {
      const key = nameKey(uniqueName(change.object));
      this.names.set(key, id);
      this.nameOf.set(id, key);
    }
    return change;
  }
}
