import * as grpc from '@grpc/grpc-js';
import { type ControlClient, type ControlHandlers, protos } from '../../../src/api';

describe('generated wire API', () => {
  let server: grpc.Server;
  let client: ControlClient;

  beforeAll(async () => {
    const { Control } = protos().orch.control;
    const handlers: Partial<ControlHandlers> = {
      ListNodes: (_call, callback) =>
        callback(null, {
          nodes: [{ meta: { id: 'n1', version: 7 }, spec: { availability: 'NODE_AVAILABILITY_DRAIN' } }],
        }),
    };
    server = new grpc.Server();
    server.addService(Control.service, handlers as ControlHandlers);
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
        err ? reject(err) : resolve(p),
      ),
    );
    client = new Control(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  });

  afterAll(() => {
    client?.close();
    server?.forceShutdown();
  });

  it('round-trips a typed Control call over gRPC with enums as strings and defaults filled in', async () => {
    const res = await new Promise((resolve, reject) =>
      client.listNodes({}, (err, value) => (err ? reject(err) : resolve(value))),
    );
    expect(res).toMatchObject({
      nodes: [
        {
          meta: { id: 'n1', version: 7, createdAtMs: 0 },
          spec: { availability: 'NODE_AVAILABILITY_DRAIN', desiredRole: 'NODE_ROLE_WORKER', labels: {} },
        },
      ],
    });
  });

  it('answers UNIMPLEMENTED for a method the server does not handle', async () => {
    const err = await new Promise<grpc.ServiceError>((resolve) =>
      client.getNode({ nodeId: 'x' }, (e) => resolve(e as grpc.ServiceError)),
    );
    expect(err.code).toBe(grpc.status.UNIMPLEMENTED);
  });
});
