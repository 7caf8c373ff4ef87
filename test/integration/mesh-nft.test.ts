// The kernel fast path against the real nf_tables of this machine. Needs root and `nft`
// (Debian package nftables): skipped loudly without them, a failure under CI=true.
import { execFileSync } from 'node:child_process';
import { Registry } from 'prom-client';
import { silentLogger } from '../../src/common/logger';
import {
  createMeshMetrics,
  detectNftables,
  type MeshServiceSpec,
  NftablesFastPath,
  RoutingMesh,
} from '../../src/mesh';
import type { TcpIngress } from '../../src/mesh/tcp-ingress';
import {
  closed,
  connect,
  countBy,
  freePort,
  type HttpBackend,
  httpGet,
  keepAliveRequest,
  meshMetric,
  meshTestAddress,
  rawConnect,
  startHttpBackend,
} from '../unit/mesh/mesh-test-support';

const MESH = meshTestAddress(3);
const BACKEND_HOST = '127.0.0.1';

function nftTables(): string {
  return execFileSync('nft', ['list', 'tables'], { encoding: 'utf8' });
}

function describeNft(name: string, fn: () => void): void {
  const root = process.getuid?.() === 0;
  let nft = false;
  try {
    execFileSync('nft', ['list', 'tables'], { stdio: 'ignore' });
    nft = true;
  } catch {}
  if (root && nft) {
    describe(name, fn);
  } else if (process.env.CI === 'true') {
    describe(name, () => {
      it('needs root and nft (CI=true)', () => {
        throw new Error('the kernel fast path test needs root and nft (apt-get install -y nftables)');
      });
    });
  } else {
    process.stderr.write(`\n!!! SKIPPED ${name}: needs root and nft (Debian package nftables)\n\n`);
    describe.skip(`${name} [SKIPPED: needs root and nft]`, fn);
  }
}

