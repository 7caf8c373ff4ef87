// Typed gRPC constructors for orch.ca, from the wire API's single loader (src/api).
import type { ProtoGrpcType as CAProto } from '../../api/gen/types/ca';
import type { CAClient, CADefinition, CAHandlers } from '../../api/gen/types/orch/ca/CA';
import type { NodeCertificate, NodeCertificate__Output } from '../../api/gen/types/orch/ca/NodeCertificate';
import { protos } from '../../api/grpc';

export type { CAClient, CADefinition, CAHandlers, NodeCertificate, NodeCertificate__Output };

/** Full gRPC name of the CA service, as authorization rules and method paths spell it. */
export const CA_SERVICE_NAME = 'orch.ca.CA';

export function caProtos(): CAProto['orch']['ca'] {
  return protos().orch.ca;
}
