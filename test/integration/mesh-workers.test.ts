// The routing mesh with its TCP ports served by worker processes (`--mesh-workers`): the same
// behaviour as in one process (spread, retry on refusal, draining, bind errors, removal), every
// worker accepting on the shared socket, metrics summed over the workers, a dead worker replaced,
// and no process left after close(). Real sockets and real child processes on loopback.
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { silentLogger } from '../../src/common/logger';
import { createMeshMetrics, MeshListenError, type MeshServiceSpec, RoutingMesh } from '../../src/mesh';
import { MeshWorkers } from '../../src/mesh/mesh-workers';
import { processAlive } from '../../src/node/node-pid-file';
import {
  closed,
  connect,
  connectionTo,
  freePort,
  type HttpBackend,
  httpGet,
  httpGets,
  keepAliveRequest,
  meshMetric,
  meshTestAddress,
  startHttpBackends,
  startTcpBackend,
  waitFor,
} from '../unit/mesh/mesh-test-support';

const MESH = meshTestAddress(4);
const BACKEND_HOST = '127.0.0.1';
const TS_HOOK = join(__dirname, '..', 'support', 'ts-hook.cjs');

describe('routing mesh with worker processes (TCP)', () => {
  let workers: MeshWorkers;
  let mesh: RoutingMesh;
  let registry: Registry;
  let published: number;
  let serviceId: string;
  let serial = 0;
  const cleanups: (() => Promise<void> | void)[] = [];

  beforeAll(() => {
    registry = new Registry();
    workers = new MeshWorkers({
      count: 2,
      config: { meshAddress: MESH, logLevel: 'silent' },
      logger: silentLogger(),
      execArgv: ['-r', TS_HOOK],
    });
    mesh = new RoutingMesh({
      meshAddress: MESH,
      logger: silentLogger(),
      metrics: createMeshMetrics(registry),
      workers,
    });
  });

  beforeEach(async () => {
    serviceId = `svc${++serial}`;
    published = await freePort(MESH);
  });

  afterEach(async () => {
    await mesh.removeService(serviceId).catch(() => {});
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  afterAll(async () => {
    const pids = workers.pids;
    await mesh.close();
    expect(pids.filter(processAlive)).toEqual([]);
  });

  function httpBackends(n: number): Promise<HttpBackend[]> {
    return startHttpBackends(BACKEND_HOST, n, cleanups);
  }

  function web(overrides: Partial<MeshServiceSpec> = {}): MeshServiceSpec {
    return {
      name: `web${serial}`,
      ports: [{ protocol: 'tcp', publishedPort: published, targetPort: 80, mode: 'ingress' }],
      ...overrides,
    };
  }

  function asBackends(backends: { port: number }[]) {
    return backends.map((b, i) => ({ taskId: `t${i}`, address: BACKEND_HOST, port: b.port, healthy: true }));
  }

  function requests(n: number): Promise<string[]> {
    return httpGets(MESH, published, n);
  }

  function metric(name: string): Promise<number> {
    return meshMetric(registry, name, serviceId);
  }

  it('serves the port from every worker, over every backend, and sums their metrics', async () => {
    const backends = await httpBackends(3);
    const status = await mesh.setService(serviceId, web());
    expect(status.listeners).toEqual([
      expect.objectContaining({ protocol: 'tcp', publishedPort: published, listening: true }),
    ]);
    await mesh.setBackends(serviceId, asBackends(backends));

    const bodies = await requests(60);
    const counts = { b0: 0, b1: 0, b2: 0 } as Record<string, number>;
    for (const b of bodies) counts[b]!++;
    // Each worker goes round the backends on its own: even per worker, nearly even overall.
    for (const n of Object.values(counts)) expect(n).toBeGreaterThanOrEqual(10);
    const perWorker = (await workers.stats()).map((w) =>
      w.listeners.filter((l) => l.serviceId === serviceId).reduce((sum, l) => sum + l.connectionsTotal, 0),
    );
    expect(perWorker).toHaveLength(2);
    expect(perWorker.reduce((a, b) => a + b, 0)).toBe(60);
    expect(await metric('connections_total')).toBe(60);
    expect(mesh.status(serviceId)!.listeners[0]!.listening).toBe(true);
  });

  it('binds exactly the mesh address', async () => {
    await mesh.setService(serviceId, web());
    await expect(connect('127.0.0.1', published)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('skips a backend that refuses the connection with no client-visible failure', async () => {
    const backends = await httpBackends(2);
    const refusing = await freePort(BACKEND_HOST);
    await mesh.setService(serviceId, web());
    await mesh.setBackends(serviceId, [
      { taskId: 'dead', address: BACKEND_HOST, port: refusing, healthy: true },
      ...asBackends(backends),
    ]);
    const bodies = await requests(30);
    expect(new Set(bodies)).toEqual(new Set(['b0', 'b1']));
    expect(await metric('connect_errors_total')).toBeGreaterThanOrEqual(1);
    expect(await metric('connect_retries_total')).toBe(await metric('connect_errors_total'));
  });

  it('drains a removed backend: its open connection keeps working, then is cut', async () => {
    const backends = await httpBackends(3);
    await mesh.setService(serviceId, web({ drainMs: 1500 }));
    await mesh.setBackends(serviceId, asBackends(backends));
    const held = await connectionTo(MESH, published, 'b2', 12, cleanups);
    expect(held).toBeDefined();

    await mesh.setBackends(serviceId, asBackends(backends.slice(0, 2)));
    const whenClosed = closed(held!);
    expect(await keepAliveRequest(held!)).toBe('b2');
    expect(await requests(12)).not.toContain('b2');
    // The daemon's own pool forgot b2 at once; the workers still drain it, and the gauge says so.
    const states = (await registry.getSingleMetric('orch_mesh_backends')!.get()).values.filter(
      (v) => v.labels.service_id === serviceId,
    );
    expect(Object.fromEntries(states.map((v) => [v.labels.state, v.value]))).toEqual({
      healthy: 2,
      unhealthy: 0,
      draining: 1,
    });
    await whenClosed;
    await waitFor(() => backends[2]!.openConnections === 0, 'backend side closed');
  });

  it('reports a port it cannot bind, naming address and port, and serves the others', async () => {
    const blocker = await startTcpBackend(MESH, () => {});
    cleanups.push(() => blocker.close());
    const backends = await httpBackends(1);
    const status = await mesh.setService(
      serviceId,
      web({
        ports: [
          { protocol: 'tcp', publishedPort: blocker.port, targetPort: 80, mode: 'ingress' },
          { protocol: 'tcp', publishedPort: published, targetPort: 80, mode: 'ingress' },
        ],
      }),
    );
    await mesh.setBackends(serviceId, asBackends(backends));
    const failed = status.listeners.find((l) => l.publishedPort === blocker.port)!;
    expect(failed.listening).toBe(false);
    expect(failed.error).toBeInstanceOf(MeshListenError);
    expect(failed.error!.code).toBe('EADDRINUSE');
    expect(failed.error!.message).toContain(`${MESH}:${blocker.port}`);
    expect(await httpGet(MESH, published)).toBe('b0');

    await blocker.close();
    const retried = await mesh.setService(
      serviceId,
      web({ ports: status.listeners.map((l) => ({ ...l, mode: 'ingress' as const })) }),
    );
    expect(retried.listeners.every((l) => l.listening && !l.error)).toBe(true);
    expect(await httpGet(MESH, blocker.port)).toBe('b0');
  });

  it('closes the port at once when the service is removed, letting open connections drain', async () => {
    const echo = await startTcpBackend(BACKEND_HOST, (s) => s.pipe(s));
    cleanups.push(() => echo.close());
    await mesh.setService(serviceId, web({ drainMs: 1000 }));
    await mesh.setBackends(serviceId, [
      { taskId: 't', address: BACKEND_HOST, port: echo.port, healthy: true },
    ]);
    const s = await connect(MESH, published);
    cleanups.push(() => void s.destroy());
    s.write('a');
    await new Promise((resolve) => s.once('data', resolve));

    await mesh.removeService(serviceId);
    await expect(connect(MESH, published)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    s.write('b');
    expect((await new Promise<Buffer>((resolve) => s.once('data', resolve))).toString()).toBe('b');
    await closed(s);
  });

  it('replaces a worker that dies, and the new one serves with the current state', async () => {
    const backends = await httpBackends(2);
    await mesh.setService(serviceId, web());
    await mesh.setBackends(serviceId, asBackends(backends));
    const before = workers.pids;
    expect(before).toHaveLength(2);

    // Six requests in a row answered by the backends, within 10 s.
    const servesAgain = async (): Promise<void> => {
      const deadline = Date.now() + 10_000;
      let inARow = 0;
      while (inARow < 6) {
        if (Date.now() > deadline) throw new Error('the mesh did not serve again after a worker died');
        const body = await httpGet(MESH, published).catch(() => 'failed');
        inARow = body === 'b0' || body === 'b1' ? inARow + 1 : 0;
      }
    };
    for (const pid of before) {
      process.kill(pid, 'SIGKILL');
      await waitFor(() => !processAlive(pid) && workers.pids.length === 2, 'a replacement worker');
      await servesAgain();
    }
    // Only the replacements are left now: they learnt the service and its backends.
    expect(workers.pids.some((pid) => before.includes(pid))).toBe(false);
    await servesAgain();
  });
});
