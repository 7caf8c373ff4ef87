import * as grpc from '@grpc/grpc-js';
import { NotLeaderError, type RaftNode } from '../../../raft/runtime';
import { silentLogger } from '../../../src/common/logger';
import { QuorumLostError } from '../../../src/manager/manager-errors';
import {
  createForwardingHandlers,
  ForwardingProposer,
  forwardingServiceDefinition,
} from '../../../src/manager/manager-forwarding';

/** Just what the proposer and the handlers use of a RaftNode. */
function fakeRaft(isLeader: boolean, proposed: Uint8Array[], index = 41): RaftNode {
  return {
    isLeader,
    async propose(data: Uint8Array) {
      if (!isLeader) throw new NotLeaderError('', undefined);
      proposed.push(data);
      return { index };
    },
  } as unknown as RaftNode;
}

describe('forwarding proposer', () => {
  let server: grpc.Server;
  let leaderAddr: string;
  const leaderProposals: Uint8Array[] = [];
  let leaderRaft: RaftNode | undefined;
  const clients: grpc.Client[] = [];

  beforeAll(async () => {
    server = new grpc.Server();
    server.addService(
      forwardingServiceDefinition(),
      createForwardingHandlers(() => leaderRaft),
    );
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
        err ? reject(err) : resolve(p),
      ),
    );
    leaderAddr = `127.0.0.1:${port}`;
  });

  afterAll(() => {
    for (const c of clients) c.close();
    server.forceShutdown();
  });

  function proposer(local: RaftNode, leader: () => string | undefined, noLeaderTimeoutMs = 2000) {
    return new ForwardingProposer({
      raft: () => local,
      leaderNodeAddress: leader,
      clientFor: (addr) => {
        const client = new grpc.Client(addr, grpc.credentials.createInsecure());
        clients.push(client);
        return client;
      },
      noLeaderTimeoutMs,
      quorumLost: async () => new QuorumLostError(2, 3),
      logger: silentLogger(),
    });
  }

  it('proposes to its own Raft when it leads', async () => {
    const proposals: Uint8Array[] = [];
    const result = await proposer(fakeRaft(true, proposals, 7), () => undefined).propose(Uint8Array.of(1, 2));
    expect(result).toEqual({ index: 7 });
    expect(proposals).toEqual([Uint8Array.of(1, 2)]);
  });

  it('forwards the entry bytes to the leader on a follower', async () => {
    leaderRaft = fakeRaft(true, leaderProposals, 99);
    const result = await proposer(fakeRaft(false, []), () => leaderAddr).propose(Uint8Array.of(5, 6, 7));
    expect(result).toEqual({ index: 99 });
    expect(Buffer.from(leaderProposals.at(-1)!)).toEqual(Buffer.from([5, 6, 7]));
  });

  it('fails with the quorum-lost error when no leader appears in time', async () => {
    await expect(
      proposer(fakeRaft(false, []), () => undefined, 200).propose(Uint8Array.of(1)),
    ).rejects.toThrow('the cluster has lost quorum: 2 of 3 managers are unreachable');
  });

  it('keeps trying while the called manager says it is not the leader, then gives up', async () => {
    leaderRaft = fakeRaft(false, []);
    await expect(
      proposer(fakeRaft(false, []), () => leaderAddr, 300).propose(Uint8Array.of(1)),
    ).rejects.toThrow(QuorumLostError);
  });

  it('stops at once when aborted', async () => {
    const controller = new AbortController();
    controller.abort(new Error('caller gave up'));
    await expect(
      proposer(fakeRaft(false, []), () => undefined).propose(Uint8Array.of(1), { signal: controller.signal }),
    ).rejects.toThrow(/aborted/i);
  });
});
