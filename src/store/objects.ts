// The object types kept in the store, one table each, as the generated protobuf types give them.
// Objects handed out by the store are the fully populated `__Output` shapes (every field present,
// enums as their string names, 64-bit integers as numbers) and are deep-frozen; writers accept the
// looser input shapes and normalize them.
import type { Cluster__Output, Cluster as ClusterInput } from '../api/gen/types/orch/objects/Cluster';
import type { Config__Output, Config as ConfigInput } from '../api/gen/types/orch/objects/Config';
import type { Network__Output, Network as NetworkInput } from '../api/gen/types/orch/objects/Network';
import type { Node__Output, Node as NodeInput } from '../api/gen/types/orch/objects/Node';
import type { NodeRole__Output } from '../api/gen/types/orch/objects/NodeRole';
import type { Secret__Output, Secret as SecretInput } from '../api/gen/types/orch/objects/Secret';
import type { Service__Output, Service as ServiceInput } from '../api/gen/types/orch/objects/Service';
import type { Task__Output, Task as TaskInput } from '../api/gen/types/orch/objects/Task';
import type { TaskState__Output } from '../api/gen/types/orch/objects/TaskState';

export type Cluster = Cluster__Output;
export type Node = Node__Output;
export type Service = Service__Output;
export type Task = Task__Output;
export type Network = Network__Output;
export type Secret = Secret__Output;
export type Config = Config__Output;
export type TaskState = TaskState__Output;
export type NodeRole = NodeRole__Output;

export type { ClusterInput, ConfigInput, NetworkInput, NodeInput, SecretInput, ServiceInput, TaskInput };

/** Stored object type of each table. */
export interface ObjectTypes {
  clusters: Cluster;
  nodes: Node;
  services: Service;
  tasks: Task;
  networks: Network;
  secrets: Secret;
  configs: Config;
}

/** What a writer may hand to `create`/`update` for each table (missing fields take proto defaults). */
export interface InputTypes {
  clusters: ClusterInput;
  nodes: NodeInput;
  services: ServiceInput;
  tasks: TaskInput;
  networks: NetworkInput;
  secrets: SecretInput;
  configs: ConfigInput;
}

export type TableName = keyof ObjectTypes;

/** Every table, in the fixed order used by snapshots and anything else that must be deterministic. */
export const TABLE_NAMES: readonly TableName[] = Object.freeze([
  'clusters',
  'nodes',
  'services',
  'tasks',
  'networks',
  'secrets',
  'configs',
]);

/** Any stored object. */
export type StoredObject = ObjectTypes[TableName];
