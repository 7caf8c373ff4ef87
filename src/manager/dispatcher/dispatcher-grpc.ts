// Typed gRPC constructors and message types of orch.dispatcher, from the wire API's single loader.
import type * as grpc from '@grpc/grpc-js';
import type { ProtoGrpcType as DispatcherProto } from '../../api/gen/types/dispatcher';
import type { Assignment } from '../../api/gen/types/orch/dispatcher/Assignment';
import type {
  AssignmentsMessage,
  AssignmentsMessage__Output,
} from '../../api/gen/types/orch/dispatcher/AssignmentsMessage';
import type {
  DispatcherClient,
  DispatcherDefinition,
  DispatcherHandlers,
} from '../../api/gen/types/orch/dispatcher/Dispatcher';
import type { LogMessage, LogMessage__Output } from '../../api/gen/types/orch/dispatcher/LogMessage';
import type {
  LogSubscription,
  LogSubscription__Output,
} from '../../api/gen/types/orch/dispatcher/LogSubscription';
import type { ManagerPeer, ManagerPeer__Output } from '../../api/gen/types/orch/dispatcher/ManagerPeer';
import type {
  PublishLogsMessage,
  PublishLogsMessage__Output,
} from '../../api/gen/types/orch/dispatcher/PublishLogsMessage';
import type {
  SessionMessage,
  SessionMessage__Output,
} from '../../api/gen/types/orch/dispatcher/SessionMessage';
import type { TaskStatusUpdate__Output } from '../../api/gen/types/orch/dispatcher/TaskStatusUpdate';
import { protos } from '../../api/grpc';

export type {
  Assignment,
  AssignmentsMessage,
  AssignmentsMessage__Output,
  DispatcherClient,
  DispatcherDefinition,
  DispatcherHandlers,
  LogMessage,
  LogMessage__Output,
  LogSubscription,
  LogSubscription__Output,
  ManagerPeer,
  ManagerPeer__Output,
  PublishLogsMessage,
  PublishLogsMessage__Output,
  SessionMessage,
  SessionMessage__Output,
  TaskStatusUpdate__Output,
};

/** Full gRPC name of the dispatcher service (what authorization rules name). */
export const DISPATCHER_SERVICE = 'orch.dispatcher.Dispatcher';

/** Trailing metadata a follower (or a stopped dispatcher) puts on UNAVAILABLE: where the leader is. */
export const LEADER_ADDR_METADATA_KEY = 'orch-leader-addr';

export function dispatcherProtos(): DispatcherProto['orch']['dispatcher'] {
  return (protos() as unknown as DispatcherProto).orch.dispatcher;
}

/** The service definition to mount with `server.addService(dispatcherServiceDefinition(), handlers)`. */
export function dispatcherServiceDefinition(): grpc.ServiceDefinition {
  return dispatcherProtos().Dispatcher.service;
}

/** A typed client of the dispatcher at `address` (host:port). */
export function newDispatcherClient(
  address: string,
  credentials: grpc.ChannelCredentials,
  options?: grpc.ChannelOptions,
): DispatcherClient {
  const Client = dispatcherProtos().Dispatcher;
  return new Client(address, credentials, options);
}
