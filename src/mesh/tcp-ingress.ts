// One published TCP port on this node's mesh address: accepts client connections, picks a
// backend from the service's pool, connects (skipping backends that refuse or do not answer in
// time, a bounded number of times) and then relays bytes both ways until both sides are done.
// It owns its server socket and the connections it accepted; the pool decides which backend and
// when a drained backend's connections are cut. It never binds any address but the one given.
import * as net from 'node:net';
import type { Logger } from 'pino';
import type { MeshConnection, PooledBackend } from './backend-pool';
import type { IngressRoute } from './ingress-route';
import { IngressStats } from './ingress-stats';
import { MeshListenError } from './mesh-errors';

export interface TcpIngressOptions {
  address: string;
  port: number;
  route: IngressRoute;
  logger: Logger;
  /** Bind the port for this process alone (false: a socket shared by mesh workers). */
  exclusive: boolean;
  /** An upstream that has not accepted within this time counts as failed. */
  connectTimeoutMs: number;
  /** At most this many backends are tried per client connection. */
  maxConnectAttempts: number;
}

/** Connect failures after which the next backend is tried: the backend is not (yet) there. */
const RETRYABLE_CONNECT_ERRORS = new Set([
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ECONNRESET',
  'EADDRNOTAVAIL',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

class ConnectTimeoutError extends Error {
  override name = 'ConnectTimeoutError';
  readonly code = 'ETIMEDOUT';
}

/**
 * Upstream reads land in one buffer shared by every relay of the process (net.connect's `onread`)
 * instead of a fresh allocation per read. Reads are handled one at a time on the event loop, so
 * the buffer is free again once the client socket took the bytes; a write the kernel did not take
 * at once keeps referring to them, and the reads after it go to a new buffer.
 */
const READ_BUFFER_BYTES = 64 * 1024;
let sharedReadBuffer = Buffer.allocUnsafe(READ_BUFFER_BYTES);
const readBuffer = (): Buffer => sharedReadBuffer;

function destroyOrReset(socket: net.Socket): void {
  if (socket.destroyed) return;
  // A reset tells the peer the other side failed, instead of a clean end it could mistake for EOF.
  if (socket.connecting) socket.destroy();
  else socket.resetAndDestroy();
}

/** One client connection relayed to one backend. */
class TcpRelay implements MeshConnection {
  upstream: net.Socket | undefined;
  backend: PooledBackend | undefined;
  private readonly tried = new Set<PooledBackend>();
  private finished = false;
  private answered = false;
  private readonly upstreamRead = {
    buffer: readBuffer,
    callback: (n: number, buffer: Buffer): boolean => this.fromUpstream(buffer.subarray(0, n)),
  };

  constructor(
    private readonly ingress: TcpIngress,
    readonly client: net.Socket,
  ) {}

  start(): void {
    this.client.on('error', this.onClientError);
    this.client.on('close', this.onClientClose);
    this.connectNext();
  }

  destroy(): void {
    destroyOrReset(this.client);
    if (this.upstream) destroyOrReset(this.upstream);
  }

  private readonly onClientError = (err: Error): void => {
    this.ingress.logger.debug({ err }, 'client connection error');
    if (this.upstream) destroyOrReset(this.upstream);
  };

  private readonly onClientClose = (): void => {
    // Before the upstream connected there is nothing to flush: give the attempt up.
    if (this.upstream?.connecting) this.upstream.destroy();
    this.maybeFinish();
  };

  private connectNext(): void {
    const { route, stats } = this.ingress;
    if (this.client.destroyed) {
      this.maybeFinish();
      return;
    }
    const backend =
      this.tried.size < this.ingress.maxConnectAttempts ? route.pool.pick(this.tried) : undefined;
    if (!backend) {
      if (this.tried.size === 0) stats.rejectedTotal++;
      this.ingress.logger.debug(
        { service: route.serviceName, tried: this.tried.size },
        'no backend accepted the connection; resetting client',
      );
      destroyOrReset(this.client);
      this.maybeFinish();
      return;
    }
    if (this.tried.size > 0) stats.connectRetriesTotal++;
    this.tried.add(backend);
    const { address, port } = route.endpointOf(backend);
    const upstream = net.connect({
      host: address,
      port,
      noDelay: true,
      allowHalfOpen: true,
      onread: this.upstreamRead,
    });
    this.upstream = upstream;
    upstream.setTimeout(this.ingress.connectTimeoutMs);
    const onTimeout = (): void => {
      upstream.destroy(new ConnectTimeoutError(`connect to ${address}:${port} timed out`));
    };
    const onError = (err: NodeJS.ErrnoException): void => {
      upstream.removeListener('connect', onConnect);
      upstream.removeListener('timeout', onTimeout);
      stats.connectErrorsTotal++;
      route.pool.reportFailure(backend);
      const retry = RETRYABLE_CONNECT_ERRORS.has(err.code ?? '');
      this.ingress.logger.debug(
        { service: route.serviceName, task: backend.taskId, backend: `${address}:${port}`, code: err.code },
        retry ? 'backend connect failed; trying the next' : 'backend connect failed',
      );
      this.upstream = undefined;
      if (retry) this.connectNext();
      else {
        destroyOrReset(this.client);
        this.maybeFinish();
      }
    };
    const onConnect = (): void => {
      upstream.removeListener('error', onError);
      upstream.removeListener('timeout', onTimeout);
      upstream.setTimeout(0);
      this.link(backend, upstream);
    };
    upstream.once('error', onError);
    upstream.once('connect', onConnect);
    upstream.once('timeout', onTimeout);
  }

  private link(backend: PooledBackend, upstream: net.Socket): void {
    const client = this.client;
    if (client.destroyed || backend.state === 'draining') {
      // The client left, or the backend was removed while we connected: do not start a relay.
      upstream.destroy();
      if (!client.destroyed) {
        this.tried.add(backend);
        this.upstream = undefined;
        this.connectNext();
        return;
      }
      this.maybeFinish();
      return;
    }
    this.backend = backend;
    const pool = this.ingress.route.pool;
    pool.attach(backend, this);
    // The passive check: a backend that ends or resets a connection without sending one byte, on a
    // client still there, did not serve it (e.g. the engine's port proxy accepting for a container
    // that just died). Checked before the relay passes the end or reset on to the client.
    let clientEnded = false;
    let judged = false;
    client.once('end', () => {
      clientEnded = true;
    });
    const judge = (): void => {
      if (judged) return;
      judged = true;
      if (upstream.bytesRead > 0) return;
      if (clientEnded || client.destroyed || backend.state !== 'active') return;
      pool.reportFailure(backend);
      this.ingress.logger.debug(
        { service: this.ingress.route.serviceName, task: backend.taskId },
        'backend closed a connection without answering; passing it over for a while',
      );
    };
    upstream.once('end', judge);
    upstream.on('error', (err) => {
      this.ingress.logger.debug({ err, task: backend.taskId }, 'backend connection error');
      judge();
      destroyOrReset(client);
    });
    upstream.on('close', () => this.maybeFinish());
    relay(client, upstream);
    relay(upstream, client, false); // the upstream's bytes come through fromUpstream
    client.resume();
  }

  /** One read of the upstream, in the shared buffer; false pauses the upstream until the client drains. */
  private fromUpstream(chunk: Buffer): boolean {
    const client = this.client;
    if (!this.answered) {
      this.answered = true;
      if (this.backend) this.ingress.route.pool.reportSuccess(this.backend);
    }
    if (client.destroyed) return false;
    const flowing = client.write(chunk);
    if (client.writableLength > 0) sharedReadBuffer = Buffer.allocUnsafe(READ_BUFFER_BYTES);
    return flowing;
  }

  private maybeFinish(): void {
    if (this.finished) return;
    if (!this.client.destroyed) return;
    if (this.upstream && !this.upstream.destroyed) return;
    this.finished = true;
    const stats = this.ingress.stats;
    stats.bytesInClosed += this.client.bytesRead;
    stats.bytesOutClosed += this.client.bytesWritten;
    if (this.backend) this.ingress.route.pool.detach(this.backend, this);
    this.ingress.forget(this);
  }
}

/**
 * Forwards `from`'s bytes to `to` with backpressure: when `to` buffers past its high-water mark,
 * `from` stops reading until `to` drains. `from`'s end becomes `to`'s end (half-close); a
 * socket whose writer is gone is closed by its own peer's FIN. Without `forwardData`, `from`'s
 * bytes are written by its own `onread` callback, which pauses it by returning false.
 */
function relay(from: net.Socket, to: net.Socket, forwardData = true): void {
  if (forwardData) {
    from.on('data', (chunk: Buffer) => {
      if (!to.write(chunk)) from.pause();
    });
  }
  to.on('drain', () => from.resume());
  from.on('end', () => {
    if (!to.destroyed) to.end();
  });
  from.on('close', (hadError) => {
    if (hadError) destroyOrReset(to);
  });
}

export class TcpIngress {
  readonly stats = new IngressStats();
  readonly logger: Logger;
  readonly route: IngressRoute;
  readonly connectTimeoutMs: number;
  readonly maxConnectAttempts: number;
  private readonly server: net.Server;
  private readonly relays = new Set<TcpRelay>();

  constructor(private readonly options: TcpIngressOptions) {
    this.route = options.route;
    this.logger = options.logger;
    this.connectTimeoutMs = options.connectTimeoutMs;
    this.maxConnectAttempts = options.maxConnectAttempts;
    this.server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true, noDelay: true }, (client) =>
      this.accept(client),
    );
    this.stats.liveBytes = () => {
      let bytesIn = 0;
      let bytesOut = 0;
      for (const r of this.relays) {
        bytesIn += r.client.bytesRead;
        bytesOut += r.client.bytesWritten;
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
    return this.server.listening;
  }

  /** Open client connections (relayed or still connecting). */
  get connectionCount(): number {
    return this.relays.size;
  }

  listen(): Promise<void> {
    const { address, port } = this.options;
    return new Promise((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException): void => {
        reject(new MeshListenError('tcp', address, port, err.code, { cause: err }));
      };
      this.server.once('error', onError);
      this.server.listen({ host: address, port, exclusive: this.options.exclusive }, () => {
        this.server.removeListener('error', onError);
        // After listening, errors are accept failures (e.g. EMFILE): the server keeps going.
        this.server.on('error', (err) => this.logger.warn({ err }, 'tcp ingress accept error'));
        resolve();
      });
    });
  }

  /**
   * Stops accepting and releases the port. Open connections stay: the pool drains or cuts them.
   * (net.Server's close callback would wait for every connection; the port is free once the
   * listening handle is closed, one loop turn later.)
   */
  async stopAccepting(): Promise<void> {
    if (!this.server.listening) return;
    this.server.close();
    await new Promise<void>((resolve) => setImmediate(resolve));
  }

  /** Stops accepting and cuts every connection of this listener now. */
  async close(): Promise<void> {
    const closing = this.stopAccepting();
    for (const r of [...this.relays]) r.destroy();
    await closing;
  }

  forget(relay: TcpRelay): void {
    if (this.relays.delete(relay)) this.stats.active--;
  }

  private accept(client: net.Socket): void {
    this.stats.connectionsTotal++;
    this.stats.active++;
    const relay = new TcpRelay(this, client);
    this.relays.add(relay);
    relay.start();
  }
}
