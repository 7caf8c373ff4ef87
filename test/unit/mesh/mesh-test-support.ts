// Loopback backends and clients for the mesh tests. Everything returned has a close() that the
// tests call in afterEach, so nothing outlives a failing test.
import * as dgram from 'node:dgram';
import * as http from 'node:http';
import * as net from 'node:net';
import type { Registry } from 'prom-client';

/** A loopback address of its own per test file, so parallel Jest workers never share a port. */
export function meshTestAddress(fileIndex: number): string {
  return `127.77.${fileIndex}.${1 + (process.pid % 200)}`;
}

/** A port free on `host` right now (bound then released). */
export async function freePort(host: string, protocol: 'tcp' | 'udp' = 'tcp'): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = net.createServer();
      server.once('error', reject);
      server.listen({ host, port: 0 }, () => {
        const { port } = server.address() as net.AddressInfo;
        server.close(() => resolve(port));
      });
    });
    if (protocol === 'tcp') return port;
    const udpFree = await new Promise<boolean>((resolve) => {
      const s = dgram.createSocket('udp4');
      s.once('error', () => resolve(false));
      s.bind({ address: host, port }, () => s.close(() => resolve(true)));
    });
    if (udpFree) return port;
  }
}

export interface HttpBackend {
  id: string;
  host: string;
  port: number;
  /** Requests answered. */
  hits: number;
  /** Connections currently open to this backend. */
  openConnections: number;
  close(): Promise<void>;
}

/** An HTTP server answering every request with its id. */
export async function startHttpBackend(host: string, id: string): Promise<HttpBackend> {
  const sockets = new Set<net.Socket>();
  const backend: HttpBackend = {
    id,
    host,
    port: 0,
    hits: 0,
    openConnections: 0,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
  const server = http.createServer((req, res) => {
    backend.hits++;
    req.resume();
    res.setHeader('content-type', 'text/plain');
    res.end(id);
  });
  server.on('connection', (s: net.Socket) => {
    sockets.add(s);
    backend.openConnections++;
    s.on('close', () => {
      sockets.delete(s);
      backend.openConnections--;
    });
  });
  await new Promise<void>((resolve) => server.listen({ host, port: 0 }, resolve));
  backend.port = (server.address() as net.AddressInfo).port;
  return backend;
}

/** `n` HTTP backends answering b0, b1, ...; each one's close() is pushed onto `cleanups`. */
export async function startHttpBackends(
  host: string,
  n: number,
  cleanups: (() => Promise<void> | void)[],
): Promise<HttpBackend[]> {
  const backends: HttpBackend[] = [];
  for (let i = 0; i < n; i++) {
    const b = await startHttpBackend(host, `b${i}`);
    cleanups.push(() => b.close());
    backends.push(b);
  }
  return backends;
}

export interface TcpBackend {
  host: string;
  port: number;
  /** Sockets accepted so far, open or not. */
  accepted: net.Socket[];
  close(): Promise<void>;
}

/** A raw TCP server whose per-connection behaviour the test gives (allowHalfOpen on). */
export async function startTcpBackend(
  host: string,
  onSocket: (socket: net.Socket) => void,
): Promise<TcpBackend> {
  const accepted: net.Socket[] = [];
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    accepted.push(socket);
    socket.on('error', () => {});
    onSocket(socket);
  });
  await new Promise<void>((resolve) => server.listen({ host, port: 0 }, resolve));
  return {
    host,
    port: (server.address() as net.AddressInfo).port,
    accepted,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of accepted) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** One HTTP request on a fresh connection; resolves with the body. */
export function httpGet(host: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host, port, path: '/', agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        body += d;
      });
      res.on('end', () => resolve(body));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

/** Resolves once `connection` is closed, with the error that closed it (if any). */
/** `n` sequential GETs, each on a new connection; the bodies in order. */
export async function httpGets(host: string, port: number, n: number): Promise<string[]> {
  const bodies: string[] = [];
  for (let i = 0; i < n; i++) bodies.push(await httpGet(host, port));
  return bodies;
}

/** The sum of a mesh metric's series (`orch_mesh_<name>`), only the service's when given. */
export async function meshMetric(registry: Registry, name: string, serviceId?: string): Promise<number> {
  const values = (await registry.getSingleMetric(`orch_mesh_${name}`)?.get())?.values ?? [];
  return values
    .filter((v) => serviceId === undefined || v.labels.service_id === serviceId)
    .reduce((sum, v) => sum + v.value, 0);
}

export function closed(socket: net.Socket): Promise<Error | undefined> {
  return new Promise((resolve) => {
    if (socket.destroyed) return resolve(undefined);
    let error: Error | undefined;
    socket.on('error', (err) => {
      error = err;
    });
    socket.on('close', () => resolve(error));
  });
}

export function connect(host: string, port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port, allowHalfOpen: true });
    socket.once('connect', () => {
      socket.removeListener('error', reject);
      // Tests inspect errors through closed(); an unobserved reset must not crash the test.
      socket.on('error', () => {});
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

/** Reads from `socket` until `length` bytes arrived. */
export function readBytes(socket: net.Socket, length: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let got = 0;
    const onData = (d: Buffer): void => {
      chunks.push(d);
      got += d.length;
      if (got >= length) {
        socket.removeListener('data', onData);
        socket.removeListener('error', reject);
        resolve(Buffer.concat(chunks));
      }
    };
    socket.on('data', onData);
    socket.once('error', reject);
  });
}

/** A socket whose connection the mesh may reset before or after it is established. */
export function rawConnect(host: string, port: number): net.Socket {
  const socket = net.connect({ host, port, allowHalfOpen: true });
  socket.on('error', () => {});
  return socket;
}

/**
 * A keep-alive connection through the mesh whose first answer came from `backend`, trying up to
 * `attempts` new connections (undefined if none did); every socket opened is destroyed by `cleanups`.
 */
export async function connectionTo(
  host: string,
  port: number,
  backend: string,
  attempts: number,
  cleanups: (() => Promise<void> | void)[],
): Promise<net.Socket | undefined> {
  for (let i = 0; i < attempts; i++) {
    const s = await connect(host, port);
    cleanups.push(() => void s.destroy());
    if ((await keepAliveRequest(s)) === backend) return s;
    s.destroy();
  }
  return undefined;
}

/**
 * Sends one HTTP/1.1 keep-alive request on `socket` and resolves with the body of the reply
 * (the test backends answer with a short id and a content-length).
 */
export function keepAliveRequest(socket: net.Socket): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const onData = (d: Buffer): void => {
      text += d.toString();
      const headerEnd = text.indexOf('\r\n\r\n');
      const length = /content-length: (\d+)/i.exec(text);
      if (headerEnd >= 0 && length && text.length >= headerEnd + 4 + Number(length[1])) {
        socket.removeListener('data', onData);
        socket.removeListener('close', onClose);
        resolve(text.slice(headerEnd + 4, headerEnd + 4 + Number(length[1])));
      }
    };
    const onClose = (): void => reject(new Error('connection closed before the reply'));
    socket.on('data', onData);
    socket.once('close', onClose);
    socket.write('GET / HTTP/1.1\r\nHost: mesh\r\n\r\n');
  });
}

/** Polls `condition` every few milliseconds until it holds (the test timeout bounds the wait). */
export async function waitFor(condition: () => boolean, what = 'condition'): Promise<void> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > 10_000) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export function countBy(values: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const v of values) counts[v] = (counts[v] ?? 0) + 1;
  return counts;
}
