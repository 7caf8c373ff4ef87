// One published UDP port on this node's mesh address. Each client (address, port) is a flow
// mapped to one backend through its own upstream socket, so replies find their way back to the
// right client. Flows end after an idle timeout; their number is bounded (new clients beyond
// the bound are dropped, existing flows keep working). A backend that answers with ICMP port
// unreachable (ECONNREFUSED on the connected upstream socket) is left for the next one.
import * as dgram from 'node:dgram';
import { isIPv6 } from 'node:net';
import type { Logger } from 'pino';
import type { MeshConnection, PooledBackend } from './backend-pool';
import type { IngressRoute } from './ingress-route';
import { IngressStats } from './ingress-stats';
import { MeshListenError } from './mesh-errors';

export interface UdpIngressOptions {
  address: string;
  port: number;
  route: IngressRoute;
  logger: Logger;
  /** Bind the port for this process alone (false: a socket shared by mesh workers). */
  exclusive: boolean;
  /** A flow with no datagram either way for this long is closed. */
  idleTimeoutMs: number;
  /** At most this many flows at once on this port. */
  maxFlows: number;
  /** At most this many backends are tried for one flow. */
  maxConnectAttempts: number;
}

class UdpFlow implements MeshConnection {
  upstream: dgram.Socket | undefined;
  backend: PooledBackend | undefined;
  lastActiveMs = Date.now();
  bytesIn = 0;
  bytesOut = 0;
  private connected = false;
  private readonly queue: Buffer[] = [];
  private readonly tried = new Set<PooledBackend>();
  closed = false;

  constructor(
    private readonly ingress: UdpIngress,
    readonly key: string,
    readonly clientAddress: string,
    readonly clientPort: number,
  ) {}

  /** Chooses a backend and opens the upstream socket; false when no backend is left. */
  open(): boolean {
    const { route } = this.ingress;
    const backend =
      this.tried.size < this.ingress.maxConnectAttempts ? route.pool.pick(this.tried) : undefined;
    if (!backend) return false;
    this.tried.add(backend);
    const { address, port } = route.endpointOf(backend);
    const upstream = dgram.createSocket({ type: isIPv6(address) ? 'udp6' : 'udp4' });
    this.upstream = upstream;
    this.backend = backend;
    this.connected = false;
    route.pool.attach(backend, this);
    upstream.on('message', (reply) => {
      this.lastActiveMs = Date.now();
      this.bytesOut += reply.length;
      this.ingress.reply(reply, this.clientPort, this.clientAddress);
    });
    upstream.on('error', (err: NodeJS.ErrnoException) => this.onUpstreamError(upstream, backend, err));
    upstream.connect(port, address, () => {
      if (this.upstream !== upstream) return;
      this.connected = true;
      for (const datagram of this.queue.splice(0)) upstream.send(datagram);
    });
    return true;
  }

  send(datagram: Buffer): void {
    this.lastActiveMs = Date.now();
    this.bytesIn += datagram.length;
    if (this.connected) this.upstream!.send(datagram);
    else if (this.queue.length < 64) this.queue.push(datagram);
  }

  destroy(): void {
    if (this.closed) return;
    this.closed = true;
    this.dropUpstream();
    this.ingress.forget(this);
  }

  private dropUpstream(): void {
    const { upstream, backend } = this;
    this.upstream = undefined;
    this.backend = undefined;
    if (upstream) {
      upstream.removeAllListeners('message');
      upstream.on('error', () => {});
      upstream.close();
    }
    if (backend) this.ingress.route.pool.detach(backend, this);
  }

  private onUpstreamError(upstream: dgram.Socket, backend: PooledBackend, err: NodeJS.ErrnoException): void {
    if (this.upstream !== upstream || this.closed) return;
    const stats = this.ingress.stats;
    stats.connectErrorsTotal++;
    this.ingress.logger.debug({ code: err.code, task: backend.taskId }, 'udp backend error');
    if (err.code === 'ECONNREFUSED') this.ingress.route.pool.reportFailure(backend);
    this.dropUpstream();
    if (err.code === 'ECONNREFUSED' && this.open()) {
      stats.connectRetriesTotal++;
      return;
    }
    this.destroy();
  }
}

