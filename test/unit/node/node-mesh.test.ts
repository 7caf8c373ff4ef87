import { Registry } from 'prom-client';
import { silentLogger } from '../../../src/common/logger';
import { EndpointTable, type ServiceEndpoints } from '../../../src/mesh';
import { NodeMesh, type NodeMeshOptions } from '../../../src/node/node-mesh';
import { NodeMetricsServer } from '../../../src/node/node-metrics-server';
import {
  freePort,
  type HttpBackend,
  httpGet,
  meshTestAddress,
  startHttpBackend,
  startTcpBackend,
} from '../mesh/mesh-test-support';

const HOST = meshTestAddress(11);

function web(publishedPort: number, backends: HttpBackend[]): ServiceEndpoints {
  return {
    serviceId: 'svc-web',
    name: 'web',
    ports: [{ protocol: 'tcp', publishedPort, targetPort: 80, mode: 'ingress' }],
    drainMs: 100,
    backends: backends.map((b) => ({
      taskId: b.id,
      nodeId: 'n1',
      address: b.host,
      ports: [{ protocol: 'tcp' as const, targetPort: 80, port: b.port }],
      healthy: true,
    })),
  };
}

async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A node mesh on HOST: round-robin, userspace only, in this process, unless `options` say otherwise. */
function startMesh(options: Partial<NodeMeshOptions> = {}): Promise<NodeMesh> {
  return NodeMesh.start({
    nodeId: 'n1',
    meshAddress: HOST,
    lb: 'round-robin',
    fastPath: 'off',
    workers: 0,
    logger: silentLogger(),
    ...options,
  });
}

async function answers(port: number): Promise<string | undefined> {
  return httpGet(HOST, port).catch(() => undefined);
}

describe('node mesh (the daemon routing mesh, driven by an endpoint table)', () => {
  const closers: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
  });

  async function backend(id: string): Promise<HttpBackend> {
    const b = await startHttpBackend(HOST, id);
    closers.push(() => b.close());
    return b;
  }

  it('serves what the table says, follows its changes, and switches to another table whole', async () => {
    const registry = new Registry();
    const mesh = await startMesh({ registry });
    closers.push(() => mesh.close());
    const [a, b] = [await backend('a'), await backend('b')];
    const port = await freePort(HOST);

    const managerTable = new EndpointTable();
    managerTable.apply([web(port, [a])], []);
    mesh.useTable(managerTable);
    await until(async () => (await answers(port)) === 'a', 'the service to answer');

    managerTable.apply([web(port, [b])], []);
    await until(async () => (await answers(port)) === 'b', 'the new backend');

    // A worker's table (from the dispatcher) replaces it: services it lacks go.
    const workerTable = new EndpointTable();
    mesh.useTable(workerTable);
    await until(async () => (await answers(port)) === undefined, 'the port to close');
    expect(mesh.status()).toEqual([]);

    // Metrics carry the service's connections.
    const text = await registry.metrics();
    expect(text).toMatch(
      /orch_mesh_connections_total\{service="web",service_id="svc-web",protocol="tcp",published_port="\d+"\} [1-9]/,
    );
  });

  it('refuses a mesh address this host cannot listen on, naming the flag', async () => {
    await expect(startMesh({ meshAddress: '192.0.2.1' })).rejects.toThrow(
      'the mesh address 192.0.2.1 cannot be listened on (EADDRNOTAVAIL): give --mesh-addr an address of this host',
    );
  });

  it('falls back to the userspace proxy when the kernel fast path cannot work (auto), refuses to start when it was required (on)', async () => {
    const nftPath = '/nonexistent/nft';
    // Not root, or (as root) no such nft: either way a reason, and the proxy serves.
    const reason = "(not running as root|'/nonexistent/nft' not found)";
    const mesh = await startMesh({ nftPath, fastPath: 'auto' });
    closers.push(() => mesh.close());
    expect(mesh.fastPathState).toMatch(new RegExp(`^unavailable: ${reason}`));
    const a = await backend('a');
    const port = await freePort(HOST);
    const table = new EndpointTable();
    table.apply([web(port, [a])], []);
    mesh.useTable(table);
    await until(async () => (await answers(port)) === 'a', 'the userspace proxy to answer');

    await expect(startMesh({ nftPath, fastPath: 'on' })).rejects.toThrow(
      new RegExp(`^--mesh-fast-path on: the kernel fast path cannot work here: ${reason}`),
    );
    const off = await startMesh({ nftPath });
    closers.push(() => off.close());
    expect(off.fastPathState).toBe('off');
  });

  it('moves a published port from one service to another within one change', async () => {
    const mesh = await startMesh({ lb: 'least-connections' });
    closers.push(() => mesh.close());
    const [a, b] = [await backend('a'), await backend('b')];
    const port = await freePort(HOST);
    const table = new EndpointTable();
    table.apply([{ ...web(port, [a]), serviceId: 'old', name: 'old' }], []);
    mesh.useTable(table);
    await until(async () => (await answers(port)) === 'a', 'the old service');
    // The new service comes first in the change: the mesh retries it once the old one let go.
    table.apply(
      [
        { ...web(port, [b]), serviceId: 'new', name: 'new' },
        { ...web(port + 1, [a]), serviceId: 'old', name: 'old' },
      ],
      [],
    );
    await until(async () => (await answers(port)) === 'b', 'the new service on the port');
  });
});

describe('node mesh bind retries', () => {
  it('binds a published port held by another process once it is freed, with no table change', async () => {
    const mesh = await startMesh();
    const b = await startHttpBackend(HOST, 'a');
    const holder = await startTcpBackend(HOST, (socket) => socket.destroy());
    const port = holder.port;
    try {
      const table = new EndpointTable();
      table.apply([web(port, [b])], []);
      mesh.useTable(table);
      await until(
        async () => mesh.status()[0]?.listeners[0]?.error?.code === 'EADDRINUSE',
        'the failed bind',
      );
      await holder.close();
      await until(async () => (await answers(port)) === 'a', 'the port bound on the retry');
    } finally {
      await holder.close();
      await mesh.close();
      await b.close();
    }
  });
});

describe('node metrics server', () => {
  it('serves the registry on /metrics only, and close() releases the port', async () => {
    const registry = new Registry();
    registry.setDefaultLabels({});
    const server = await NodeMetricsServer.start(`${HOST}:0`, registry, silentLogger());
    try {
      const port = Number(server.address.split(':').pop());
      const body = await fetch(`http://${HOST}:${port}/metrics`);
      expect(body.status).toBe(200);
      expect(body.headers.get('content-type')).toContain('text/plain');
      expect((await fetch(`http://${HOST}:${port}/`)).status).toBe(404);
    } finally {
      await server.close();
    }
  });

  it('names the address when it cannot listen', async () => {
    await expect(NodeMetricsServer.start('192.0.2.1:9323', new Registry(), silentLogger())).rejects.toThrow(
      'cannot serve metrics on 192.0.2.1:9323',
    );
  });
});
