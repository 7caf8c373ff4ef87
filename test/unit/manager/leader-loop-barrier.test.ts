// The leader barrier: leader-only loops start only once the new leader's store has applied
// everything committed in earlier terms (a ReadIndex barrier on the leader), never before.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { RaftNode } from '../../../raft/runtime';
import { silentLogger } from '../../../src/common/logger';
import { initializeCluster, NodeCertificateProvider } from '../../../src/manager/ca';
import { awaitLeaderBarrier, type LeaderBarrierRaft } from '../../../src/manager/leader-loop-barrier';
import { Manager } from '../../../src/manager/manager';
import { newClusterObject, nodeFromIssuedCertificate } from '../../../src/manager/manager-ca-store';
import { sleep } from '../../../src/manager/manager-loops';

jest.setTimeout(20_000);

interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(err: Error): void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

async function waitFor(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** A leader whose barriers the test answers one by one. */
class FakeLeader implements LeaderBarrierRaft {
  isLeader = true;
  term = 7;
  barriers: Deferred<{ index: number }>[] = [];
  status() {
    return { term: this.term };
  }
  readBarrier(options: { signal?: AbortSignal } = {}) {
    const d = deferred<{ index: number }>();
    options.signal?.addEventListener('abort', () => d.reject(new Error('aborted')), { once: true });
    this.barriers.push(d);
    return d.promise;
  }
}

describe('awaitLeaderBarrier', () => {
  const logger = silentLogger();

  it('resolves true only once the barrier has passed while still leading the term', async () => {
    const raft = new FakeLeader();
    let settled: boolean | undefined;
    const waiting = awaitLeaderBarrier(raft, 7, { signal: new AbortController().signal, logger }).then(
      (ok) => {
        settled = ok;
      },
    );
    await waitFor(() => raft.barriers.length === 1, 'the barrier request');
    await sleep(20);
    expect(settled).toBeUndefined();
    raft.barriers[0]!.resolve({ index: 42 });
    await waiting;
    expect(settled).toBe(true);
  });

  it('retries a failed barrier while the leadership lasts', async () => {
    const raft = new FakeLeader();
    const waiting = awaitLeaderBarrier(raft, 7, { signal: new AbortController().signal, logger, retryMs: 1 });
    await waitFor(() => raft.barriers.length === 1, 'the first barrier');
    raft.barriers[0]!.reject(new Error('read dropped'));
    await waitFor(() => raft.barriers.length === 2, 'the retried barrier');
    raft.barriers[1]!.resolve({ index: 3 });
    await expect(waiting).resolves.toBe(true);
  });

  it('gives up when leadership ends or moves to another term before the barrier passes', async () => {
    const lost = new FakeLeader();
    const first = awaitLeaderBarrier(lost, 7, { signal: new AbortController().signal, logger });
    await waitFor(() => lost.barriers.length === 1, 'the barrier');
    lost.isLeader = false;
    lost.barriers[0]!.resolve({ index: 9 });
    await expect(first).resolves.toBe(false);

    const newer = new FakeLeader();
    const second = awaitLeaderBarrier(newer, 7, { signal: new AbortController().signal, logger });
    await waitFor(() => newer.barriers.length === 1, 'the barrier');
    newer.term = 8;
    newer.barriers[0]!.resolve({ index: 9 });
    await expect(second).resolves.toBe(false);
  });

  it('gives up at once when its signal aborts', async () => {
    const raft = new FakeLeader();
    const abort = new AbortController();
    const waiting = awaitLeaderBarrier(raft, 7, { signal: abort.signal, logger, retryMs: 1 });
    await waitFor(() => raft.barriers.length === 1, 'the barrier');
    abort.abort();
    await expect(waiting).resolves.toBe(false);
    expect(raft.barriers).toHaveLength(1);
  });
});

describe('manager leadership', () => {
  let dir: string;
  let manager: Manager | undefined;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'orch-manager-barrier-'));
  });

  afterEach(async () => {
    jest.restoreAllMocks();
    await manager?.stop();
    manager = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  it('starts the leader loops (bootstrap included) only after the leader barrier passes', async () => {
    const barrier = deferred<void>();
    let barrierCalls = 0;
    const real = RaftNode.prototype.readBarrier;
    jest.spyOn(RaftNode.prototype, 'readBarrier').mockImplementation(async function (
      this: RaftNode,
      options,
    ) {
      barrierCalls++;
      await barrier.promise;
      return real.call(this, options);
    });
    const cluster = await initializeCluster({ advertiseAddr: '127.0.0.1:4242' });
    let written = 0;
    manager = await Manager.start({
      nodeId: cluster.firstManager.nodeId,
      raftDir: join(dir, 'raft'),
      nodeAddr: '127.0.0.1:4242',
      raftListenAddr: '127.0.0.1:0',
      raftAdvertiseAddr: '127.0.0.1:1',
      certificates: new NodeCertificateProvider(cluster.firstManager),
      raftServerCredentials: grpc.ServerCredentials.createInsecure(),
      channelCredentials: grpc.credentials.createInsecure(),
      bootstrap: {
        cluster: newClusterObject(cluster.state, {
          heartbeatPeriodMs: 5000,
          electionTick: 10,
          heartbeatTick: 1,
        }),
        node: nodeFromIssuedCertificate(cluster.firstManagerRecord),
        onWritten: async () => {
          written++;
        },
      },
      logger: silentLogger(),
    });
    let started = false;
    manager.registerLeaderLoop('probe', () => ({
      async run(signal) {
        started = true;
        await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve()));
      },
    }));
    const current = manager;
    await waitFor(() => current.isLeader && barrierCalls === 1, 'leadership and the barrier request');
    await sleep(50);
    expect(current.loops.active).toBe(false);
    expect(started).toBe(false);
    expect(written).toBe(0);

    barrier.resolve();
    await waitFor(() => started && written === 1, 'the leader loops and the bootstrap write');
    expect(current.loops.active).toBe(true);
  });

  it('stops cleanly while still waiting for the barrier, starting nothing', async () => {
    jest
      .spyOn(RaftNode.prototype, 'readBarrier')
      .mockImplementation(
        (options) =>
          new Promise((_resolve, reject) =>
            options?.signal?.addEventListener('abort', () => reject(new Error('aborted')), { once: true }),
          ),
      );
    const cluster = await initializeCluster({ advertiseAddr: '127.0.0.1:4242' });
    const current = await Manager.start({
      nodeId: cluster.firstManager.nodeId,
      raftDir: join(dir, 'raft'),
      nodeAddr: '127.0.0.1:4242',
      raftListenAddr: '127.0.0.1:0',
      raftAdvertiseAddr: '127.0.0.1:1',
      certificates: new NodeCertificateProvider(cluster.firstManager),
      raftServerCredentials: grpc.ServerCredentials.createInsecure(),
      channelCredentials: grpc.credentials.createInsecure(),
      logger: silentLogger(),
    });
    manager = current;
    await waitFor(() => current.isLeader, 'leadership');
    await current.stop();
    expect(current.loops.active).toBe(false);
  });
});
