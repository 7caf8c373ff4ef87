import * as grpc from '@grpc/grpc-js';
import { GrpcTransport } from '../../../raft/transport';
import { type Message, MessageType } from '../../../raft/types';
import { silentLogger } from '../../../src/common/logger';
import { callJson, jsonHandlers, jsonService, RemoteCallError } from '../../../src/manager/manager-json-rpc';
import { NodeServer } from '../../../src/node/node-server';

const ECHO = jsonService('test.Echo', ['Say']);

describe('node server', () => {
  let server: NodeServer;
  let client: grpc.Client;
  let address: string;

  beforeEach(async () => {
    server = new NodeServer(silentLogger());
    server.declare('test.Echo', ECHO, 'this node does not echo');
    address = await server.listen('127.0.0.1:0', grpc.ServerCredentials.createInsecure());
    client = new grpc.Client(address, grpc.credentials.createInsecure());
  });

  afterEach(async () => {
    client.close();
    await server.close();
  });

  it('answers UNAVAILABLE with the declared message while nothing implements a service', async () => {
    const error = await callJson(client, ECHO, 'Say', { text: 'hi' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RemoteCallError);
    expect(error).toMatchObject({ code: grpc.status.UNAVAILABLE, message: 'this node does not echo' });
  });

  it('swaps implementations without restarting (a promotion or a demotion)', async () => {
    server.implement(
      'test.Echo',
      jsonHandlers({ Say: async (request) => ({ said: (request as { text: string }).text }) }),
    );
    expect(await callJson(client, ECHO, 'Say', { text: 'hi' })).toEqual({ said: 'hi' });
    server.implement('test.Echo', undefined);
    await expect(callJson(client, ECHO, 'Say', { text: 'hi' })).rejects.toThrow('this node does not echo');
  });

  it('passes a typed error back as its class name and one-line message', async () => {
    class NopeError extends Error {
      override name = 'NopeError';
    }
    server.implement(
      'test.Echo',
      jsonHandlers(
        {
          Say: async () => {
            throw new NopeError('no echo today');
          },
        },
        () => grpc.status.FAILED_PRECONDITION,
      ),
    );
    const error = (await callJson(client, ECHO, 'Say', {}).catch((e: unknown) => e)) as RemoteCallError;
    expect(error).toMatchObject({
      code: grpc.status.FAILED_PRECONDITION,
      remoteName: 'NopeError',
      message: 'no echo today',
    });
  });

  it('refuses to declare a service once listening', () => {
    expect(() => server.declare('late', ECHO, 'x')).toThrow('service late declared after the server started');
  });

  it("serves Raft on the same port as its declared services while a manager's transport runs", async () => {
    server.implement(
      'test.Echo',
      jsonHandlers({ Say: async (request) => ({ said: (request as { text: string }).text }) }),
    );
    const received: Message[] = [];
    const raft = new GrpcTransport({
      id: 'b',
      server: server.grpcServer,
      advertiseAddress: address,
      onMessage: (m) => received.push(m),
    });
    const peer = new GrpcTransport({ id: 'a', listen: '127.0.0.1:0', onMessage: () => {} });
    try {
      await raft.start();
      await peer.start();
      peer.addPeer('b', address);
      const heartbeat: Message = {
        type: MessageType.Heartbeat,
        from: 'a',
        to: 'b',
        term: 1,
        logTerm: 0,
        index: 0,
        entries: [],
        commit: 0,
        reject: false,
        rejectHint: 0,
      };
      for (let i = 0; i < 400 && received.length === 0; i++) {
        peer.send([heartbeat]);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      expect(received[0]).toMatchObject({ type: MessageType.Heartbeat, from: 'a', to: 'b' });
      await raft.close();
      // The node server keeps serving everything else once Raft stops (a demotion).
      expect(await callJson(client, ECHO, 'Say', { text: 'still here' })).toEqual({ said: 'still here' });
    } finally {
      await raft.close();
      await peer.close();
    }
  });
});
