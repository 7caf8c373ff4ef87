// The addresses a node uses. A node listens on one address for all node-to-node gRPC (CA,
// dispatcher, manager services, and Raft on a manager): a manager's Raft address is its node
// address, so nothing else has to travel with a join or a promotion.

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
