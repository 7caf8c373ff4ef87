// What watchers receive. Events of one committed entry arrive together, in the entry's order,
// followed (for watchers that asked) by a commit event carrying the entry's index.
import type { ObjectTypes, TableName } from './objects';

export type ChangeKind = 'create' | 'update' | 'delete';

/**
 * One object changed. `object` is the new object (create, update) or the object as it was when
 * deleted (delete); `old` is the previous object of an update. Both are the store's frozen objects.
 */
export type ObjectEvent = {
  [K in TableName]: {
    readonly type: ChangeKind;
    readonly table: K;
    readonly object: ObjectTypes[K];
    readonly old: ObjectTypes[K] | undefined;
    /** The Raft index of the entry that made the change (the object's new meta.version unless deleted). */
    readonly index: number;
  };
}[TableName];

/** Every change of the entry at `index` has been delivered: a good moment to reconcile. */
export interface CommitEvent {
  readonly type: 'commit';
  readonly index: number;
}

/** The whole store was replaced from a snapshot: watchers must resync from a fresh view. */
export interface RestoredEvent {
  readonly type: 'restored';
  readonly index: number;
}

export type StoreEvent = ObjectEvent | CommitEvent | RestoredEvent;

/** The change events of some tables only: what a subscriber with `tables: [...]` receives. */
export type ObjectEventOf<K extends TableName> = Extract<ObjectEvent, { readonly table: K }>;
export type StoreEventOf<K extends TableName> = ObjectEventOf<K> | CommitEvent | RestoredEvent;

/** What a subscriber wants; with `tables`, the events it receives are typed for those tables. */
export interface EventFilter<K extends TableName = TableName> {
  /** Only changes to these tables (default: all). */
  tables?: readonly K[];
  /** Only these kinds of change (default: all). */
  types?: readonly ChangeKind[];
  /** Any further condition, e.g. `(e) => e.object.nodeId === nodeId` with `tables: ['tasks']`. */
  filter?: (event: ObjectEventOf<K>) => boolean;
  /** Also deliver a commit event after each applied entry (default false). */
  commits?: boolean;
}

/** Whether a subscriber with this filter wants the event. Restored events always pass. */
export function eventMatches<K extends TableName>(filter: EventFilter<K>, event: StoreEvent): boolean {
  if (event.type === 'restored') return true;
  if (event.type === 'commit') return filter.commits === true;
  if (filter.tables !== undefined && !(filter.tables as readonly TableName[]).includes(event.table))
    return false;
  if (filter.types !== undefined && !filter.types.includes(event.type)) return false;
  // Past the table check, the event belongs to one of the filter's tables.
  return filter.filter === undefined || filter.filter(event as ObjectEventOf<K>);
}
