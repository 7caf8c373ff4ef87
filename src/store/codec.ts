// The one place that turns the generated descriptor into protobufjs encoders for the store: object
// normalization (input shapes → the canonical `__Output` shape), the Raft entry format
// (orch.store.StoreActions) and the snapshot format (orch.store.StoreSnapshot).
// Everything decoded here is what every manager applies, so it must depend on nothing but the bytes.
import { Enum, type IConversionOptions, type Message, Root, Type, Writer } from 'protobufjs';
import { descriptorJson } from '../api/gen/descriptor';
import { CorruptEntryError, InvalidObjectError } from './errors';
import { type ObjectTypes, type StoredObject, TABLE_NAMES, type TableName } from './objects';

// Hot paths read these through module constants rather than globals: cheaper everywhere, and much
// cheaper inside a vm context (Jest), where every global lookup goes through an interceptor.
const { freeze, isFrozen, keys } = Object;
const { isArray } = Array;
const { isInteger, isFinite: isFiniteNumber } = Number;
const Bytes = Uint8Array;
const copyBytes = (bytes: Uint8Array): Buffer => Buffer.from(bytes);

/** The same conversion proto-loader uses (src/api/grpc.ts LOADER_OPTIONS), so objects match the generated types. */
const CONVERSION: IConversionOptions = { longs: Number, enums: String, defaults: true, oneofs: true };

/** Bumped when the snapshot layout changes incompatibly; restore refuses other versions. */
export const SNAPSHOT_FORMAT_VERSION = 1;

export type ActionKind = 'create' | 'update' | 'delete';

const KIND_NAMES: Record<ActionKind, string> = {
  create: 'STORE_ACTION_KIND_CREATE',
  update: 'STORE_ACTION_KIND_UPDATE',
  delete: 'STORE_ACTION_KIND_DELETE',
};

/** The StoreAction oneof member (and StoreSnapshot field) of each table. */
const KIND_OF_NAME = new Map((Object.keys(KIND_NAMES) as ActionKind[]).map((k) => [KIND_NAMES[k], k]));

const ONEOF_FIELD: Record<TableName, string> = {
  clusters: 'cluster',
  nodes: 'node',
  services: 'service',
  tasks: 'task',
  networks: 'network',
  secrets: 'secret',
  configs: 'config',
};
const TABLE_OF_FIELD = new Map(TABLE_NAMES.map((t) => [ONEOF_FIELD[t], t]));

const MESSAGE_NAME: Record<TableName, string> = {
  clusters: 'orch.objects.Cluster',
  nodes: 'orch.objects.Node',
  services: 'orch.objects.Service',
  tasks: 'orch.objects.Task',
  networks: 'orch.objects.Network',
  secrets: 'orch.objects.Secret',
  configs: 'orch.objects.Config',
};

interface Types {
  objects: Record<TableName, Type>;
  action: Type;
  actions: Type;
  snapshot: Type;
  kindValues: Record<ActionKind, number>;
}

let loaded: Types | undefined;

function types(): Types {
  if (loaded) return loaded;
  const root = Root.fromJSON(descriptorJson);
  const objects = {} as Record<TableName, Type>;
  for (const table of TABLE_NAMES) objects[table] = root.lookupType(MESSAGE_NAME[table]);
  const kindEnum = root.lookupEnum('orch.store.StoreActionKind');
  const kindValues = {} as Record<ActionKind, number>;
  for (const kind of Object.keys(KIND_NAMES) as ActionKind[])
    kindValues[kind] = kindEnum.values[KIND_NAMES[kind]]!;
  loaded = {
    objects,
    action: root.lookupType('orch.store.StoreAction'),
    actions: root.lookupType('orch.store.StoreActions'),
    snapshot: root.lookupType('orch.store.StoreSnapshot'),
    kindValues,
  };
  return loaded;
}

/** An object in canonical form plus its protobufjs message (kept to encode without converting again). */
export interface NormalizedObject<K extends TableName> {
  object: ObjectTypes[K];
  message: Message;
}

/**
 * Checks a writer's object against the message schema (unknown fields, enum names, value types),
 * then converts it to the canonical shape: a deep copy, so the caller may keep mutating its input.
 */
