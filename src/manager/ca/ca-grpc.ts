// Typed gRPC constructors for orch.ca, built from the embedded descriptor the way src/api/grpc.ts
// builds the other packages (src/api does not load ca.proto yet).
import * as grpc from '@grpc/grpc-js';
import { fromJSON } from '@grpc/proto-loader';
import { descriptorJson } from '../../api/gen/descriptor';
import type { ProtoGrpcType as CAProto } from '../../api/gen/types/ca';
import type { CAClient, CADefinition, CAHandlers } from '../../api/gen/types/orch/ca/CA';
import type { NodeCertificate, NodeCertificate__Output } from '../../api/gen/types/orch/ca/NodeCertificate';
import { LOADER_OPTIONS } from '../../api/grpc';

export type { CAClient, CADefinition, CAHandlers, NodeCertificate, NodeCertificate__Output };

/** Full gRPC name of the CA service, as authorization rules and method paths spell it. */
export const CA_SERVICE_NAME = 'orch.ca.CA';

let loaded: CAProto['orch']['ca'] | undefined;

export function caProtos(): CAProto['orch']['ca'] {
  loaded ??= (grpc.loadPackageDefinition(fromJSON(descriptorJson, LOADER_OPTIONS)) as unknown as CAProto).orch
    .ca;
  return loaded;
}
