// Errors of the routing mesh. Each names what the operator must look at (address, port, field).

/** A service spec or backend list the mesh refuses; nothing of the update was applied. */
export class MeshConfigError extends Error {
  override name = 'MeshConfigError';
  constructor(
    readonly serviceId: string,
    readonly field: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`service ${serviceId}: ${field}: ${message}`, options);
  }
}

/** A published port could not be bound on the mesh address (in use, no such address, ...). */
export class MeshListenError extends Error {
  override name = 'MeshListenError';
  constructor(
    readonly protocol: 'tcp' | 'udp',
    readonly address: string,
    readonly port: number,
    readonly code: string | undefined,
    options?: { cause?: unknown },
  ) {
    const reason =
      options?.cause instanceof Error ? options.cause.message : String(options?.cause ?? 'unknown');
    super(`cannot listen on ${protocol} ${formatHostPort(address, port)}: ${reason}`, options);
  }
}

/** Two services claim the same published port on this node. */
export class MeshPortConflictError extends MeshConfigError {
  override name = 'MeshPortConflictError';
  constructor(
    serviceId: string,
    readonly protocol: 'tcp' | 'udp',
    readonly publishedPort: number,
    readonly ownerServiceId: string,
  ) {
    super(
      serviceId,
      'ports',
      `published port ${protocol}/${publishedPort} is already used by service ${ownerServiceId}`,
    );
  }
}

/** The kernel fast path (nftables) could not be applied. */
export class MeshFastPathError extends Error {
  override name = 'MeshFastPathError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The mesh was closed; no further updates are accepted. */
export class MeshClosedError extends Error {
  override name = 'MeshClosedError';
  constructor() {
    super('routing mesh is closed');
  }
}

export function formatHostPort(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}
