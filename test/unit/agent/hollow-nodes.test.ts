import * as grpc from '@grpc/grpc-js';
import { type HollowNodes, startHollowNodes } from '../../../src/agent/hollow-nodes';
import { silentLogger } from '../../../src/common/logger';
import {
  Authorizer,
  CertificateAuthority,
  caProtos,
  createCAServiceHandlers,
  createNodeServerCredentials,
  initializeCluster,
  MemoryCAStore,
  NodeCertificateProvider,
} from '../../../src/manager/ca';
import { Dispatcher, dispatcherServiceDefinition } from '../../../src/manager/dispatcher';
import type { MemoryStore } from '../../../src/store';
import {
  assignedTask,
  eventually,
  newTestStore,
  startTestDispatcher,
} from '../dispatcher/dispatcher-harness';

function states(store: MemoryStore, state: string): number {
  return store.view((tx) => tx.tasks.filter((t) => t.status?.state === state).length);
}

function nodesIn(store: MemoryStore, state: string): string[] {
  return store.view((tx) => tx.nodes.filter((n) => n.status?.state === state).map((n) => n.meta!.id));
}

describe('hollow nodes', () => {
  let store: MemoryStore;
  let hollow: HollowNodes | undefined;
  const cleanups: Array<() => void> = [];

  beforeEach(() => {
    ({ store } = newTestStore());
  });

  afterEach(async () => {
    await hollow?.close();
    hollow = undefined;
    for (const cleanup of cleanups.splice(0)) cleanup();
    store.close();
  });

  it('runs many nodes in one process, runs their tasks and goes DOWN when killed (test identities)', async () => {
    const served = await startTestDispatcher(store, { heartbeatPeriodMs: 500, statusBatchDelayMs: 10 });
    cleanups.push(() => served.kill());
    hollow = await startHollowNodes({ count: 40, managers: [served.addr], insecureIdentity: true });
    await eventually(() => nodesIn(store, 'NODE_STATE_READY').length === 40, '40 nodes ready', 25_000);
    await store.batch(async (batch) => {
      for (let i = 0; i < 200; i++)
        await batch.update((tx) =>
          tx.tasks.create(assignedTask(`t-${i}`, `hollow-${i % 40}`, { slot: i + 1 })),
        );
    });
    await eventually(() => states(store, 'TASK_STATE_RUNNING') === 200, '200 tasks running', 25_000);
    expect(hollow.engine.size).toBe(200);

    await hollow.kill(['hollow-3', 'hollow-7']);
    const down = (id: string) => nodesIn(store, 'NODE_STATE_DOWN').includes(id);
    await eventually(() => down('hollow-3') && down('hollow-7'), 'the killed nodes down', 25_000);
    // The survivors are (still, or again after a slow moment) ready.
    await eventually(() => nodesIn(store, 'NODE_STATE_READY').length === 38, '38 nodes ready', 25_000);
  });

  it('joins each node through the CA and holds its session over mutual TLS', async () => {
    const init = await initializeCluster({ advertiseAddr: '127.0.0.1:4242' });
    const caStore = new MemoryCAStore(init.state);
    const ca = new CertificateAuthority({ store: caStore, logger: silentLogger() });
    const authorizer = new Authorizer({ clusterId: init.state.clusterId, revoked: { has: () => false } });
    const dispatcher = new Dispatcher({ store, heartbeatPeriodMs: 1_000 });
    const server = new grpc.Server();
    server.addService(caProtos().CA.service, createCAServiceHandlers(ca, silentLogger()));
    server.addService(dispatcherServiceDefinition(), dispatcher.handlers());
    const credentials = createNodeServerCredentials({
      certificates: new NodeCertificateProvider(init.firstManager),
      authorizer,
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', credentials, (err, p) => (err ? reject(err) : resolve(p))),
    );
    dispatcher.start();
    cleanups.push(() => {
      dispatcher.stop();
      server.forceShutdown();
    });

    hollow = await startHollowNodes({
      count: 3,
      managers: [`127.0.0.1:${port}`],
      joinToken: init.joinTokens.worker,
    });
    const ids = hollow.nodes.map((n) => n.nodeId);
    await eventually(
      () => ids.every((id) => nodesIn(store, 'NODE_STATE_READY').includes(id)),
      'joined nodes ready',
    );
    // The store knows each node by the ID in its certificate, with the role the token gave it.
    for (const id of ids) expect(store.view((tx) => tx.nodes.get(id))!.role).toBe('NODE_ROLE_WORKER');
    await store.update((tx) => tx.tasks.create(assignedTask('t-1', ids[0]!)));
    await eventually(() => states(store, 'TASK_STATE_RUNNING') === 1, 'the task running over mTLS');
  });
});
