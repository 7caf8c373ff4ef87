// Relays DNS queries the embedded DNS does not answer itself to the host's resolvers (the
// nameservers of /etc/resolv.conf), the way Docker's embedded DNS falls back to the engine's: the
// query goes out unchanged over UDP to each resolver in turn until one answers with the same ID
// within its timeout. A resolver that times out is tried again only after the others. Answers are
// relayed as they come (truncated ones included; the client then retries over TCP, which we relay
// over UDP again: large answers stay truncated, a known limit).
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { Logger } from 'pino';

export interface DnsForwarder {
  /** The upstream answer, or undefined when no resolver answered (or `signal` aborted). */
  forward(query: Buffer, options?: { signal?: AbortSignal }): Promise<Buffer | undefined>;
}

/** The nameserver addresses of a resolv.conf text, in order (IPv4 and IPv6, zones dropped). */
export function parseResolvConf(text: string): string[] {
  const servers: string[] = [];
  for (const line of text.split('\n')) {
    const match = /^\s*nameserver\s+(\S+)/.exec(line);
    const address = match?.[1]?.split('%')[0];
    if (address && isIP(address) !== 0 && !servers.includes(address)) servers.push(address);
  }
  return servers;
}

export interface UpstreamDnsOptions {
  /** Resolver addresses; default: those of /etc/resolv.conf, read at each forward (it may change). */
  servers?: readonly string[];
  /** Addresses never to forward to (our own listeners: no loops). */
  exclude?: () => Iterable<string>;
  /** Per resolver. Default 2000 ms. */
  timeoutMs?: number;
  port?: number;
  logger: Logger;
}

export class UpstreamDnsForwarder implements DnsForwarder {
  constructor(private readonly options: UpstreamDnsOptions) {}

  servers(): string[] {
    const excluded = new Set(this.options.exclude?.() ?? []);
    let servers = this.options.servers;
    if (!servers) {
      try {
        servers = parseResolvConf(readFileSync('/etc/resolv.conf', 'utf8'));
      } catch (err) {
        this.options.logger.warn(
          { err },
          'cannot read /etc/resolv.conf: names outside the cluster will not resolve',
        );
        servers = [];
      }
    }
    return servers.filter((s) => !excluded.has(s));
  }

  async forward(query: Buffer, options: { signal?: AbortSignal } = {}): Promise<Buffer | undefined> {
    if (query.length < 2) return undefined;
    for (const server of this.servers()) {
      if (options.signal?.aborted) return undefined;
      const answer = await this.ask(server, query, options.signal);
      if (answer) return answer;
    }
    return undefined;
  }

  private ask(server: string, query: Buffer, signal: AbortSignal | undefined): Promise<Buffer | undefined> {
    return new Promise((resolve) => {
      const socket = createSocket(isIP(server) === 6 ? 'udp6' : 'udp4');
      const id = query.readUInt16BE(0);
      let done = false;
      const finish = (answer: Buffer | undefined) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        try {
          socket.close();
        } catch {
          // already closed
        }
        resolve(answer);
      };
      const onAbort = () => finish(undefined);
      const timer = setTimeout(() => finish(undefined), this.options.timeoutMs ?? 2_000);
      timer.unref();
      signal?.addEventListener('abort', onAbort, { once: true });
      socket.on('error', () => finish(undefined));
      socket.on('message', (message, peer) => {
        if (peer.address !== server || message.length < 2 || message.readUInt16BE(0) !== id) return;
        finish(message);
      });
      socket.connect(this.options.port ?? 53, server, () => socket.send(query));
    });
  }
}
