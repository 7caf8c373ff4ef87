// The scale benchmark's tooling (test/bench/hollow-scale*.ts). First HollowJoiner, the joining its
// hollow workers use (src/agent/hollow-join.ts), against an in-process CA on loopback whose
// IssueNodeCertificate can be made to fail. Then a small run of the benchmark's exact path: 3 manager
// daemons from dist/ (drained), 20 hollow workers in one forked process that join through the
// cluster CA with a worker token and hold mTLS sessions, 200 tasks created through the leader's
// Control API, then 5 workers stopped abruptly. Timings are printed, never asserted.
import * as grpc from '@grpc/grpc-js';
import { HollowJoinError, HollowJoiner, isTransientJoinError } from '../../src/agent/hollow-join';
import type { Node__Output } from '../../src/api/gen/types/orch/objects/Node';
import { silentLogger } from '../../src/common/logger';
import {
  Authorizer,
  CertificateAuthority,
  caProtos,
  createCAServiceHandlers,
  createNodeServerCredentials,
  initializeCluster,
  MemoryCAStore,
  NodeCertificateProvider,
} from '../../src/manager/ca';
import { CARequestError } from '../../src/manager/ca/ca-errors';
import { HollowScaleCluster } from '../bench/hollow-scale-cluster';

interface TestCA {
  addr: string;
  workerToken: string;
  issued: () => number;
  /** The next `n` IssueNodeCertificate calls fail with `code`. */
  failNext: (n: number, code: grpc.status) => void;
  close: () => void;
}

