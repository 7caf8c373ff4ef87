// The embedded DNS server of one network on one node (what Docker's 127.0.0.11 is for a swarm
// network): listens on UDP and TCP at one address (the node's bridge gateway for that network, port
// 53) and answers A queries for the names its resolver knows (service names and aliases, with their
// VIPs) with authority; every other query is relayed unchanged to the host's resolvers (the engine's
// DNS fallback), and when none answers the client gets SERVFAIL. A name the resolver claims but has
// no IPv4 address for gets an empty NOERROR (so AAAA lookups of a service name do not fail the A).
// close() releases both sockets and every relay in flight.
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { createServer, type Server, type Socket as TcpSocket } from 'node:net';
import type { Logger } from 'pino';
import type { DnsForwarder } from './dns-forwarder';
import {
  buildDnsResponse,
  buildFormatError,
  DNS_CLASS_IN,
  DNS_TYPE_A,
  type DnsQuery,
  parseDnsQuery,
  RCODE_NOERROR,
  RCODE_NOTIMP,
  RCODE_NXDOMAIN,
  RCODE_SERVFAIL,
} from './dns-message';

/** What the server knows: the addresses of a name, or undefined when the name is not ours. */
export type DnsResolver = (name: string) => readonly string[] | undefined;

export interface EmbeddedDnsOptions {
  /** IPv4 address to bind (both UDP and TCP). */
  address: string;
  /** Default 53. 0 picks a free port (tests). */
  port?: number;
  resolve: DnsResolver;
  /** Where other names go; without one they get NXDOMAIN. */
  forwarder?: DnsForwarder;
  logger: Logger;
  /** TTL of our answers: 0 (as Docker's embedded DNS), since VIPs change with services. */
  ttlSeconds?: number;
}

const TCP_MAX_MESSAGE_BYTES = 65_535;
const TCP_IDLE_MS = 10_000;

export class EmbeddedDns {
  private udp: Socket | undefined;
  private tcp: Server | undefined;
  private readonly connections = new Set<TcpSocket>();
  private readonly relays = new AbortController();
  private closed = false;

  private constructor(private readonly options: EmbeddedDnsOptions) {}

  /** Binds UDP and TCP; rejects (releasing whatever was bound) when either cannot be bound. */
  static async start(options: EmbeddedDnsOptions): Promise<EmbeddedDns> {
    const server = new EmbeddedDns(options);
    try {
      await server.listen();
    } catch (err) {
      await server.close();
      throw err;
    }
    return server;
  }

  /** The bound UDP port (the TCP port is the same). */
  get port(): number {
    return this.udp?.address().port ?? 0;
  }

  get address(): string {
    return this.options.address;
  }

  private async listen(): Promise<void> {
    const udp = createSocket({ type: 'udp4' });
    this.udp = udp;
    udp.on('message', (packet, peer) => void this.onDatagram(packet, peer));
    udp.on('error', (err) => this.options.logger.warn({ err }, 'embedded DNS: UDP socket error'));
    udp.bind({ address: this.options.address, port: this.options.port ?? 53, exclusive: true });
    await once(udp, 'listening');
    const tcp = createServer((socket) => this.onConnection(socket));
    this.tcp = tcp;
    tcp.listen({ host: this.options.address, port: udp.address().port, exclusive: true });
    await once(tcp, 'listening');
  }

  /** The answer to one query message; undefined when it deserves none (a response, garbage without ID). */
  async answer(packet: Buffer): Promise<Buffer | undefined> {
    let query: DnsQuery;
    try {
      query = parseDnsQuery(packet);
    } catch {
      return buildFormatError(packet);
    }
    const question = query.questions[0];
    if (query.opcode !== 0 || query.questions.length !== 1 || !question)
      return buildDnsResponse(query, { rcode: RCODE_NOTIMP });
    const known = question.klass === DNS_CLASS_IN ? this.options.resolve(question.name) : undefined;
    if (known !== undefined) {
      return buildDnsResponse(query, {
        rcode: RCODE_NOERROR,
        addresses: question.type === DNS_TYPE_A ? known : [],
        ttlSeconds: this.options.ttlSeconds ?? 0,
        authoritative: true,
      });
    }
    const forwarder = this.options.forwarder;
    if (!forwarder) return buildDnsResponse(query, { rcode: RCODE_NXDOMAIN });
    const relayed = await forwarder.forward(packet, { signal: this.relays.signal });
    if (this.closed) return undefined;
    return relayed ?? buildDnsResponse(query, { rcode: RCODE_SERVFAIL });
  }

  private async onDatagram(packet: Buffer, peer: RemoteInfo): Promise<void> {
    try {
      const response = await this.answer(packet);
      if (response && !this.closed) this.udp?.send(response, peer.port, peer.address);
    } catch (err) {
      this.options.logger.warn({ err }, 'embedded DNS: answering a UDP query failed');
    }
  }

  /** DNS over TCP: each message carries a 2-byte length; several may come on one connection. */
  private onConnection(socket: TcpSocket): void {
    this.connections.add(socket);
    socket.setTimeout(TCP_IDLE_MS, () => socket.destroy());
    socket.on('close', () => this.connections.delete(socket));
    socket.on('error', () => socket.destroy());
    let buffered = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 2) {
        const length = buffered.readUInt16BE(0);
        if (buffered.length < 2 + length) break;
        const message = buffered.subarray(2, 2 + length);
        buffered = buffered.subarray(2 + length);
        void this.answer(message).then(
          (response) => {
            if (!response || socket.destroyed || response.length > TCP_MAX_MESSAGE_BYTES) return;
            const prefix = Buffer.alloc(2);
            prefix.writeUInt16BE(response.length);
            socket.write(Buffer.concat([prefix, response]));
          },
          (err: unknown) => {
            this.options.logger.warn({ err }, 'embedded DNS: answering a TCP query failed');
            socket.destroy();
          },
        );
      }
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.relays.abort();
    for (const socket of this.connections) socket.destroy();
    const udp = this.udp;
    const tcp = this.tcp;
    if (udp) {
      await new Promise<void>((resolve) => {
        try {
          udp.close(() => resolve());
        } catch {
          resolve(); // never bound
        }
      });
    }
    if (tcp?.listening) await new Promise<void>((resolve) => tcp.close(() => resolve()));
  }
}
