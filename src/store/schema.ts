// What each table knows about its objects: the unique name (if the table has one), the secondary
// indexes maintained on apply, and the checks an object must pass to be stored at all.
// Index functions must be pure functions of the object: every manager computes them identically.
import { InvalidObjectError } from './errors';
import type { ObjectTypes, StoredObject, TableName } from './objects';

/** Index keys of one object: none, one, or several (multi-valued indexes such as "secrets used"). */
export type IndexKeys = string | readonly string[] | undefined;

export interface TableSchema<T extends StoredObject = StoredObject> {
  readonly table: TableName;
  /** The object's name if the table enforces unique names (compared case-insensitively, as Swarm does). */
  readonly uniqueName?: (object: T) => string;
  readonly indexes: Readonly<Record<string, (object: T) => IndexKeys>>;
}

/** The key under which a unique name is indexed. `toLowerCase` is locale-independent, so deterministic. */
export function nameKey(name: string): string {
  return name.toLowerCase();
}

/** Index key of a task slot: (service, slot). */
export function slotKey(serviceId: string, slot: number): string {
  return `${serviceId}\u0000${slot}`;
}

const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

type Schemas = { [K in TableName]: TableSchema<ObjectTypes[K]> };

const specName = (o: { spec: { name: string } | null }): string => o.spec?.name ?? '';

export const SCHEMAS: Schemas = {
  clusters: { table: 'clusters', uniqueName: specName, indexes: {} },
  nodes: {
    table: 'nodes',
    indexes: {
      role: (n) => n.role,
    },
  },
  services: {
    table: 'services',
    uniqueName: specName,
    indexes: {
      secretId: (s) => s.spec?.container?.secrets.map((r) => r.secretId) ?? [],
      configId: (s) => s.spec?.container?.configs.map((r) => r.configId) ?? [],
      network: (s) => s.spec?.networks.map((n) => n.target) ?? [],
    },
  },
  tasks: {
    table: 'tasks',
    indexes: {
      serviceId: (t) => t.serviceId || undefined,
      nodeId: (t) => t.nodeId || undefined,
      slot: (t) => (t.serviceId ? slotKey(t.serviceId, t.slot) : undefined),
      desiredState: (t) => t.desiredState,
    },
  },
  networks: { table: 'networks', uniqueName: specName, indexes: {} },
  secrets: { table: 'secrets', uniqueName: specName, indexes: {} },
  configs: { table: 'configs', uniqueName: specName, indexes: {} },
};

/** Checks what every stored object needs: a well-formed ID, and a name where names are unique. */
export function validateObject(table: TableName, object: StoredObject): void {
  const id = object.meta?.id ?? '';
  if (id === '') throw new InvalidObjectError(table, 'meta.id', 'is required');
  if (!ID_PATTERN.test(id)) {
    throw new InvalidObjectError(table, 'meta.id', `"${id}" must be 1-128 letters, digits, '_', '.' or '-'`);
  }
  const schema = SCHEMAS[table] as TableSchema;
  if (schema.uniqueName !== undefined && schema.uniqueName(object) === '') {
    throw new InvalidObjectError(table, 'spec.name', 'is required', id);
  }
}
