// The host part of a node's advertise address, which its certificate names as a subject alternative name.
import { isIP } from 'node:net';
import { InvalidCertificateRequestError } from './ca-errors';

export interface AdvertiseHost {
  kind: 'ip' | 'dns';
  value: string;
}

const HOSTNAME =
  /^(?=.{1,253}$)[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/;

/**
 * Parses `host`, `host:port`, `[v6]` or `[v6]:port`. An empty address means "none" (undefined).
 * Throws InvalidCertificateRequestError naming the address otherwise.
 */
export function parseAdvertiseHost(addr: string): AdvertiseHost | undefined {
  const text = addr.trim();
  if (text === '') return undefined;
  let host = text;
  let port: string | undefined;
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  if (bracketed) {
    host = bracketed[1]!;
    port = bracketed[2];
  } else if (isIP(text) !== 6) {
    const colon = text.lastIndexOf(':');
    if (colon >= 0) {
      host = text.slice(0, colon);
      port = text.slice(colon + 1);
    }
  }
  if (port !== undefined && !/^\d{1,5}$/.test(port)) {
    throw new InvalidCertificateRequestError(`advertise address ${addr}: bad port`);
  }
  if (port !== undefined && (Number(port) < 1 || Number(port) > 65535)) {
    throw new InvalidCertificateRequestError(`advertise address ${addr}: port out of range`);
  }
  if (isIP(host) !== 0) return { kind: 'ip', value: host };
  if (HOSTNAME.test(host)) return { kind: 'dns', value: host.toLowerCase() };
  throw new InvalidCertificateRequestError(`advertise address ${addr}: not a host name or IP address`);
}
