// Read views and write transactions over the committed tables. A write transaction only collects
// changes (in TableOverlays); nothing reaches the committed state until its entry comes back from
// Raft and is applied (memory-store.ts).
import type { CheckedAction } from './apply';
import type { ObjectTypes, StoredObject, TableName } from './objects';
import { TABLE_NAMES } from './objects';
import { Table } from './table';
import type { PendingChange } from './table-overlay';
import { TableOverlay } from './table-overlay';
import type { TableState } from './table-state';
import {
  type ClusterReader,
  type ClusterWriter,
  type ConfigReader,
  type ConfigWriter,
  type NetworkReader,
  type NetworkWriter,
  type NodeReader,
  NodeTable,
  type NodeWriter,
  type SecretReader,
  type SecretWriter,
  type ServiceReader,
  ServiceTable,
  type ServiceWriter,
  type TaskReader,
  TaskTable,
  type TaskWriter,
} from './tables';

export type TableStates = { [K in TableName]: TableState<ObjectTypes[K]> };
type TableOverlays = { [K in TableName]: TableOverlay<ObjectTypes[K]> };

/** A consistent, read-only view of the store at one applied index. */
export interface ReadTx {
  /** The Raft index of the last entry applied to what this view shows. */
  readonly appliedIndex: number;
  readonly clusters: ClusterReader;
  readonly nodes: NodeReader;
  readonly services: ServiceReader;
  readonly tasks: TaskReader;
  readonly networks: NetworkReader;
  readonly secrets: SecretReader;
  readonly configs: ConfigReader;
}

/** A write transaction: reads see its own changes; writes are checked now and again when applied. */
export interface WriteTx extends ReadTx {
  readonly clusters: ClusterWriter;
  readonly nodes: NodeWriter;
  readonly services: ServiceWriter;
  readonly tasks: TaskWriter;
  readonly networks: NetworkWriter;
  readonly secrets: SecretWriter;
  readonly configs: ConfigWriter;
}

export class StoreTx implements WriteTx {
  readonly clusters: Table<'clusters'>;
  readonly nodes: NodeTable;
  readonly services: ServiceTable;
  readonly tasks: TaskTable;
  readonly networks: Table<'networks'>;
  readonly secrets: Table<'secrets'>;
  readonly configs: Table<'configs'>;
  private readonly overlays: TableOverlays | undefined;

  constructor(
    states: TableStates,
    private readonly appliedIndexOf: () => number,
    writable: boolean,
  ) {
    const overlays = writable ? newOverlays(states) : undefined;
    this.overlays = overlays;
    this.clusters = new Table('clusters', states.clusters, overlays?.clusters);
    this.nodes = new NodeTable('nodes', states.nodes, overlays?.nodes);
    this.services = new ServiceTable('services', states.services, overlays?.services);
    this.tasks = new TaskTable('tasks', states.tasks, overlays?.tasks);
    this.networks = new Table('networks', states.networks, overlays?.networks);
    this.secrets = new Table('secrets', states.secrets, overlays?.secrets);
    this.configs = new Table('configs', states.configs, overlays?.configs);
  }

  get appliedIndex(): number {
    return this.appliedIndexOf();
  }

  /** How many objects this transaction changes. */
  get changeCount(): number {
    let count = 0;
    if (this.overlays !== undefined) for (const table of TABLE_NAMES) count += this.overlays[table].size;
    return count;
  }

  /** Every change, table by table in the fixed table order, each table in the order objects were touched. */
  changes(): PendingChange<ObjectTypes[TableName]>[] {
    const result: PendingChange<ObjectTypes[TableName]>[] = [];
    if (this.overlays === undefined) return result;
    for (const table of TABLE_NAMES)
      for (const change of this.overlays[table].changes.values()) result.push(change);
    return result;
  }

  /** The changes as the apply-time checks take them (a delete as its ID and the version read). */
  checkedActions(): CheckedAction[] {
    return this.changes().map((c) => ({
      kind: c.kind,
      table: c.table,
      object: c.object ?? ({ meta: { id: c.id, version: c.expectedVersion } } as StoredObject),
    }));
  }

  /** Encoded actions of every change, ready to assemble into one entry. */
  encodedActions(): Uint8Array[] {
    return this.changes().map((change) => change.encoded!);
  }

  /** Total size of the encoded actions. */
  encodedBytes(): number {
    let bytes = 0;
    if (this.overlays !== undefined)
      for (const table of TABLE_NAMES) bytes += this.overlays[table].encodedBytes;
    return bytes;
  }

  /** Batch support: start recording so a failing unit can be undone alone. */
  beginUnit(): void {
    if (this.overlays !== undefined) for (const table of TABLE_NAMES) this.overlays[table].beginUnit();
  }

  endUnit(commit: boolean): void {
    if (this.overlays !== undefined) for (const table of TABLE_NAMES) this.overlays[table].endUnit(commit);
  }

  /** Forgets every change (after a batch flushed them). */
  reset(): void {
    if (this.overlays !== undefined) for (const table of TABLE_NAMES) this.overlays[table].clear();
  }
}

function newOverlays(states: TableStates): TableOverlays {
  return {
    clusters: new TableOverlay(states.clusters),
    nodes: new TableOverlay(states.nodes),
    services: new TableOverlay(states.services),
    tasks: new TableOverlay(states.tasks),
    networks: new TableOverlay(states.networks),
    secrets: new TableOverlay(states.secrets),
    configs: new TableOverlay(states.configs),
  };
}
