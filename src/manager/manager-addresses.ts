// The addresses a manager uses. A node listens for node-to-node gRPC (CA, dispatcher, manager
// services) on its listen address; the Raft transport owns its own gRPC server, so it listens on a
// second port derived from the first: the same host, port + RAFT_PORT_OFFSET. Every manager derives
// a peer's Raft address the same way from the peer's advertise address, so nothing else has to
// travel with a join.

/** Raft's port is the node port plus this (4242 → 14242). */
export const RAFT_PORT_OFFSET = 10_000;

/** The default node port, as Swarm's 2377 is for swarm mode. */
export const DEFAULT_NODE_PORT = 4242;

export class AddressError extends Error {
  override name = 'AddressError';
}

export interface HostPort {
  host: string;
  port: number;
}

/**
 * Parses `host:port`, `host`, `[v6]:port` or `[v6]` (a missing port is `defaultPort`). `what`
 * names the flag in errors, e.g. "--listen-addr".
 */
export function parseHostPort(text: string, what: string, defaultPort = DEFAULT_NODE_PORT): HostPort {
  const value = text.trim();
  if (value === '') throw new AddressError(`${what}: an address is required (host:port)`);
  let host = value;
  let portText: string | undefined;
  const bracketed = /^\[([^\]]+)\](?::(.*))?$/.exec(value);
  if (bracketed) {
    host = bracketed[1]!;
    portText = bracketed[2];
  } else if ((value.match(/:/g) ?? []).length === 1) {
    const colon = value.lastIndexOf(':');
    host = value.slice(0, colon);
    portText = value.slice(colon + 1);
  }
  if (host === '') throw new AddressError(`${what}: ${JSON.stringify(text)} has no host`);
  const port = portText === undefined ? defaultPort : Number(portText);
  if (portText !== undefined && !/^\d{1,5}$/.test(portText)) {
    throw new AddressError(`${what}: ${JSON.stringify(text)} has an invalid port`);
  }
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new AddressError(`${what}: port ${port} is out of range (1-65535)`);
  }
  return { host, port };
}

/** host:port, with brackets around an IPv6 host. */
export function formatHostPort({ host, port }: HostPort): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** The Raft transport address that belongs to a node address. */
export function raftAddressFor(nodeAddr: string): string {
  const { host, port } = parseHostPort(nodeAddr, 'node address');
  const raftPort = port + RAFT_PORT_OFFSET;
  if (raftPort > 65535) {
    throw new AddressError(
      `node address ${nodeAddr}: a manager needs port ${port} and port ${raftPort} for Raft; use a port below ${65536 - RAFT_PORT_OFFSET}`,
    );
  }
  return formatHostPort({ host, port: raftPort });
}
