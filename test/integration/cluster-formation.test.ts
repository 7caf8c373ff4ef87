// A cluster formed by real orch processes on loopback: `orch init`, two managers and two workers
// joining with tokens, what every manager then reports, and the joins and calls that must be refused.
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { protos } from '../../src/api';
import {
  createNodeChannelCredentials,
  NODE_CHANNEL_OPTIONS,
  NodeCertificateProvider,
  readNodeTLSMaterial,
} from '../../src/manager/ca';
import { OrchCluster } from './cluster-harness';
import { waitUntil } from './support/wait';

jest.setTimeout(60_000);

describe('cluster formation', () => {
  const cluster = new OrchCluster();
  let workerToken = '';

  afterAll(() => cluster.close());

  it('orch init creates a cluster and prints the worker join command', async () => {
    const result = await cluster.init(1);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Swarm initialized: current node \([a-z0-9]{25}\) is now a manager\.\n\n/);
    const command = /orch join --token (ORCH-1-[a-z0-9]+-[a-z0-9]+) (\S+)/.exec(result.stdout);
    expect(command?.[2]).toBe(cluster.addr(1));
    workerToken = command![1]!;
    expect(result.stdout).toContain("run 'orch join-token manager' and follow the instructions");
    const info = await cluster.info(1);
    expect(info).toMatchObject({ role: 'manager', isLeader: true, state: 'ready', raftMembership: 'voter' });
  });

  it('two managers and two workers join; the token decides the role', async () => {
    const managerToken = await cluster.token('manager', 1);
    const joins = [
      await cluster.join(2, managerToken, 1),
      await cluster.join(3, managerToken, 1),
      await cluster.join(4, workerToken, 1),
      // A worker may join through a follower manager too.
      await cluster.join(5, workerToken, 2),
    ];
    expect(joins.map((j) => j.stdout)).toEqual([
      'This node joined a swarm as a manager.\n',
      'This node joined a swarm as a manager.\n',
      'This node joined a swarm as a worker.\n',
      'This node joined a swarm as a worker.\n',
    ]);
    for (const n of [2, 3]) {
      expect(await cluster.info(n)).toMatchObject({
        role: 'manager',
        raftMembership: 'voter',
        isLeader: false,
      });
    }
    expect(await cluster.info(4)).toMatchObject({ role: 'worker', state: 'ready' });
  });

  it('every manager sees five ready nodes, one leader and two reachable managers', async () => {
    for (const n of [1, 2, 3]) {
      const client = cluster.control(n);
      try {
        const nodes = await waitUntil(
          async () => {
            const list = await client.listNodes();
            const ready = list.filter((node) => node.status?.state === 'NODE_STATE_READY');
            const reachable = list.filter((node) => node.managerStatus?.reachable);
            return ready.length === 5 && reachable.length === 3 ? list : undefined;
          },
          { what: `node ${n} to see 5 ready nodes and 3 reachable managers`, timeoutMs: 15_000 },
        );
        const managers = nodes.filter((node) => node.role === 'NODE_ROLE_MANAGER');
        expect(managers).toHaveLength(3);
        expect(managers.filter((m) => m.managerStatus?.leader)).toHaveLength(1);
        expect(nodes.filter((node) => node.role === 'NODE_ROLE_WORKER')).toHaveLength(2);
      } finally {
        client.close();
      }
    }
    const info = await cluster.info(3);
    expect(info.cluster).toMatchObject({ managers: 3, reachableManagers: 3, nodes: 5 });
    const ls = await cluster.orch(2, 'node', 'ls');
    expect(ls.code).toBe(0);
    const rows = ls.stdout.trim().split('\n').slice(1);
    expect(rows).toHaveLength(5);
    expect(rows.filter((row) => /\bReady\b/.test(row))).toHaveLength(5);
    expect(rows.filter((row) => /\bLeader\b/.test(row))).toHaveLength(1);
    expect(rows.filter((row) => /\bReachable\b/.test(row))).toHaveLength(2);
    const text = await cluster.orch(2, 'info');
    expect(text.stdout).toContain('Managers: 3 (3 reachable)');
  });

  it('join-token prints the same tokens on every manager, and a rotation on a follower reaches all', async () => {
    const before = await cluster.token('worker', 3);
    expect(before).toBe(workerToken);
    const rotated = await cluster.orch(2, 'join-token', 'worker', '--rotate');
    expect(rotated.code).toBe(0);
    expect(rotated.stdout).toMatch(/^Successfully rotated worker join token\.\n\nTo add a worker/);
    const after = await cluster.token('worker', 2);
    expect(after).not.toBe(before);
    await waitUntil(async () => (await cluster.token('worker', 1)) === after, {
      what: 'the leader to print the rotated token',
    });
    const stale = await cluster.join(6, before, 1);
    expect(stale.code).toBe(1);
    expect(stale.stderr).toBe('orch: invalid join token: wrong secret\n');
    workerToken = after;
  });

  it('refuses a token with the wrong secret and one whose CA digest does not match', async () => {
    const [prefix, version, digest] = workerToken.split('-');
    const wrongSecret = `${prefix}-${version}-${digest}-${'a'.repeat(25)}`;
    const secretResult = await cluster.join(7, wrongSecret, 1);
    expect(secretResult.code).toBe(1);
    expect(secretResult.stderr).toBe('orch: invalid join token: wrong secret\n');

    const otherDigest = digest!.replace(/./, (c) => (c === '0' ? '1' : '0'));
    const caResult = await cluster.join(
      7,
      `${prefix}-${version}-${otherDigest}-${workerToken.split('-')[3]}`,
      1,
    );
    expect(caResult.code).toBe(1);
    expect(caResult.stderr).toBe("orch: the manager's CA does not match the join token\n");
  });

  it('a worker certificate may not call Raft or the Control API of a manager', async () => {
    const material = await readNodeTLSMaterial(join(cluster.dataDir(4), 'certificates'));
    const credentials = createNodeChannelCredentials(new NodeCertificateProvider(material!));

    const { Control } = protos().orch.control;
    const control = new Control(cluster.addr(1), credentials, NODE_CHANNEL_OPTIONS);
    const controlError = await new Promise<grpc.ServiceError>((resolve) =>
      control.getInfo({}, (err: grpc.ServiceError | null) => resolve(err!)),
    );
    control.close();
    expect(controlError.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(controlError.details).toBe('this certificate (worker) may not call orch.control.Control');

    const { Raft } = protos().orch.raft;
    const raft = new Raft(cluster.addr(1), credentials, NODE_CHANNEL_OPTIONS);
    const raftError = await new Promise<grpc.ServiceError>((resolve) => {
      const call = raft.stream((err: grpc.ServiceError | null) => resolve(err!));
      call.write({ messages: [] });
    });
    raft.close();
    expect(raftError.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(raftError.details).toBe('this certificate (worker) may not call orch.raft.Raft');
  });

  it('demote turns a manager into a worker; promote makes a worker a Raft voter', async () => {
    const demoted = await cluster.info(3);
    const promoted = await cluster.info(4);
    const client = cluster.control(1);
    try {
      await client.demoteNode(demoted.nodeId);
      await waitUntil(async () => (await cluster.info(3)).role === 'worker', {
        what: 'the demoted manager to run as a worker',
        timeoutMs: 20_000,
      });
      await waitUntil(async () => (await cluster.info(1)).cluster?.managers === 2, {
        what: 'two managers left',
      });

      await client.promoteNode(promoted.nodeId);
      const info = await waitUntil(
        async () => {
          const i = await cluster.info(4);
          return i.role === 'manager' && i.raftMembership === 'voter' && i.state === 'ready' ? i : undefined;
        },
        { what: 'the promoted worker to become a voter', timeoutMs: 20_000 },
      );
      expect(info.isLeader).toBe(false);
      const nodes = await client.listNodes();
      const roles = Object.fromEntries(nodes.map((n) => [n.meta!.id, n.role]));
      expect(roles[demoted.nodeId]).toBe('NODE_ROLE_WORKER');
      expect(roles[promoted.nodeId]).toBe('NODE_ROLE_MANAGER');
    } finally {
      client.close();
    }
  });

  it('a manager cannot leave without being demoted first, and the message says why', async () => {
    const result = await cluster.orch(4, 'leave');
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /^orch: this node is a manager: demote it first \(orch node demote \w+\) or use --force; /,
    );
    expect(result.stderr).toContain('the cluster needs 2 reachable to keep quorum');
  });

  it('a worker leaves: its daemon stops and its state is erased', async () => {
    const pid = cluster.pidOf(5);
    const result = await cluster.orch(5, 'leave');
    expect(result).toMatchObject({ code: 0, stdout: 'Node left the swarm.\n' });
    expect(() => process.kill(pid, 0)).toThrow();
    const again = await cluster.orch(5, 'info');
    expect(again.code).toBe(1);
  });
});
