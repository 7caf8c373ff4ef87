import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { ControlApiClient, type ControlCallError } from '../../../src/cli/control-client';
import {
  type ControlWriteMethod,
  createWorkerControlHandlers,
  FORWARDED_METADATA_KEY,
  type ForwardOptions,
  type LeaderForwarder,
  NoLeaderError,
  QuorumLostError,
  serveControlSocket,
} from '../../../src/manager/controlapi';
import { controlStatusFromError } from '../../../src/manager/controlapi/control-status';
import { addNodes, type ControlFixture, nodeInput, startControl, webSpec } from './control-fixture';

async function failure(promise: Promise<unknown>): Promise<ControlCallError> {
  try {
    await promise;
  } catch (err) {
    return err as ControlCallError;
  }
  throw new Error('expected the call to fail');
}

class FakeForwarder implements LeaderForwarder {
  readonly nodeId = 'follower1';
  leader = false;
  calls: Array<{ method: ControlWriteMethod; request: unknown; marked: string }> = [];
  isLeader(): boolean {
    return this.leader;
  }
  async forward(method: ControlWriteMethod, request: unknown, options: ForwardOptions): Promise<unknown> {
    this.calls.push({ method, request, marked: String(options.metadata.get(FORWARDED_METADATA_KEY)[0]) });
    if (method === 'ScaleService') throw new NoLeaderError('10.0.0.1:4242');
    return { meta: { id: 'svc-from-leader', version: 9 }, spec: { name: 'web' } };
  }
}

describe('Control API: forwarding to the leader', () => {
  let f: ControlFixture;
  let forwarder: FakeForwarder;

  beforeEach(async () => {
    forwarder = new FakeForwarder();
    f = await startControl({ forwarder });
    await addNodes(f.store, [nodeInput('node1', 'alpha')]);
  });

  afterEach(async () => {
    await f?.close();
  });

  it("sends a follower's writes to the leader, marked as forwarded, and answers with the leader's response", async () => {
    const created = await f.client.createService(webSpec());
    expect(created.meta?.id).toBe('svc-from-leader');
    expect(forwarder.calls).toEqual([
      {
        method: 'CreateService',
        request: expect.objectContaining({ spec: expect.anything() }),
        marked: 'follower1',
      },
    ]);
    expect(f.store.view((tx) => tx.services.list())).toEqual([]);
  });

  it("sends a follower's network writes to the leader, and serves network reads locally", async () => {
    await f.client.createNetwork({ name: 'appnet' });
    await f.client.removeNetwork('appnet');
    expect(forwarder.calls).toEqual([
      {
        method: 'CreateNetwork',
        request: expect.objectContaining({ spec: expect.anything() }),
        marked: 'follower1',
      },
      {
        method: 'RemoveNetwork',
        request: expect.objectContaining({ networkId: 'appnet' }),
        marked: 'follower1',
      },
    ]);
    expect(f.store.view((tx) => tx.networks.list())).toEqual([]);
    expect(await f.client.listNetworks()).toEqual([]);
    expect((await failure(f.client.getNetwork('appnet'))).message).toBe('no such network: appnet');
    expect(forwarder.calls).toHaveLength(2);
  });

  it('serves reads locally on a follower', async () => {
    expect((await f.client.listNodes()).map((n) => n.meta?.id)).toEqual(['node1']);
    expect(forwarder.calls).toEqual([]);
  });

  it('says so in one line when the leader cannot be reached', async () => {
    const err = await failure(f.client.scaleService('web', 3));
    expect(err.code).toBe(grpc.status.UNAVAILABLE);
    expect(err.message).toBe(
      'this manager is not the leader and could not reach the leader (10.0.0.1:4242); try again',
    );
  });

  it('applies writes locally once it is the leader', async () => {
    forwarder.leader = true;
    const created = await f.client.createService(webSpec());
    expect(f.store.view((tx) => tx.services.get(created.meta!.id))?.spec?.name).toBe('web');
    expect(forwarder.calls).toEqual([]);
  });
});

