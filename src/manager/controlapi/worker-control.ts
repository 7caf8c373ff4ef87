// The Control service as a worker serves it: every call is refused with one line telling the user
// to run the command on a manager. The daemon mounts it on a worker's socket so `orch service ls`
// on a worker explains itself instead of failing to connect.
import type * as grpc from '@grpc/grpc-js';
import type { ControlHandlers } from '../../api';
import { NotManagerError } from './control-errors';
import { controlServiceDefinition } from './control-service';
import { controlServiceError } from './control-status';

export function createWorkerControlHandlers(): ControlHandlers {
  const handlers: grpc.UntypedServiceImplementation = {};
  for (const [name, method] of Object.entries(controlServiceDefinition())) {
    handlers[name] = method.responseStream
      ? (call: grpc.ServerWritableStream<unknown, unknown>) => {
          call.emit('error', controlServiceError(new NotManagerError()));
        }
      : (_call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
          callback(controlServiceError(new NotManagerError()));
        };
  }
  return handlers as ControlHandlers;
}
