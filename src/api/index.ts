// Entry of the wire API: typed gRPC constructors plus the message types generated from proto/.

export type { ControlClient, ControlHandlers } from './gen/types/orch/control/Control';
export type { Node, Node__Output } from './gen/types/orch/objects/Node';
export type { Service, Service__Output } from './gen/types/orch/objects/Service';
export type { ServiceSpec, ServiceSpec__Output } from './gen/types/orch/objects/ServiceSpec';
export type { Task, Task__Output } from './gen/types/orch/objects/Task';
export type { RaftClient, RaftHandlers } from './gen/types/orch/raft/Raft';
export { LOADER_OPTIONS, protos } from './grpc';