export class UdpIngress {
  readonly stats = new IngressStats();
  readonly logger: Logger;
  readonly route: IngressRoute;
  readonly maxConnectAttempts: number;
  private readonly socket: dgram.Socket;
  private readonly flows = new Map<string, UdpFlow>();
  private sweeper: NodeJS.Timeout | undefined;
  private bound = false;

  constructor(private readonly options: UdpIngressOptions) {
    this.route = options.route;
    this.logger = options.logger;
    this.maxConnectAttempts = options.maxConnectAttempts;
    this.socket = dgram.createSocket({ type: isIPv6(options.address) ? 'udp6' : 'udp4' });
    this.socket.on('message', (datagram, rinfo) => this.onDatagram(datagram, rinfo));
    this.stats.liveBytes = () => {
      let bytesIn = 0;
      let bytesOut = 0;
      for (const f of this.flows.values()) {
        bytesIn += f.bytesIn;
        bytesOut += f.bytesOut;
      }
      return { bytesIn, bytesOut };
    };
  }

  get address(): string {
    return this.options.address;
  }

  get port(): number {
    return this.options.port;
  }

  get listening(): boolean {
    return this.bound;
  }

  get flowCount(): number {
    return this.flows.size;
  }

  listen(): Promise<void> {
    const { address, port } = this.options;
    return new Promise((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException): void => {
        reject(new MeshListenError('udp', address, port, err.code, { cause: err }));
      };
      this.socket.once('error', onError);
      this.socket.bind({ address, port, exclusive: this.options.exclusive }, () => {
        this.socket.removeListener('error', onError);
        this.socket.on('error', (err) => this.logger.warn({ err }, 'udp ingress socket error'));
        this.bound = true;
        const idle = this.options.idleTimeoutMs;
        this.sweeper = setInterval(() => this.sweep(), Math.max(10, Math.min(idle / 2, 5_000)));
        this.sweeper.unref();
        resolve();
      });
    });
  }

  /** Stops receiving and releases the port; live flows stay until drained or idle. */
  async stopAccepting(): Promise<void> {
    if (!this.bound) return;
    this.bound = false;
    // Replies go out through the ingress socket, so it stays open while flows live; new
    // clients are refused from now on (see onDatagram). It is closed when the last flow ends.
    if (this.flows.size === 0) await this.closeSocket();
  }

  /** Stops receiving and closes every flow now. */
  async close(): Promise<void> {
    this.bound = false;
    for (const flow of [...this.flows.values()]) flow.destroy();
    await this.closeSocket();
  }

  reply(datagram: Buffer, port: number, address: string): void {
    if (this.socketClosed) return;
    this.socket.send(datagram, port, address);
  }

  forget(flow: UdpFlow): void {
    if (this.flows.get(flow.key) !== flow) return;
    this.flows.delete(flow.key);
    this.stats.active--;
    this.stats.bytesInClosed += flow.bytesIn;
    this.stats.bytesOutClosed += flow.bytesOut;
    if (!this.bound && this.flows.size === 0) void this.closeSocket();
  }

  private socketClosed = false;

  private closeSocket(): Promise<void> {
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = undefined;
    if (this.socketClosed) return Promise.resolve();
    this.socketClosed = true;
    return new Promise((resolve) => {
      try {
        this.socket.close(() => resolve());
      } catch {
        resolve(); // never bound: nothing to release
      }
    });
  }

  private onDatagram(datagram: Buffer, rinfo: dgram.RemoteInfo): void {
    const key = `${rinfo.address}|${rinfo.port}`;
    let flow = this.flows.get(key);
    if (!flow) {
      if (!this.bound) return;
      if (this.flows.size >= this.options.maxFlows) {
        this.stats.udpDroppedTotal++;
        return;
      }
      flow = new UdpFlow(this, key, rinfo.address, rinfo.port);
      if (!flow.open()) {
        this.stats.rejectedTotal++;
        return;
      }
      this.flows.set(key, flow);
      this.stats.connectionsTotal++;
      this.stats.active++;
    }
    flow.send(datagram);
  }

  private sweep(): void {
    const expiry = Date.now() - this.options.idleTimeoutMs;
    for (const flow of this.flows.values()) {
      if (flow.lastActiveMs <= expiry) flow.destroy();
    }
  }
}