describe('Control API: error statuses', () => {
  it('maps Raft and quorum errors to UNAVAILABLE with a clear line and the leader hint', () => {
    const notLeader = Object.assign(new Error('not the leader'), {
      name: 'NotLeaderError',
      leader: 'm2',
      leaderAddress: '127.0.0.1:4243',
    });
    const status = controlStatusFromError(notLeader);
    expect(status.code).toBe(grpc.status.UNAVAILABLE);
    expect(status.details).toBe('this manager is not the leader; the leader is m2 at 127.0.0.1:4243');
    expect(status.metadata.get('orch-leader')).toEqual(['127.0.0.1:4243']);

    const quorum = controlStatusFromError(new QuorumLostError());
    expect(quorum.code).toBe(grpc.status.UNAVAILABLE);
    expect(quorum.details).toBe(
      'the cluster has lost its quorum of managers: bring enough managers back online to restore it',
    );
  });

  it("passes the manager's own one-line errors through with a fitting code", () => {
    const refused = Object.assign(new Error('removing manager m3 would leave 1 of 2 managers reachable'), {
      name: 'MembershipRefusedError',
    });
    expect(controlStatusFromError(refused)).toMatchObject({
      code: grpc.status.FAILED_PRECONDITION,
      details: 'removing manager m3 would leave 1 of 2 managers reachable',
    });
    const stopped = Object.assign(new Error('this node is no longer running as a manager'), {
      name: 'ManagerStoppedError',
    });
    expect(controlStatusFromError(stopped).code).toBe(grpc.status.UNAVAILABLE);
  });

  it('turns an unexpected error into INTERNAL without a stack', () => {
    const status = controlStatusFromError(new TypeError('x is undefined\n    at foo (bar.ts:1)'));
    expect(status.code).toBe(grpc.status.INTERNAL);
    expect(status.details).toBe('internal error in the control API: x is undefined at foo (bar.ts:1)');
  });

  it('answers a linearizable read with UNAVAILABLE when the read barrier finds no quorum', async () => {
    const f = await startControl();
    try {
      f.ops.readBarrierError = new QuorumLostError();
      const err = await failure(f.client.listServices({ linearizable: true }));
      expect(err.code).toBe(grpc.status.UNAVAILABLE);
      expect(err.message).toMatch(/^the cluster has lost its quorum of managers/);
    } finally {
      await f.close();
    }
  });
});

describe('Control API on a worker', () => {
  it('answers every call, unary or streaming, with "not a manager"', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'orch-worker-'));
    const server = await serveControlSocket(join(dir, 'orch.sock'), createWorkerControlHandlers());
    const client = new ControlApiClient({ dataDir: dir });
    try {
      for (const call of [client.listNodes(), client.createService(webSpec()), client.getInfo()]) {
        const err = await failure(call);
        expect(err.message).toBe('this node is not a manager; run the command on a manager');
      }
      const logs = failure(
        (async () => {
          for await (const _ of client.serviceLogs({ serviceIds: ['web'] })) {
            // nothing arrives
          }
        })(),
      );
      expect((await logs).message).toBe('this node is not a manager; run the command on a manager');
    } finally {
      client.close();
      await server.close({ graceMs: 100 });
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('CLI control client', () => {
  it('gives up on a node that does not answer within the deadline, in one line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'orch-slow-'));
    const handlers = { ...createWorkerControlHandlers(), GetInfo: () => undefined };
    const server = await serveControlSocket(join(dir, 'orch.sock'), handlers);
    const client = new ControlApiClient({ dataDir: dir, timeoutMs: 100 });
    try {
      const err = await failure(client.getInfo());
      expect(err.code).toBe(grpc.status.DEADLINE_EXCEEDED);
      expect(err.message).toBe(
        `the node at ${join(dir, 'orch.sock')} did not answer in time; is it overloaded or waiting for a quorum?`,
      );
    } finally {
      client.close();
      await server.close({ graceMs: 50 });
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('says no node is running when the data dir has no socket', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'orch-empty-'));
    const client = new ControlApiClient({ dataDir: dir });
    try {
      const err = await failure(client.listNodes());
      expect(err.message).toBe(
        `no node is running with data dir ${dir}: start one with 'orch init' or 'orch daemon'`,
      );
    } finally {
      client.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
