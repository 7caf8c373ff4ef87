// The typed tables: the generic access of table.ts plus named queries over each table's indexes
// (schema.ts). These are what `tx.tasks`, `tx.nodes`, ... are.
import type {
  Cluster,
  ClusterInput,
  Config,
  ConfigInput,
  Network,
  NetworkInput,
  Node,
  NodeInput,
  NodeRole,
  Secret,
  SecretInput,
  Service,
  ServiceInput,
  Task,
  TaskInput,
  TaskState,
} from './objects';
import { slotKey } from './schema';
import { Table, type TableReader, type TableWriter } from './table';

/** Criteria for `tasks.find`: every given field must match; indexes do the work. */
export interface TaskFilter {
  serviceId?: string;
  nodeId?: string;
  /** With serviceId: the tasks of that slot (current and history). */
  slot?: number;
  desiredState?: TaskState;
}

export interface TaskReader extends TableReader<Task> {
  findByService(serviceId: string): Task[];
  findByNode(nodeId: string): Task[];
  /** The tasks of one replicated slot: the current one and its history. */
  findBySlot(serviceId: string, slot: number): Task[];
  findByDesiredState(state: TaskState): Task[];
  find(filter: TaskFilter): Task[];
}

export interface NodeReader extends TableReader<Node> {
  findByRole(role: NodeRole): Node[];
}

export interface ServiceReader extends TableReader<Service> {
  /** Services whose containers use the secret (by secret ID). */
  findBySecret(secretId: string): Service[];
  findByConfig(configId: string): Service[];
  /** Services attached to a network (by the target written in the spec: ID or name). */
  findByNetwork(target: string): Service[];
}

export interface TaskWriter extends TaskReader, TableWriter<Task, TaskInput> {}
export interface NodeWriter extends NodeReader, TableWriter<Node, NodeInput> {}
export interface ServiceWriter extends ServiceReader, TableWriter<Service, ServiceInput> {}

export class TaskTable extends Table<'tasks'> implements TaskWriter {
  findByService(serviceId: string): Task[] {
    return this.byIndex('serviceId', serviceId);
  }

  findByNode(nodeId: string): Task[] {
    return this.byIndex('nodeId', nodeId);
  }

  findBySlot(serviceId: string, slot: number): Task[] {
    return this.byIndex('slot', slotKey(serviceId, slot));
  }

  findByDesiredState(state: TaskState): Task[] {
    return this.byIndex('desiredState', state);
  }

  find(filter: TaskFilter): Task[] {
    const criteria: Array<readonly [string, string]> = [];
    if (filter.serviceId !== undefined) {
      criteria.push(
        filter.slot === undefined
          ? ['serviceId', filter.serviceId]
          : ['slot', slotKey(filter.serviceId, filter.slot)],
      );
    } else if (filter.slot !== undefined) {
      throw new TypeError('tasks.find: slot needs serviceId');
    }
    if (filter.nodeId !== undefined) criteria.push(['nodeId', filter.nodeId]);
    if (filter.desiredState !== undefined) criteria.push(['desiredState', filter.desiredState]);
    return this.byIndexes(criteria);
  }
}

export class NodeTable extends Table<'nodes'> implements NodeWriter {
  findByRole(role: NodeRole): Node[] {
    return this.byIndex('role', role);
  }
}

export class ServiceTable extends Table<'services'> implements ServiceWriter {
  findBySecret(secretId: string): Service[] {
    return this.byIndex('secretId', secretId);
  }

  findByConfig(configId: string): Service[] {
    return this.byIndex('configId', configId);
  }

  findByNetwork(target: string): Service[] {
    return this.byIndex('network', target);
  }
}

export type ClusterReader = TableReader<Cluster>;
export type NetworkReader = TableReader<Network>;
export type SecretReader = TableReader<Secret>;
export type ConfigReader = TableReader<Config>;
export type ClusterWriter = TableWriter<Cluster, ClusterInput>;
export type NetworkWriter = TableWriter<Network, NetworkInput>;
export type SecretWriter = TableWriter<Secret, SecretInput>;
export type ConfigWriter = TableWriter<Config, ConfigInput>;
