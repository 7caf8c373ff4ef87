// The node's Prometheus endpoint (`--metrics-addr host:port`): one HTTP server serving the node's
// prom-client registry (the routing mesh's metrics, the process defaults) on GET /metrics. It binds
// exactly the address it was given, and close() ends open connections too.
import { createServer, type Server } from 'node:http';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { hostOf } from '../mesh/mesh-endpoints';

export class NodeMetricsListenError extends Error {
  override name = 'NodeMetricsListenError';
}

export class NodeMetricsServer {
  private constructor(
    private readonly server: Server,
    /** host:port actually bound (the port is the kernel's pick when 0 was asked). */
    readonly address: string,
  ) {}

  /** Listens on `addr` (host:port) and serves `registry`. */
  static async start(addr: string, registry: Registry, logger: Logger): Promise<NodeMetricsServer> {
    const host = hostOf(addr);
    const port = Number(addr.slice(addr.lastIndexOf(':') + 1));
    const log = logger.child({ module: 'metrics' });
    const server = createServer((request, response) => {
      const path = (request.url ?? '/').split('?')[0];
      if (path !== '/metrics') {
        response.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics\n');
        return;
      }
      if (request.method !== 'GET' && request.method !== 'HEAD') {
        response.writeHead(405, { allow: 'GET, HEAD' }).end();
        return;
      }
      registry.metrics().then(
        (text) => response.writeHead(200, { 'content-type': registry.contentType }).end(text),
        (err: unknown) => {
          log.warn({ err }, 'collecting metrics failed');
          response.writeHead(500, { 'content-type': 'text/plain' }).end('collecting metrics failed\n');
        },
      );
    });
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error) =>
        reject(new NodeMetricsListenError(`cannot serve metrics on ${addr}: ${err.message}`, { cause: err }));
      server.once('error', onError);
      server.listen({ host, port }, () => {
        server.off('error', onError);
        resolve();
      });
    });
    const bound = server.address();
    const boundPort = typeof bound === 'object' && bound !== null ? bound.port : port;
    const address = host.includes(':') ? `[${host}]:${boundPort}` : `${host}:${boundPort}`;
    log.info({ addr: address }, 'serving metrics on /metrics');
    return new NodeMetricsServer(server, address);
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}