export function normalizeObject<K extends TableName>(table: K, input: unknown): NormalizedObject<K> {
  const type = types().objects[table];
  checkMessage(table, type, input, '');
  const message = type.fromObject(input as Record<string, unknown>);
  return { object: type.toObject(message, CONVERSION) as ObjectTypes[K], message };
}

/** Encodes one action of a transaction (a StoreAction message). */
export function encodeAction(kind: ActionKind, table: TableName, message: Message): Uint8Array {
  const t = types();
  const action = t.action.create({ kind: t.kindValues[kind], [ONEOF_FIELD[table]]: message });
  return t.action.encode(action).finish();
}

/** The message a delete carries: only the ID and the version the writer read. */
export function deleteMessage(table: TableName, id: string, version: number): Message {
  return types().objects[table].fromObject({ meta: { id, version } });
}

/**
 * Assembles a StoreActions entry from already encoded actions (field 3 is a repeated embedded
 * message, which on the wire is each action's bytes behind its tag and length).
 */
export function encodeEntry(
  timestampMs: number,
  proposalId: string,
  actions: readonly Uint8Array[],
): Uint8Array {
  const writer = Writer.create();
  if (timestampMs !== 0) writer.uint32((1 << 3) | 0).int64(timestampMs);
  if (proposalId !== '') writer.uint32((2 << 3) | 2).string(proposalId);
  for (const action of actions) writer.uint32((3 << 3) | 2).bytes(action);
  return writer.finish();
}

export interface DecodedAction {
  kind: ActionKind;
  table: TableName;
  object: StoredObject;
}

export interface DecodedEntry {
  timestampMs: number;
  proposalId: string;
  actions: DecodedAction[];
}

/** Decodes a committed entry; objects come back canonical but not frozen (the applier stamps meta first). */
export function decodeEntry(data: Uint8Array): DecodedEntry {
  const t = types();
  let raw: { timestampMs: number; proposalId: string; actions: Array<Record<string, unknown>> };
  try {
    raw = t.actions.toObject(t.actions.decode(data), CONVERSION) as typeof raw;
  } catch (err) {
    throw new CorruptEntryError(`store entry cannot be decoded: ${(err as Error).message}`, { cause: err });
  }
  const actions = raw.actions.map((action, i): DecodedAction => {
    const field = action.target as string | undefined;
    const table = field === undefined ? undefined : TABLE_OF_FIELD.get(field);
    const kind = KIND_OF_NAME.get(action.kind as string);
    if (table === undefined || kind === undefined) {
      throw new CorruptEntryError(
        `store entry action ${i} has kind ${String(action.kind)} and target ${field}`,
      );
    }
    return { kind, table, object: action[field!] as StoredObject };
  });
  return { timestampMs: raw.timestampMs, proposalId: raw.proposalId, actions };
}

export type SnapshotTables = { [K in TableName]: readonly ObjectTypes[K][] };

/** Encodes the whole store; the caller passes every table sorted by ID so equal stores give equal bytes. */
export function encodeSnapshot(appliedIndex: number, tables: SnapshotTables): Uint8Array {
  const t = types();
  const fields: Record<string, unknown> = { formatVersion: SNAPSHOT_FORMAT_VERSION, appliedIndex };
  for (const table of TABLE_NAMES) {
    const type = t.objects[table];
    fields[table] = tables[table].map((o) => type.fromObject(o as unknown as Record<string, unknown>));
  }
  return t.snapshot.encode(t.snapshot.create(fields)).finish();
}

export interface DecodedSnapshot {
  appliedIndex: number;
  tables: { [K in TableName]: ObjectTypes[K][] };
}

export function decodeSnapshot(data: Uint8Array): DecodedSnapshot {
  const t = types();
  let raw: Record<string, unknown>;
  try {
    raw = t.snapshot.toObject(t.snapshot.decode(data), CONVERSION);
  } catch (err) {
    throw new CorruptEntryError(`store snapshot cannot be decoded: ${(err as Error).message}`, {
      cause: err,
    });
  }
  if (raw.formatVersion !== SNAPSHOT_FORMAT_VERSION) {
    throw new CorruptEntryError(
      `store snapshot has format version ${String(raw.formatVersion)}, expected ${SNAPSHOT_FORMAT_VERSION}`,
    );
  }
  const tables = {} as DecodedSnapshot['tables'];
  for (const table of TABLE_NAMES) (tables as Record<string, unknown>)[table] = raw[table];
  return { appliedIndex: raw.appliedIndex as number, tables };
}

