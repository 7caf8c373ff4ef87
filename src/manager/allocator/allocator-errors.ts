// The allocator's errors: a published port someone else holds, and a dynamic range with no port left.
// The Control API maps them to gRPC status codes at its edge (ALREADY_EXISTS, RESOURCE_EXHAUSTED).

import type { PortConflict } from './published-ports';

export class AllocatorError extends Error {
  override name = 'AllocatorError';
}

/** An ingress port is already published by another service. */
export class PublishedPortConflictError extends AllocatorError {
  override name = 'PublishedPortConflictError';
  readonly port: string;
  readonly field: string;
  readonly holderServiceId: string;
  readonly holderServiceName: string;

  constructor(conflict: PortConflict, options?: { cause?: unknown }) {
    const field = `endpoint.ports[${conflict.index}].publishedPort`;
    super(`${field}: port ${conflict.port} is already published by service ${conflict.serviceName}`, options);
    this.port = conflict.port;
    this.field = field;
    this.holderServiceId = conflict.serviceId;
    this.holderServiceName = conflict.serviceName;
  }
}

/** Every port of the dynamic range (30000–32767) is taken for this protocol. */
export class PortRangeExhaustedError extends AllocatorError {
  override name = 'PortRangeExhaustedError';
  constructor(
    readonly protocol: 'tcp' | 'udp',
    readonly first: number,
    readonly last: number,
    options?: { cause?: unknown },
  ) {
    super(`no free ${protocol} port left to publish in ${first}-${last}`, options);
  }
}

/** A service spec names a network that does not exist (create it first with `orch network create`). */
export class NetworkNotFoundError extends AllocatorError {
  override name = 'NetworkNotFoundError';
  readonly field: string;
  constructor(
    index: number,
    readonly target: string,
    options?: { cause?: unknown },
  ) {
    const field = `networks[${index}].target`;
    super(`${field}: network ${target} not found`, options);
    this.field = field;
  }
}

/** A network has no virtual IP left for another service (or none to give yet). */
export class VipRangeExhaustedError extends AllocatorError {
  override name = 'VipRangeExhaustedError';
  constructor(
    readonly network: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(`no virtual IP on network ${network}: ${reason}`, options);
  }
}
