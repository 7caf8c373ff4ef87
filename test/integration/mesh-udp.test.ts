// The routing mesh's UDP data path on loopback: flows, replies, idle expiry, the flow bound.
import * as dgram from 'node:dgram';
import { Registry } from 'prom-client';
import { silentLogger } from '../../src/common/logger';
import {
  createMeshMetrics,
  type MeshServiceSpec,
  RoutingMesh,
  type RoutingMeshOptions,
} from '../../src/mesh';
import { freePort, meshTestAddress, waitFor } from '../unit/mesh/mesh-test-support';

const MESH = meshTestAddress(2);
const BACKEND_HOST = '127.0.0.1';

interface UdpEcho {
  id: string;
  port: number;
  received: string[];
  socket: dgram.Socket;
}

describe('routing mesh (UDP)', () => {
  let mesh: RoutingMesh | undefined;
  let registry: Registry;
  let published: number;
  const sockets: dgram.Socket[] = [];

  beforeEach(async () => {
    registry = new Registry();
    published = await freePort(MESH, 'udp');
  });

  afterEach(async () => {
    await mesh?.close();
    mesh = undefined;
    for (const s of sockets.splice(0)) await new Promise<void>((r) => s.close(() => r()));
  });

  async function start(options: Partial<RoutingMeshOptions> = {}): Promise<RoutingMesh> {
    mesh = new RoutingMesh({
      meshAddress: MESH,
      logger: silentLogger(),
      metrics: createMeshMetrics(registry),
      ...options,
    });
    return mesh;
  }

  function dns(): MeshServiceSpec {
    return {
      name: 'dns',
      ports: [{ protocol: 'udp', publishedPort: published, targetPort: 53, mode: 'ingress' }],
    };
  }

  async function echo(id: string): Promise<UdpEcho> {
    const socket = dgram.createSocket('udp4');
    sockets.push(socket);
    const backend: UdpEcho = { id, port: 0, received: [], socket };
    socket.on('message', (msg, rinfo) => {
      backend.received.push(msg.toString());
      socket.send(Buffer.from(`${id}:${msg.toString()}`), rinfo.port, rinfo.address);
    });
    await new Promise<void>((r) => socket.bind({ address: BACKEND_HOST, port: 0 }, r));
    backend.port = socket.address().port;
    return backend;
  }

  async function client(): Promise<{ ask(text: string): Promise<string>; socket: dgram.Socket }> {
    const socket = dgram.createSocket('udp4');
    sockets.push(socket);
    await new Promise<void>((r) => socket.bind({ address: '127.0.0.1', port: 0 }, r));
    return {
      socket,
      // Retries like a DNS client (a datagram may be lost while a flow moves off a dead backend)
      // and takes only the reply to this question, not a late reply to a retried earlier one.
      ask: (text) =>
        new Promise((resolve) => {
          const timer = setInterval(() => socket.send(text, published, MESH), 200);
          const onMessage = (msg: Buffer): void => {
            if (!msg.toString().endsWith(`:${text}`)) return;
            clearInterval(timer);
            socket.removeListener('message', onMessage);
            resolve(msg.toString());
          };
          socket.on('message', onMessage);
          socket.send(text, published, MESH);
        }),
    };
  }

  async function metric(name: string): Promise<number> {
    const found = (await registry.getSingleMetric(`orch_mesh_${name}`)?.get())?.values ?? [];
    return found.reduce((sum, v) => sum + v.value, 0);
  }

  it('relays datagrams and replies, keeping each client on one backend', async () => {
    const [a, b] = [await echo('a'), await echo('b')];
    const m = await start();
    await m.setService('dns', dns());
    await m.setBackends('dns', [
      { taskId: 'a', address: BACKEND_HOST, port: a.port, healthy: true },
      { taskId: 'b', address: BACKEND_HOST, port: b.port, healthy: true },
    ]);
    const [c1, c2] = [await client(), await client()];

    const first = [await c1.ask('1'), await c1.ask('2'), await c1.ask('3')];
    const second = [await c2.ask('1'), await c2.ask('2')];
    const backendOf = (replies: string[]) => new Set(replies.map((r) => r.split(':')[0]));
    expect(backendOf(first).size).toBe(1);
    expect(backendOf(second).size).toBe(1);
    expect(backendOf([...first, ...second])).toEqual(new Set(['a', 'b']));
    expect(first.map((r) => r.split(':')[1])).toEqual(['1', '2', '3']);
    expect(await metric('udp_flows')).toBe(2);
    expect(await metric('udp_flows_total')).toBe(2);
  });

  it('closes flows that stay idle past the idle timeout', async () => {
    const a = await echo('a');
    const m = await start({ udpIdleTimeoutMs: 500 });
    await m.setService('dns', dns());
    await m.setBackends('dns', [{ taskId: 'a', address: BACKEND_HOST, port: a.port, healthy: true }]);
    const c = await client();
    expect(await c.ask('x')).toBe('a:x');
    expect(await metric('udp_flows')).toBe(1);
    await waitFor(() => (m.openListeners()[0] as { flowCount: number }).flowCount === 0, 'flow to expire');
    // A new datagram from the same client opens a new flow.
    expect(await c.ask('y')).toBe('a:y');
    expect(await metric('udp_flows_total')).toBe(2);
  });

  it('drops datagrams of new clients beyond the flow bound, existing flows keep working', async () => {
    const a = await echo('a');
    const m = await start({ udpMaxFlows: 1 });
    await m.setService('dns', dns());
    await m.setBackends('dns', [{ taskId: 'a', address: BACKEND_HOST, port: a.port, healthy: true }]);
    const [c1, c2] = [await client(), await client()];
    expect(await c1.ask('1')).toBe('a:1');
    c2.socket.send('lost', published, MESH);
    const dropped = async () => metric('udp_dropped_datagrams_total');
    for (let i = 0; i < 200 && (await dropped()) === 0; i++) await new Promise((r) => setTimeout(r, 5));
    expect(await dropped()).toBe(1);
    expect(await c1.ask('2')).toBe('a:2');
    expect(a.received).not.toContain('lost');
  });

  it('moves a flow off a backend whose port is closed (ICMP unreachable)', async () => {
    const a = await echo('a');
    const closedPort = await freePort(BACKEND_HOST, 'udp');
    const m = await start();
    await m.setService('dns', dns());
    await m.setBackends('dns', [
      { taskId: 'dead', address: BACKEND_HOST, port: closedPort, healthy: true },
      { taskId: 'a', address: BACKEND_HOST, port: a.port, healthy: true },
    ]);
    const c = await client();
    expect(await c.ask('hello')).toBe('a:hello');
    expect(await metric('connect_errors_total')).toBe(1);
  });

  it('gives no flow to a service without healthy backends', async () => {
    const m = await start();
    await m.setService('dns', dns());
    await m.setBackends('dns', [{ taskId: 'a', address: BACKEND_HOST, port: 9, healthy: false }]);
    const c = await client();
    c.socket.send('x', published, MESH);
    for (let i = 0; i < 200 && (await metric('rejected_total')) === 0; i++)
      await new Promise((r) => setTimeout(r, 5));
    expect(await metric('rejected_total')).toBe(1);
    expect(await metric('udp_flows')).toBe(0);
  });

  it('close() releases the port and every flow socket', async () => {
    const a = await echo('a');
    const m = await start();
    await m.setService('dns', dns());
    await m.setBackends('dns', [{ taskId: 'a', address: BACKEND_HOST, port: a.port, healthy: true }]);
    const c = await client();
    expect(await c.ask('x')).toBe('a:x');
    const udpHandles = () => process.getActiveResourcesInfo().filter((r) => r === 'UDPWrap').length;
    const before = udpHandles();
    await m.close();
    // The published port and the flow's upstream socket (handles go one loop turn after close).
    await waitFor(() => udpHandles() === before - 2, 'UDP handles to be released');
    // The port is free again.
    const probe = dgram.createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      probe.once('error', reject);
      probe.bind({ address: MESH, port: published }, resolve);
    });
    await new Promise<void>((r) => probe.close(() => r()));
  });
});
