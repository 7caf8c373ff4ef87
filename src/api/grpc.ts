// Loads the generated protobuf descriptor into typed gRPC constructors.
// The descriptor is embedded (src/api/gen/descriptor.ts), so nothing reads .proto files at run time.
import * as grpc from '@grpc/grpc-js';
import { fromJSON, type Options } from '@grpc/proto-loader';
import { descriptorJson } from './gen/descriptor';
import type { Protos } from './gen/protos';

/** Must match the flags scripts/gen-proto.mjs passes to proto-loader-gen-types. */
export const LOADER_OPTIONS: Options = { longs: Number, enums: String, defaults: true, oneofs: true };

let loaded: Protos | undefined;

/** The typed service constructors and message definitions of every package in proto/. */
export function protos(): Protos {
  loaded ??= grpc.loadPackageDefinition(fromJSON(descriptorJson, LOADER_OPTIONS)) as unknown as Protos;
  return loaded;
}
