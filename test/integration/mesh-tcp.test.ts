// The routing mesh's TCP data path on loopback: real sockets, backends started in-test.
import { createHash, randomBytes } from 'node:crypto';
import * as net from 'node:net';
import { Registry } from 'prom-client';
import { silentLogger } from '../../src/common/logger';
import {
  createMeshMetrics,
  MeshConfigError,
  MeshListenError,
  type MeshServiceSpec,
  RoutingMesh,
} from '../../src/mesh';
import {
  closed,
  connect,
  connectionTo,
  countBy,
  freePort,
  type HttpBackend,
  httpGet,
  httpGets,
  keepAliveRequest,
  meshMetric,
  meshTestAddress,
  rawConnect,
  readBytes,
  startHttpBackends,
  startTcpBackend,
  type TcpBackend,
  waitFor,
} from '../unit/mesh/mesh-test-support';

const MESH = meshTestAddress(1);
const BACKEND_HOST = '127.0.0.1';

describe('routing mesh (TCP)', () => {
  let mesh: RoutingMesh;
  let registry: Registry;
  let published: number;
  const cleanups: (() => Promise<void> | void)[] = [];

  beforeEach(async () => {
    registry = new Registry();
    mesh = new RoutingMesh({
      meshAddress: MESH,
      logger: silentLogger(),
      metrics: createMeshMetrics(registry),
    });
    published = await freePort(MESH);
  });

  afterEach(async () => {
    await mesh.close();
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  function httpBackends(n: number): Promise<HttpBackend[]> {
    return startHttpBackends(BACKEND_HOST, n, cleanups);
  }

  async function tcpBackend(onSocket: (s: net.Socket) => void): Promise<TcpBackend> {
    const b = await startTcpBackend(BACKEND_HOST, onSocket);
    cleanups.push(() => b.close());
    return b;
  }

  function web(overrides: Partial<MeshServiceSpec> = {}): MeshServiceSpec {
    return {
      name: 'web',
      ports: [{ protocol: 'tcp', publishedPort: published, targetPort: 80, mode: 'ingress' }],
      ...overrides,
    };
  }

  function asBackends(backends: { port: number; id?: string }[], healthy = true) {
    return backends.map((b, i) => ({
      taskId: b.id ?? `t${i}`,
      address: BACKEND_HOST,
      port: b.port,
      healthy,
    }));
  }

  function requests(n: number): Promise<string[]> {
    return httpGets(MESH, published, n);
  }

  function metric(name: string): Promise<number> {
    return meshMetric(registry, name);
  }

  it('spreads 30 requests over 3 backends evenly with round-robin', async () => {
    const backends = await httpBackends(3);
    await mesh.setService('svc', web());
    await mesh.setBackends('svc', asBackends(backends));

    expect(countBy(await requests(30))).toEqual({ b0: 10, b1: 10, b2: 10 });
    expect(await metric('connections_total')).toBe(30);
  });

  it('binds exactly the mesh address and nothing else', async () => {
    await mesh.setService('svc', web());
    await expect(connect('127.0.0.1', published)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('sends new connections to the idle backend with least-connections', async () => {
    const held: net.Socket[] = [];
    const backend = (id: string) =>
      tcpBackend((s) => {
        s.write(`${id}\n`);
        s.on('end', () => s.end());
      });
    const [a, b, c] = [await backend('a'), await backend('b'), await backend('c')];
    await mesh.setService('svc', web({ lb: 'least-connections' }));
    await mesh.setBackends('svc', [
      { taskId: 'a', address: BACKEND_HOST, port: a.port, healthy: true },
      { taskId: 'b', address: BACKEND_HOST, port: b.port, healthy: true },
      { taskId: 'c', address: BACKEND_HOST, port: c.port, healthy: true },
    ]);
    const ingress = mesh.openListeners()[0]!;
    const greeting = async (socket: net.Socket) => (await readBytes(socket, 2)).toString().trim();

    // Two long-lived connections occupy two backends.
    const busy: string[] = [];
    for (let i = 0; i < 2; i++) {
      const s = await connect(MESH, published);
      cleanups.push(() => void s.destroy());
      held.push(s);
      busy.push(await greeting(s));
    }
    expect(new Set(busy).size).toBe(2);
    const idle = ['a', 'b', 'c'].find((id) => !busy.includes(id));

    const picked: string[] = [];
    for (let i = 0; i < 6; i++) {
      const s = await connect(MESH, published);
      picked.push(await greeting(s));
      s.end();
      await closed(s);
      await waitFor(
        () => 'connectionCount' in ingress && ingress.connectionCount === 2,
        'short connection to end',
      );
    }
    expect(picked).toEqual(Array(6).fill(idle));
  });

  it('gives unhealthy backends no new connections', async () => {
    const backends = await httpBackends(3);
    await mesh.setService('svc', web());
    const list = asBackends(backends);
    list[1]!.healthy = false;
    await mesh.setBackends('svc', list);

    expect(countBy(await requests(20))).toEqual({ b0: 10, b2: 10 });
    const states = (await registry.getSingleMetric('orch_mesh_backends')!.get()).values;
    expect(Object.fromEntries(states.map((v) => [v.labels.state, v.value]))).toEqual({
      healthy: 2,
      unhealthy: 1,
      draining: 0,
    });
    expect(states[0]!.labels).toMatchObject({ service: 'web', service_id: 'svc' });

    list[1]!.healthy = true;
    await mesh.setBackends('svc', list);
    expect(countBy(await requests(30))).toEqual({ b0: 10, b1: 10, b2: 10 });
  });

  it('skips a backend that refuses the connection with no client-visible failure', async () => {
    const backends = await httpBackends(2);
    const refusing = await freePort(BACKEND_HOST); // nothing listens there
    await mesh.setService('svc', web());
    await mesh.setBackends('svc', [
      { taskId: 'dead', address: BACKEND_HOST, port: refusing, healthy: true },
      ...asBackends(backends),
    ]);

    const bodies = await requests(30);
    expect(bodies).toHaveLength(30);
    expect(new Set(bodies)).toEqual(new Set(['b0', 'b1']));
    // Refused at least once (then passed over for the set-aside period), and every refusal retried.
    expect(await metric('connect_errors_total')).toBeGreaterThanOrEqual(1);
    expect(await metric('connect_retries_total')).toBe(await metric('connect_errors_total'));
  });

  it('passes over a backend that accepted and closed without answering, while others answer', async () => {
    const backends = await httpBackends(2);
    // A backend that accepts and hangs up at once: what the engine's port proxy does for a task
    // container that just died, until the control plane removes the task.
    const hangUp = net.createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => hangUp.listen(0, BACKEND_HOST, resolve));
    try {
      const port = (hangUp.address() as net.AddressInfo).port;
      await mesh.setService('svc', web());
      await mesh.setBackends('svc', [
        { taskId: 'dying', address: BACKEND_HOST, port, healthy: true },
        ...asBackends(backends),
      ]);
      const outcomes: string[] = [];
      for (let i = 0; i < 30; i++) outcomes.push(await httpGet(MESH, published).catch(() => 'failed'));
      // A connection it took fails (the mesh cannot replay it); then it is passed over for the
      // set-aside period (2 s) instead of taking every third connection (10 of 30).
      const failed = outcomes.filter((o) => o === 'failed').length;
      expect(failed).toBeGreaterThanOrEqual(1);
      expect(failed).toBeLessThan(10);
      expect(outcomes.filter((o) => o !== 'failed').every((o) => o === 'b0' || o === 'b1')).toBe(true);
    } finally {
      await new Promise((resolve) => hangUp.close(resolve));
    }
  });

  it('resets the client promptly when no backend is available', async () => {
    await mesh.setService('svc', web());
    const s = rawConnect(MESH, published);
    const err = await closed(s);
    expect(err).toMatchObject({ code: 'ECONNRESET' });
    expect(s.bytesRead).toBe(0);

    await mesh.setBackends('svc', [{ taskId: 'x', address: BACKEND_HOST, port: 9, healthy: false }]);
    const again = rawConnect(MESH, published);
    expect(await closed(again)).toMatchObject({ code: 'ECONNRESET' });
    expect(await metric('rejected_total')).toBe(2);
  });

  it('resets the client when every backend refuses, after a bounded number of attempts', async () => {
    await mesh.setService('svc', web());
    const ports = [await freePort(BACKEND_HOST), await freePort(BACKEND_HOST), await freePort(BACKEND_HOST)];
    await mesh.setBackends(
      'svc',
      [...ports, ports[0]!].map((port, i) => ({
        taskId: `t${i}`,
        address: BACKEND_HOST,
        port,
        healthy: true,
      })),
    );
    const s = rawConnect(MESH, published);
    expect(await closed(s)).toMatchObject({ code: 'ECONNRESET' });
    expect(await metric('connect_errors_total')).toBe(3); // maxConnectAttempts
  });

  it('keeps serving while a backend is removed, then drains its open connections', async () => {
    const backends = await httpBackends(3);
    // Long enough for the checks below to run on a loaded machine before the drain ends.
    await mesh.setService('svc', web({ drainMs: 1500 }));
    await mesh.setBackends('svc', asBackends(backends));

    // A keep-alive connection that landed on b2, the backend about to be removed.
    const held = await connectionTo(MESH, published, 'b2', 3, cleanups);
    expect(held).toBeDefined();

    let failures = 0;
    const served: string[] = [];
    let done = false;
    const loops = Array.from({ length: 4 }, async () => {
      while (!done) {
        try {
          served.push(await httpGet(MESH, published));
        } catch {
          failures++;
        }
      }
    });
    let removedAt = 0;
    let whenClosed: Promise<Error | undefined>;
    try {
      await waitFor(() => served.length >= 20, 'requests before the removal');
      await mesh.setBackends('svc', asBackends(backends.slice(0, 2))); // b2 removed
      removedAt = served.length;
      whenClosed = closed(held!);

      // Draining: the open connection still works after the removal...
      expect(await keepAliveRequest(held!)).toBe('b2');
      await waitFor(() => served.length >= removedAt + 20, 'requests after the removal');
    } finally {
      done = true; // a failed expectation must not leave the request loops running
      await Promise.all(loops);
    }
    expect(failures).toBe(0);
    // In-flight requests that picked b2 before the removal may still finish there; none after.
    expect(served.slice(removedAt + 4)).not.toContain('b2');
    // ...and is cut when the drain period ends.
    await whenClosed;
    expect(held!.destroyed).toBe(true);
    await waitFor(() => backends[2]!.openConnections === 0, 'backend side closed');
  });

  it('relays half-close: the client ends its side and still gets the reply', async () => {
    const counter = await tcpBackend((s) => {
      let total = 0;
      s.on('data', (d: Buffer) => {
        total += d.length;
      });
      s.on('end', () => s.end(`got ${total}`));
    });
    await mesh.setService('svc', web());
    await mesh.setBackends('svc', [
      { taskId: 't', address: BACKEND_HOST, port: counter.port, healthy: true },
    ]);

    const s = await connect(MESH, published);
    s.end('hello world');
    let reply = '';
    s.on('data', (d: Buffer) => {
      reply += d.toString();
    });
    expect(await closed(s)).toBeUndefined();
    expect(reply).toBe('got 11');
  });

  it('relays half-close from the backend: the server ends first and still reads the client', async () => {
    const server = await tcpBackend((s) => {
      s.end('banner');
      let got = '';
      s.on('data', (d: Buffer) => {
        got += d.toString();
      });
      s.on('end', () => {
        received = got;
      });
    });
    let received = '';
    await mesh.setService('svc', web());
    await mesh.setBackends('svc', [{ taskId: 't', address: BACKEND_HOST, port: server.port, healthy: true }]);

    const s = await connect(MESH, published);
    let banner = '';
    s.on('data', (d: Buffer) => {
      banner += d.toString();
    });
    await new Promise<void>((resolve) => s.once('end', resolve));
    s.end('after the server ended');
    await closed(s);
    expect(banner).toBe('banner');
    await waitFor(() => received !== '', 'backend to read the client');
    expect(received).toBe('after the server ended');
  });

  it('moves 16 MiB each way intact with a slow reader (backpressure)', async () => {
    const echo = await tcpBackend((s) => s.pipe(s));
    await mesh.setService('svc', web());
    await mesh.setBackends('svc', [{ taskId: 't', address: BACKEND_HOST, port: echo.port, healthy: true }]);
    const payload = randomBytes(16 * 1024 * 1024);
    const s = await connect(MESH, published);
    const hash = createHash('sha256');
    let got = 0;
    const done = new Promise<void>((resolve) => {
      s.on('data', (d: Buffer) => {
        hash.update(d);
        got += d.length;
        if (got === payload.length) resolve();
        // A slow reader: the mesh must stop reading the backend instead of buffering it all.
        s.pause();
        setImmediate(() => s.resume());
      });
    });
    s.end(payload);
    await done;
    expect(hash.digest('hex')).toBe(createHash('sha256').update(payload).digest('hex'));
    await closed(s);
    expect(await metric('received_bytes_total')).toBe(payload.length);
    expect(await metric('sent_bytes_total')).toBe(payload.length);
  });

  it('tears down the client when the backend resets the connection', async () => {
    const rude = await tcpBackend((s) => s.once('data', () => s.resetAndDestroy()));
    await mesh.setService('svc', web());
    await mesh.setBackends('svc', [{ taskId: 't', address: BACKEND_HOST, port: rude.port, healthy: true }]);
    const s = await connect(MESH, published);
    s.write('x');
    expect(await closed(s)).toMatchObject({ code: 'ECONNRESET' });
    await waitFor(() => mesh.openListeners().every((l) => 'connectionCount' in l && l.connectionCount === 0));
  });

  it('reports a port it cannot bind, naming address and port, and serves the others', async () => {
    const blocker = await startTcpBackend(MESH, () => {});
    cleanups.push(() => blocker.close());
    const backends = await httpBackends(1);
    const status = await mesh.setService(
      'svc',
      web({
        ports: [
          { protocol: 'tcp', publishedPort: blocker.port, targetPort: 80, mode: 'ingress' },
          { protocol: 'tcp', publishedPort: published, targetPort: 80, mode: 'ingress' },
        ],
      }),
    );
    await mesh.setBackends('svc', asBackends(backends));

    const failed = status.listeners.find((l) => l.publishedPort === blocker.port)!;
    expect(failed.listening).toBe(false);
    expect(failed.error).toBeInstanceOf(MeshListenError);
    expect(failed.error!.message).toContain(`${MESH}:${blocker.port}`);
    expect(failed.error!.code).toBe('EADDRINUSE');
    expect(status.listeners.find((l) => l.publishedPort === published)!.listening).toBe(true);
    expect(await httpGet(MESH, published)).toBe('b0');

    // Once the port is free, the same update binds it.
    await blocker.close();
    const retried = await mesh.setService(
      'svc',
      web({ ports: status.listeners.map((l) => ({ ...l, mode: 'ingress' })) }),
    );
    expect(retried.listeners.every((l) => l.listening && !l.error)).toBe(true);
    expect(await httpGet(MESH, blocker.port)).toBe('b0');
  });

  it('applies updates as diffs: identical updates change nothing, ports open and close individually', async () => {
    const backends = await httpBackends(3);
    await mesh.setService('svc', web());
    await mesh.setBackends('svc', asBackends(backends));
    const [listener] = mesh.openListeners();

    await mesh.setService('svc', web());
    await mesh.setBackends('svc', asBackends(backends));
    expect(mesh.openListeners()).toEqual([listener]);
    // The round-robin cursor was not reset by the repeated update either.
    expect(await requests(2)).toEqual(['b0', 'b1']);
    await mesh.setBackends('svc', asBackends(backends));
    expect(await requests(1)).toEqual(['b2']);

    const second = await freePort(MESH);
    const twoPorts = web({
      ports: [...web().ports, { protocol: 'tcp', publishedPort: second, targetPort: 80, mode: 'ingress' }],
    });
    await mesh.setService('svc', twoPorts);
    expect(mesh.openListeners()).toHaveLength(2);
    expect(mesh.openListeners()[0]).toBe(listener);
    expect(await httpGet(MESH, second)).toMatch(/^b[012]$/);

    await mesh.setService('svc', web({ drainMs: 0 }));
    await waitFor(() => mesh.openListeners().length === 1, 'the removed port to close');
    expect(mesh.openListeners()[0]).toBe(listener);
    await expect(connect(MESH, second)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('rejects an invalid update or a published port of another service without applying it', async () => {
    await mesh.setService('svc', web());
    await expect(mesh.setService('other', web({ name: 'other' }))).rejects.toThrow(
      `published port tcp/${published} is already used by service svc`,
    );
    await expect(
      mesh.setService(
        'svc',
        web({ ports: [{ protocol: 'tcp', publishedPort: 70000, targetPort: 80, mode: 'ingress' }] }),
      ),
    ).rejects.toThrow(MeshConfigError);
    await expect(mesh.setBackends('svc', [{ taskId: '', address: 'x', healthy: true }])).rejects.toThrow(
      'service svc: backends[0].taskId: must be a non-empty string',
    );
    expect(mesh.status('svc')!.listeners).toHaveLength(1);
    expect(mesh.status('other')).toBeUndefined();
  });

  it('removes a service: the port closes at once, open connections drain', async () => {
    const echo = await tcpBackend((s) => s.pipe(s));
    await mesh.setService('svc', web({ drainMs: 1000 }));
    await mesh.setBackends('svc', [{ taskId: 't', address: BACKEND_HOST, port: echo.port, healthy: true }]);
    const s = await connect(MESH, published);
    cleanups.push(() => void s.destroy());
    s.write('a');
    await readBytes(s, 1);

    await mesh.removeService('svc');
    await expect(connect(MESH, published)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    s.write('b');
    expect((await readBytes(s, 1)).toString()).toBe('b');
    await closed(s);
    await waitFor(() => mesh.openListeners().length === 0, 'retired listener to close');
  });

  it('close() releases every listener, connection and timer', async () => {
    const resources = () => countBy(process.getActiveResourcesInfo());
    const before = resources();
    const echo = await tcpBackend((s) => s.pipe(s));
    await mesh.setService('svc', web({ drainMs: 60_000 }));
    await mesh.setBackends('svc', [{ taskId: 't', address: BACKEND_HOST, port: echo.port, healthy: true }]);
    const open: net.Socket[] = [];
    for (let i = 0; i < 3; i++) {
      const s = await connect(MESH, published);
      s.write('x');
      await readBytes(s, 1);
      open.push(s);
    }
    await mesh.setBackends('svc', []); // the connections are now draining, with a 60 s timer
    const listeners = mesh.openListeners();

    await mesh.close();
    await Promise.all(open.map(closed));
    await echo.close();
    await waitFor(() => echo.accepted.every((s) => s.destroyed));
    expect(listeners.every((l) => !l.listening)).toBe(true);
    expect(mesh.openListeners()).toEqual([]);
    await expect(connect(MESH, published)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await expect(mesh.setService('svc', web())).rejects.toThrow('routing mesh is closed');
    // A real leak stays; a timer of the test's own helpers or of Jest may still be finishing.
    const kinds = ['TCPServerWrap', 'TCPSocketWrap', 'Timeout'];
    const released = () => {
      const after = resources();
      return kinds.every((kind) => (after[kind] ?? 0) <= (before[kind] ?? 0));
    };
    await waitFor(released, 'every listener, socket and timer to be released').catch(() => undefined);
    const after = resources();
    for (const kind of kinds) expect(after[kind] ?? 0).toBeLessThanOrEqual(before[kind] ?? 0);
  });
});
