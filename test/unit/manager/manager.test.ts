// One Manager in process (Raft on loopback without TLS, LevelDB in a temp dir): what `orch init`
// and `orch daemon` rely on, without spawning processes.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { silentLogger } from '../../../src/common/logger';
import { initializeCluster, NodeCertificateProvider } from '../../../src/manager/ca';
import { Manager } from '../../../src/manager/manager';
import { newClusterObject, nodeFromIssuedCertificate } from '../../../src/manager/manager-ca-store';
import { sleep } from '../../../src/manager/manager-loops';

jest.setTimeout(20_000);

async function waitFor(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

describe('manager', () => {
  let dir: string;
  let manager: Manager | undefined;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'orch-manager-'));
  });

  afterEach(async () => {
    await manager?.stop();
    manager = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  async function startManager(options: { bootstrap: boolean }) {
    const cluster = await initializeCluster({ advertiseAddr: '127.0.0.1:4242' });
    let written = 0;
    const started = await Manager.start({
      nodeId: cluster.firstManager.nodeId,
      raftDir: join(dir, 'raft'),
      nodeAddr: '127.0.0.1:4242',
      raftListenAddr: '127.0.0.1:0',
      raftAdvertiseAddr: '127.0.0.1:1',
      certificates: new NodeCertificateProvider(cluster.firstManager),
      raftServerCredentials: grpc.ServerCredentials.createInsecure(),
      channelCredentials: grpc.credentials.createInsecure(),
      bootstrap: options.bootstrap
        ? {
            cluster: newClusterObject(cluster.state, {
              heartbeatPeriodMs: 5000,
              electionTick: 10,
              heartbeatTick: 1,
            }),
            node: nodeFromIssuedCertificate(cluster.firstManagerRecord),
            onWritten: async () => {
              written++;
            },
          }
        : undefined,
      logger: silentLogger(),
    });
    manager = started;
    return { manager: started, cluster, written: () => written };
  }

  it('a new cluster leads at once and writes its Cluster and first Node once', async () => {
    const { manager, cluster, written } = await startManager({ bootstrap: true });
    await manager.waitUntilReady();
    expect(manager.isLeader).toBe(true);
    await waitFor(() => written() === 1, 'the bootstrap objects');
    const info = manager.info();
    expect(info).toMatchObject({
      clusterId: cluster.state.clusterId,
      nodeId: cluster.firstManager.nodeId,
      leaderId: cluster.firstManager.nodeId,
      isLeader: true,
      managers: 1,
      nodes: 1,
      tasks: 0,
      voters: [cluster.firstManager.nodeId],
    });
    expect(manager.leaderControlAddress()).toBe('127.0.0.1:4242');
    expect(await manager.ca.joinTokens()).toEqual(cluster.joinTokens);
  });

  it('runs registered leader loops while it leads and stops them with it', async () => {
    const { manager } = await startManager({ bootstrap: true });
    let running = false;
    let stopped = false;
    manager.registerLeaderLoop('probe', () => ({
      async run(signal) {
        running = true;
        await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve()));
        stopped = true;
      },
    }));
    await waitFor(() => running, 'the leader loop to start');
    await manager.stop();
    expect(stopped).toBe(true);
  });

  it('writes through its store and keeps them across a restart of the same data dir', async () => {
    const first = await startManager({ bootstrap: true });
    await first.manager.waitUntilReady();
    const rotated = await first.manager.ca.rotateJoinToken('worker');
    const nodeId = first.cluster.firstManager.nodeId;
    await first.manager.stop();
    manager = await Manager.start({
      nodeId,
      raftDir: join(dir, 'raft'),
      nodeAddr: '127.0.0.1:4242',
      raftListenAddr: '127.0.0.1:0',
      raftAdvertiseAddr: '127.0.0.1:1',
      certificates: new NodeCertificateProvider(first.cluster.firstManager),
      raftServerCredentials: grpc.ServerCredentials.createInsecure(),
      channelCredentials: grpc.credentials.createInsecure(),
      logger: silentLogger(),
    });
    await manager.waitUntilReady();
    expect((await manager.ca.joinTokens()).worker).toBe(rotated);
  });
});