async function startCA(): Promise<TestCA> {
  const init = await initializeCluster({ advertiseAddr: '127.0.0.1:4242' });
  const ca = new CertificateAuthority({ store: new MemoryCAStore(init.state), logger: silentLogger() });
  const handlers = createCAServiceHandlers(ca, silentLogger());
  let failures = 0;
  let failCode = grpc.status.UNAVAILABLE;
  let issued = 0;
  const server = new grpc.Server();
  server.addService(caProtos().CA.service, {
    ...handlers,
    IssueNodeCertificate: (call, callback) => {
      if (failures > 0) {
        failures--;
        callback({ code: failCode, details: 'injected failure' });
        return;
      }
      handlers.IssueNodeCertificate(call, (err, value) => {
        if (!err) issued++;
        callback(err, value);
      });
    },
  } as typeof handlers);
  const credentials = createNodeServerCredentials({
    certificates: new NodeCertificateProvider(init.firstManager),
    authorizer: new Authorizer({ clusterId: init.state.clusterId, revoked: { has: () => false } }),
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', credentials, (err, p) => (err ? reject(err) : resolve(p))),
  );
  return {
    addr: `127.0.0.1:${port}`,
    workerToken: init.joinTokens.worker,
    issued: () => issued,
    failNext: (n, code) => {
      failures = n;
      failCode = code;
    },
    close: () => server.forceShutdown(),
  };
}

describe('hollow join', () => {
  let ca: TestCA;

  beforeAll(async () => {
    ca = await startCA();
  });

  afterAll(() => ca.close());

  it('joins a node through the CA with the worker token: a worker certificate for a new node ID', async () => {
    const joiner = new HollowJoiner({ managers: [ca.addr], token: ca.workerToken });
    const [a, b] = await Promise.all([joiner.join(0), joiner.join(1)]);
    expect(a.role).toBe('worker');
    expect(a.nodeId).not.toBe(b.nodeId);
    expect(a.certificatePem).toContain('BEGIN CERTIFICATE');
    expect(joiner.joinStats()).toEqual({ joined: 2, retries: 0 });
  });

  it('tries a transiently failed join again, through the next manager, until it succeeds', async () => {
    const joiner = new HollowJoiner({
      // The first address refuses connections: nothing listens on port 1.
      managers: ['127.0.0.1:1', ca.addr],
      token: ca.workerToken,
      backoff: { initialMs: 1, maxMs: 5 },
    });
    ca.failNext(2, grpc.status.UNAVAILABLE);
    const before = ca.issued();
    // Attempt 1 via 127.0.0.1:1 (refused), 2 via the CA (injected), 3 via :1, 4 via the CA (injected), 5 via :1, 6 succeeds.
    const material = await joiner.join(0);
    expect(material.role).toBe('worker');
    expect(ca.issued()).toBe(before + 1);
    expect(joiner.joinStats()).toEqual({ joined: 1, retries: 5 });
  });

  it('gives up at once on a refusal: a wrong token is not retried', async () => {
    const joiner = new HollowJoiner({ managers: [ca.addr], token: `${ca.workerToken.slice(0, -4)}0000` });
    const error = await joiner.join(3).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(HollowJoinError);
    expect((error as HollowJoinError).attempts).toBe(1);
    expect(joiner.joinStats().retries).toBe(0);
  });

  it('gives up after maxAttempts transient failures, naming the node and the last error', async () => {
    const joiner = new HollowJoiner({
      managers: [ca.addr],
      token: ca.workerToken,
      maxAttempts: 3,
      backoff: { initialMs: 1, maxMs: 2 },
    });
    ca.failNext(3, grpc.status.INTERNAL);
    const error = (await joiner.join(7).catch((err: unknown) => err)) as HollowJoinError;
    expect(error).toBeInstanceOf(HollowJoinError);
    expect(error.message).toMatch(/^hollow node 7 could not join after 3 attempt\(s\)/);
    expect(isTransientJoinError(error.cause)).toBe(true);
  });

  it('stops retrying when its signal aborts', async () => {
    const joiner = new HollowJoiner({
      managers: ['127.0.0.1:1'],
      token: ca.workerToken,
      backoff: { initialMs: 60_000, maxMs: 60_000 },
    });
    const abort = new AbortController();
    const joining = joiner.join(0, abort.signal);
    setTimeout(() => abort.abort(new Error('stopped')), 200).unref();
    await expect(joining).rejects.toThrow('stopped');
  });

  it('treats only unavailability-like CA errors as transient', () => {
    expect(isTransientJoinError(new CARequestError('x', grpc.status.UNAVAILABLE))).toBe(true);
    expect(isTransientJoinError(new CARequestError('x', grpc.status.DEADLINE_EXCEEDED))).toBe(true);
    expect(isTransientJoinError(new CARequestError('x', grpc.status.UNAUTHENTICATED))).toBe(false);
    expect(isTransientJoinError(new Error('x'))).toBe(false);
  });
});

jest.setTimeout(90_000);

const NODES = 20;
const SERVICES = 4;
const REPLICAS = 50;
const KILL = 5;

describe('hollow scale benchmark (smoke size)', () => {
  const cluster = new HollowScaleCluster({ managers: 3, heartbeatPeriod: '1s', timeoutMs: 40_000 });
  let nodeIds: string[] = [];
  let serviceIds: string[] = [];

  afterAll(() => cluster.close());

  beforeAll(async () => {
    await cluster.startManagers();
    await cluster.findLeader();
  });

  it('runs three real managers, all drained', async () => {
    const managers = (await cluster.leader().listNodes()).filter((n) => n.managerStatus !== null);
    expect(managers).toHaveLength(3);
    expect(managers.every((n) => n.spec?.availability === 'NODE_AVAILABILITY_DRAIN')).toBe(true);
    expect(managers.filter((n) => n.managerStatus!.leader)).toHaveLength(1);
  });

  it('joins every hollow worker through the CA with its own certificate and brings it Ready', async () => {
    ({ nodeIds } = await cluster.startWorkers({ count: NODES, joinConcurrency: 8 }));
    expect(new Set(nodeIds).size).toBe(NODES);
    const ids = new Set(nodeIds);
    await cluster.until(
      'workers ready',
      async () => (await cluster.countNodes(ids, 'NODE_STATE_READY')) === NODES,
    );
    const workers: Node__Output[] = (await cluster.leader().listNodes()).filter((n) => ids.has(n.meta!.id));
    expect(workers.every((n) => n.role === 'NODE_ROLE_WORKER')).toBe(true);
    expect(workers.every((n) => n.certificate !== null && n.certificate.serialNumber !== '')).toBe(true);
  });

  it('runs every replica of every service on the hollow workers, none on a manager', async () => {
    const t0 = performance.now();
    serviceIds = await cluster.createServices(SERVICES, REPLICAS);
    await cluster.waitAllRunning(serviceIds, REPLICAS);
    process.stderr.write(
      `hollow-scale-smoke: ${SERVICES * REPLICAS} tasks running in ${Math.round(performance.now() - t0)} ms\n`,
    );
    const tasks = await cluster.leader().listTasks({ filters: { desiredStates: ['TASK_STATE_RUNNING'] } });
    expect(tasks).toHaveLength(SERVICES * REPLICAS);
    const workers = new Set(nodeIds);
    expect(tasks.every((t) => workers.has(t.nodeId))).toBe(true);
    for (const m of cluster.managersMemory()) expect(m.peakRssBytes).toBeGreaterThanOrEqual(m.rssBytes);
  });

  it('marks abruptly stopped workers Down and runs their tasks elsewhere', async () => {
    const victims = nodeIds.slice(0, KILL);
    const slots = await cluster.slotsOn(victims);
    const orphaned = [...slots.values()].reduce((sum, s) => sum + s.size, 0);
    expect(orphaned).toBeGreaterThan(0);
    const killed = new Set(await cluster.killWorkers(KILL));
    expect([...killed].sort()).toEqual([...victims].sort());
    await cluster.until(
      'killed workers down',
      async () => (await cluster.countNodes(killed, 'NODE_STATE_DOWN')) === KILL,
    );
    await cluster.waitReplaced(slots, killed);
    const running = await cluster.leader().listTasks({ filters: { desiredStates: ['TASK_STATE_RUNNING'] } });
    expect(
      running.filter((t) => t.status?.state === 'TASK_STATE_RUNNING' && !killed.has(t.nodeId)),
    ).toHaveLength(SERVICES * REPLICAS);
  });
});