describeNft('routing mesh kernel fast path (nftables)', () => {
  let mesh: RoutingMesh;
  let fastPath: NftablesFastPath;
  let registry: Registry;
  let published: number;
  let backends: HttpBackend[] = [];

  beforeEach(async () => {
    expect(await detectNftables()).toEqual({ available: true, nftPath: 'nft' });
    fastPath = await NftablesFastPath.create({ meshAddress: MESH, logger: silentLogger() });
    registry = new Registry();
    mesh = new RoutingMesh({
      meshAddress: MESH,
      logger: silentLogger(),
      fastPath,
      metrics: createMeshMetrics(registry),
    });
    published = await freePort(MESH);
    backends = [];
    for (let i = 0; i < 3; i++) backends.push(await startHttpBackend(BACKEND_HOST, `b${i}`));
  });

  afterEach(async () => {
    await mesh.close();
    await fastPath.close(); // idempotent; also cleans up if the mesh failed half-way
    for (const b of backends) await b.close();
    expect(nftTables()).not.toContain(fastPath.table);
  });

  const spec = (lb: MeshServiceSpec['lb'] = 'round-robin'): MeshServiceSpec => ({
    name: 'web',
    ports: [{ protocol: 'tcp', publishedPort: published, targetPort: 80, mode: 'ingress' }],
    lb,
  });
  const list = (healthy: boolean[]) =>
    backends.map((b, i) => ({ taskId: `t${i}`, address: BACKEND_HOST, port: b.port, healthy: healthy[i]! }));
  const requests = async (n: number) => {
    const bodies: string[] = [];
    for (let i = 0; i < n; i++) bodies.push(await httpGet(MESH, published));
    return bodies;
  };
  const userspaceConnections = () => (mesh.openListeners()[0] as TcpIngress).stats.connectionsTotal;

  it('balances round-robin in the kernel, bypassing the userspace proxy', async () => {
    await mesh.setService('svc', spec());
    await mesh.setBackends('svc', list([true, true, true]));
    expect(await fastPath.list()).toMatch(
      new RegExp(`tcp dport ${published} ct mark set \\S+ counter name "\\S+" dnat ip to numgen inc mod 3`),
    );

    expect(countBy(await requests(30))).toEqual({ b0: 10, b1: 10, b2: 10 });
    expect(userspaceConnections()).toBe(0);
    // The kernel's counters are in the metrics, and survive a table swap (a backend update).
    expect(await meshMetric(registry, 'connections_total')).toBe(30);
    await mesh.setBackends('svc', list([true, true, false]));
    await requests(4);
    expect(await meshMetric(registry, 'connections_total')).toBe(34);
  });

  it('keeps unhealthy backends out of the map, and falls back to userspace when none is healthy', async () => {
    await mesh.setService('svc', spec());
    await mesh.setBackends('svc', list([true, false, true]));
    expect(countBy(await requests(20))).toEqual({ b0: 10, b2: 10 });

    await mesh.setBackends('svc', list([false, false, false]));
    expect(await fastPath.list()).not.toContain('dnat ip to');
    const s = rawConnect(MESH, published);
    expect(await closed(s)).toMatchObject({ code: 'ECONNRESET' });
    expect(userspaceConnections()).toBe(1);
  });

  it('leaves least-connections services to the userspace proxy', async () => {
    await mesh.setService('svc', spec('least-connections'));
    await mesh.setBackends('svc', list([true, true, true]));
    expect(await fastPath.list()).not.toContain('dnat ip to');
    await requests(3);
    expect(userspaceConnections()).toBe(3);
  });

  it('retries a refused connect: the client never sees the refusal, userspace serves it after the SYN retransmit', async () => {
    const refusing = await freePort(BACKEND_HOST); // nothing listens there
    await mesh.setService('svc', spec());
    await mesh.setBackends('svc', [
      { taskId: 'dead', address: BACKEND_HOST, port: refusing, healthy: true },
      ...list([true, true, false]),
    ]);
    expect(await fastPath.list()).toContain('@retry_tcp');
    const outcomes: { body: string; ms: number }[] = [];
    for (let i = 0; i < 6; i++) {
      const started = Date.now();
      const body = await httpGet(MESH, published).catch((err: NodeJS.ErrnoException) => `error ${err.code}`);
      outcomes.push({ body, ms: Date.now() - started });
    }
    // Every other new connection goes to the dead backend first (numgen takes turns over three).
    expect(outcomes.every((o) => o.body === 'b0' || o.body === 'b1')).toBe(true);
    const retried = outcomes.filter((o) => o.ms >= 900);
    expect(retried.length).toBeGreaterThanOrEqual(1);
    // Those came to the userspace listener (the SYN again, not NATed), which skipped the dead backend.
    expect(userspaceConnections()).toBe(retried.length);
    expect((mesh.openListeners()[0] as TcpIngress).stats.rejectedTotal).toBe(0);
    // Each connection once in the metrics; each kernel refusal a connect error and a retry.
    expect(await meshMetric(registry, 'connections_total')).toBe(6);
    expect(await meshMetric(registry, 'connect_errors_total')).toBeGreaterThanOrEqual(retried.length);
    expect(await meshMetric(registry, 'connect_retries_total')).toBeGreaterThanOrEqual(retried.length);
  });

  it('drains a removed backend: its kernel-routed connection works until the drain period ends, then is reset', async () => {
    await mesh.setService('svc', { ...spec(), drainMs: 1000 });
    await mesh.setBackends('svc', list([true, true, true]));
    const held = await connect(MESH, published);
    const first = await keepAliveRequest(held);
    const index = Number(first.slice(1));
    const whenClosed = closed(held);

    await mesh.setBackends(
      'svc',
      list([true, true, true]).filter((_, i) => i !== index),
    );
    expect(await keepAliveRequest(held)).toBe(first); // still served while draining
    expect(new Set(await requests(10)).has(first)).toBe(false); // no new connections
    // Once the drain period is over the next packet is answered with a reset.
    let cut = false;
    for (let attempt = 0; attempt < 200 && !cut; attempt++) {
      await new Promise((r) => setTimeout(r, 50));
      cut = await keepAliveRequest(held).then(
        () => false,
        () => true,
      );
    }
    expect(cut).toBe(true);
    expect(await whenClosed).toMatchObject({ code: 'ECONNRESET' });
    expect(await fastPath.list()).toContain('cut_tcp');
  });

  it('keeps a table only while a port is routed, and removes it on close', async () => {
    expect(nftTables()).not.toContain(fastPath.table);
    await mesh.setService('svc', spec());
    await mesh.setBackends('svc', list([true, true, true]));
    expect(nftTables()).toContain(fastPath.table);
    await mesh.removeService('svc');
    expect(nftTables()).not.toContain(fastPath.table);
    await mesh.setService('svc', spec());
    await mesh.setBackends('svc', list([true, true, true]));
    expect(nftTables()).toContain(fastPath.table);
    await mesh.close();
    expect(nftTables()).not.toContain(fastPath.table);
  });

  it('replaces the table a killed daemon left on its mesh address, before routing anything', async () => {
    // What a SIGKILLed predecessor leaves: rules that would still send the port to its backends.
    const stale = `table ip ${fastPath.table} {\n  chain mesh_output {\n    type nat hook output priority -100; policy accept;\n    ip daddr ${MESH} tcp dport ${published} dnat ip to ${BACKEND_HOST}:${backends[0]!.port}\n  }\n}\n`;
    execFileSync('nft', ['-f', '-'], { input: stale });
    expect(await httpGet(MESH, published)).toBe('b0');
    const successor = await NftablesFastPath.create({ meshAddress: MESH, logger: silentLogger() });
    try {
      expect(nftTables()).not.toContain(fastPath.table);
      await expect(httpGet(MESH, published)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    } finally {
      await successor.close();
    }
  });
});
