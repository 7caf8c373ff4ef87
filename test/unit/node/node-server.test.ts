import * as grpc from '@grpc/grpc-js';
import { silentLogger } from '../../../src/common/logger';
import { callJson, jsonHandlers, jsonService, RemoteCallError } from '../../../src/manager/manager-json-rpc';
import { NodeServer } from '../../../src/node/node-server';

const ECHO = jsonService('test.Echo', ['Say']);

describe('node server', () => {
  let server: NodeServer;
  let client: grpc.Client;

  beforeEach(async () => {
    server = new NodeServer(silentLogger());
    server.declare('test.Echo', ECHO, 'this node does not echo');
    const address = await server.listen('127.0.0.1:0', grpc.ServerCredentials.createInsecure());
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
});
