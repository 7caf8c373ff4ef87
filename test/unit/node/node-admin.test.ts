import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import {
  ADMIN_SERVICE,
  AdminClient,
  AdminRequestError,
  createAdminServiceImplementation,
  DaemonNotRunningError,
  type NodeInfoReport,
} from '../../../src/node/node-admin';

const status = {
  nodeId: 'n1',
  clusterId: 'c1',
  role: 'manager',
  state: 'ready',
  isLeader: true,
  leaderId: 'n1',
  raftMembership: 'voter',
  pid: 4242,
} as const;

const info: NodeInfoReport = {
  ...status,
  listenAddr: '127.0.0.1:4242',
  advertiseAddr: '127.0.0.1:4242',
  dataDir: '/var/lib/orch',
  executor: 'docker',
  meshAddr: '127.0.0.1',
  meshLb: 'least-connections',
  metricsAddr: '127.0.0.1:9323',
  meshServices: 2,
  meshWorkers: 2,
  meshFastPath: 'unavailable: not running as root',
  cluster: {
    leaderAddr: '127.0.0.1:4242',
    managers: 3,
    reachableManagers: 2,
    nodes: 5,
    tasks: 12,
    raftTerm: 7,
  },
};

describe('node admin socket (orch.node.Admin)', () => {
  let dir: string;
  let server: grpc.Server;
  let client: AdminClient;
  const joinTokenRequests: unknown[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'orch-admin-'));
    server = new grpc.Server();
    server.addService(
      ADMIN_SERVICE,
      createAdminServiceImplementation({
        status: async () => status,
        info: async () => info,
        joinToken: async (request) => {
          joinTokenRequests.push(request);
          return { token: `ORCH-1-abc-${request.role}` };
        },
        leave: async (request) => {
          if (!request.force) throw new AdminRequestError('this node is the last manager; use --force');
          return { left: true };
        },
      }),
    );
    const socket = join(dir, 'orch.sock');
    await new Promise<void>((resolve, reject) =>
      server.bindAsync(`unix:${socket}`, grpc.ServerCredentials.createInsecure(), (err) =>
        err ? reject(err) : resolve(),
      ),
    );
    client = new AdminClient(socket);
  });

  afterAll(async () => {
    client?.close();
    server?.forceShutdown();
    await rm(dir, { recursive: true, force: true });
  });

  it("reports the daemon's status and info as the daemon gave them", async () => {
    expect(await client.status()).toEqual(status);
    expect(await client.info()).toEqual(info);
  });

  it('leaves out the cluster summary of a worker', async () => {
    const worker = new grpc.Server();
    const socket = join(dir, 'worker.sock');
    worker.addService(
      ADMIN_SERVICE,
      createAdminServiceImplementation({
        status: async () => ({ ...status, role: 'worker', raftMembership: 'none', isLeader: false }),
        info: async () => ({
          ...info,
          role: 'worker',
          raftMembership: 'none',
          isLeader: false,
          cluster: undefined,
        }),
        joinToken: async () => ({ token: '' }),
        leave: async () => ({ left: true }),
      }),
    );
    await new Promise<void>((resolve, reject) =>
      worker.bindAsync(`unix:${socket}`, grpc.ServerCredentials.createInsecure(), (err) =>
        err ? reject(err) : resolve(),
      ),
    );
    const workerClient = new AdminClient(socket);
    try {
      const report = await workerClient.info();
      expect(report.cluster).toBeUndefined();
      expect(report).toMatchObject({ role: 'worker', raftMembership: 'none', isLeader: false });
    } finally {
      workerClient.close();
      worker.forceShutdown();
    }
  });

  it('passes the role and rotation of a join-token request through', async () => {
    expect(await client.joinToken({ role: 'worker', rotate: true })).toEqual({ token: 'ORCH-1-abc-worker' });
    expect(joinTokenRequests).toEqual([{ role: 'worker', rotate: true }]);
  });

  it("answers a refused request with the daemon's message", async () => {
    await expect(client.leave({ force: false })).rejects.toMatchObject({
      code: grpc.status.FAILED_PRECONDITION,
      remoteName: 'AdminRequestError',
      message: 'this node is the last manager; use --force',
    });
    expect(await client.leave({ force: true })).toEqual({ left: true });
  });

  it('says no daemon runs when nothing listens on the socket', async () => {
    const nobody = new AdminClient(join(dir, 'missing.sock'));
    try {
      await expect(nobody.status({ timeoutMs: 2000 })).rejects.toBeInstanceOf(DaemonNotRunningError);
    } finally {
      nobody.close();
    }
  });
});
