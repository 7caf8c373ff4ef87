// Applying one committed transaction to the tables, all or nothing. The checks replay the actions
// through TableOverlays against the state at this index — the same checks a writer's transaction
// passed when it was proposed, but now authoritative: a proposal that raced another (two leaders,
// or two writers of one object) loses here, identically on every manager. Only then is anything
// written, with meta.version = index and times from the entry, never from the local clock.
import type { ActionKind, DecodedAction } from './codec';
import { freezeObject } from './codec';
import { InvalidObjectError } from './errors';
import type { ObjectEvent } from './events';
import { type ObjectTypes, type StoredObject, TABLE_NAMES, type TableName } from './objects';
import { SCHEMAS, type TableSchema, validateObject } from './schema';
import { shareEqual } from './structural-sharing';
import { TableOverlay } from './table-overlay';
import { TableState } from './table-state';
import type { TableStates } from './transaction';

/** An action as the checks see it: delete carries only meta (ID and the version the writer read). */
export interface CheckedAction {
  kind: ActionKind;
  table: TableName;
  object: StoredObject;
}

/**
 * Throws the typed error of the first action that cannot apply to `states` (InvalidObjectError,
 * AlreadyExistsError, NotFoundError, VersionConflictError, NameConflictError); writes nothing.
 */
export function checkActions(states: TableStates, actions: readonly CheckedAction[]): void {
  const overlays = new Map<TableName, TableOverlay<StoredObject>>();
  for (const action of actions) {
    let overlay = overlays.get(action.table);
    if (overlay === undefined) {
      overlay = new TableOverlay(states[action.table] as TableState<StoredObject>);
      overlays.set(action.table, overlay);
    }
    const meta = action.object.meta;
    switch (action.kind) {
      case 'create':
        validateObject(action.table, action.object);
        overlay.create(action.object);
        break;
      case 'update':
        validateObject(action.table, action.object);
        overlay.update(action.object);
        break;
      case 'delete':
        if (!meta?.id) throw new InvalidObjectError(action.table, 'meta.id', 'is required');
        overlay.delete(meta.id, meta.version);
        break;
    }
  }
}

/**
 * Checks, then applies the entry at `index`. Objects are the entry's freshly decoded ones: they are
 * stamped and frozen here. Returns the change events in the entry's order.
 */
export function applyActions(
  states: TableStates,
  actions: readonly DecodedAction[],
  index: number,
  timestampMs: number,
): ObjectEvent[] {
  checkActions(states, actions);
  const events: ObjectEvent[] = [];
  for (const action of actions) {
    const state = states[action.table] as TableState<StoredObject>;
    const meta = action.object.meta!;
    if (action.kind === 'delete') {
      const old = state.remove(meta.id)!;
      events.push(event('delete', action.table, old, undefined, index));
      continue;
    }
    const current = state.get(meta.id);
    meta.version = index;
    meta.createdAtMs = current?.meta?.createdAtMs ?? timestampMs;
    meta.updatedAtMs = timestampMs;
    const object = freezeObject(shareWithStored(states, action.table, action.object, current));
    state.put(object);
    events.push(event(action.kind, action.table, object, current, index));
  }
  return events;
}

/** Reuses equal subtrees of the previous version (and a task's service spec): see structural-sharing.ts. */
export function shareWithStored(
  states: TableStates,
  table: TableName,
  object: StoredObject,
  current: StoredObject | undefined,
): StoredObject {
  if (table === 'tasks') {
    const task = object as ObjectTypes['tasks'];
    const service = states.services.get(task.serviceId);
    if (task.spec !== null && service?.spec) task.spec = shareEqual(task.spec, service.spec);
  }
  return current === undefined ? object : shareEqual(object, current);
}

function event(
  type: ActionKind,
  table: TableName,
  object: StoredObject,
  old: StoredObject | undefined,
  index: number,
): ObjectEvent {
  return Object.freeze({ type, table, object, old, index }) as ObjectEvent;
}

/** Empty tables, one per object type. */
export function emptyStates(): TableStates {
  const states = {} as Record<TableName, TableState<StoredObject>>;
  for (const table of TABLE_NAMES) states[table] = new TableState(SCHEMAS[table] as TableSchema);
  return states as unknown as TableStates;
}