/**
 * Deep-freezes a canonical object so readers cannot change what the store holds. Byte fields
 * (typed arrays cannot be frozen) are replaced by private copies, which also lets the Raft entry
 * they were decoded from be collected.
 */
export function freezeObject<T>(value: T): T {
  if (typeof value !== 'object' || value === null) return value;
  if (isFrozen(value)) return value; // a stored subtree, frozen all the way down already
  const record = value as Record<string, unknown>;
  for (const key of keys(record)) {
    const field = record[key];
    if (field instanceof Bytes) record[key] = copyBytes(field);
    else if (typeof field === 'object' && field !== null) freezeObject(field);
  }
  return freeze(value);
}

function checkMessage(table: TableName, type: Type, value: unknown, path: string): void {
  if (typeof value !== 'object' || value === null || isArray(value) || value instanceof Bytes) {
    throw new InvalidObjectError(table, path || 'object', `must be a ${type.name} object`);
  }
  const record = value as Record<string, unknown>;
  for (const key of keys(record)) {
    const field = type.fields[key];
    const fieldValue = record[key];
    if (field === undefined) {
      if (type.oneofs?.[key] !== undefined) continue; // the virtual "which member is set" property
      throw new InvalidObjectError(table, join(path, key), `is not a field of ${type.name}`);
    }
    if (fieldValue === undefined || fieldValue === null) continue;
    field.resolve();
    const fieldPath = join(path, key);
    if (field.map) {
      if (typeof fieldValue !== 'object' || isArray(fieldValue)) {
        throw new InvalidObjectError(table, fieldPath, 'must be a map (plain object)');
      }
      for (const [k, v] of Object.entries(fieldValue))
        checkValue(table, field.type, field.resolvedType, v, `${fieldPath}.${k}`);
    } else if (field.repeated) {
      if (!isArray(fieldValue)) throw new InvalidObjectError(table, fieldPath, 'must be an array');
      fieldValue.forEach((v, i) => {
        checkValue(table, field.type, field.resolvedType, v, `${fieldPath}[${i}]`);
      });
    } else {
      checkValue(table, field.type, field.resolvedType, fieldValue, fieldPath);
    }
  }
}

function checkValue(table: TableName, scalar: string, resolved: unknown, value: unknown, path: string): void {
  if (resolved instanceof Type) {
    checkMessage(table, resolved, value, path);
    return;
  }
  if (resolved instanceof Enum) {
    const ok = typeof value === 'string' ? value in resolved.values : isInteger(value);
    if (!ok)
      throw new InvalidObjectError(table, path, `must be one of ${Object.keys(resolved.values).join(', ')}`);
    return;
  }
  switch (scalar) {
    case 'string':
      if (typeof value !== 'string') throw new InvalidObjectError(table, path, 'must be a string');
      return;
    case 'bool':
      if (typeof value !== 'boolean') throw new InvalidObjectError(table, path, 'must be a boolean');
      return;
    case 'bytes':
      if (!(value instanceof Bytes) && typeof value !== 'string') {
        throw new InvalidObjectError(table, path, 'must be bytes (Uint8Array) or a base64 string');
      }
      return;
    case 'double':
    case 'float':
      if (typeof value !== 'number' || !isFiniteNumber(value))
        throw new InvalidObjectError(table, path, 'must be a finite number');
      return;
    default: {
      // Integer types; 64-bit ones may also arrive as decimal strings or Long objects.
      const unsigned = scalar.startsWith('u') || scalar.startsWith('fixed');
      if (typeof value === 'number') {
        if (!isInteger(value)) throw new InvalidObjectError(table, path, 'must be an integer');
        if (unsigned && value < 0) throw new InvalidObjectError(table, path, 'must not be negative');
      } else if (typeof value === 'string') {
        if (!/^-?\d+$/.test(value)) throw new InvalidObjectError(table, path, 'must be an integer');
      } else if (typeof value !== 'object' || !('low' in (value as object))) {
        throw new InvalidObjectError(table, path, 'must be an integer');
      }
    }
  }
}

function join(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}
