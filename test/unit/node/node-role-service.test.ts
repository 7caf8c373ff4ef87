import * as grpc from '@grpc/grpc-js';
import {
  createNodeRoleImplementation,
  NODE_ROLE_SERVICE,
  notifyRoleChanged,
} from '../../../src/node/node-role-service';

describe('node role notice (orch.node.NodeRole)', () => {
  let server: grpc.Server;
  let client: grpc.Client;
  const notified: string[] = [];

  beforeAll(async () => {
    server = new grpc.Server();
    server.addService(
      NODE_ROLE_SERVICE,
      createNodeRoleImplementation(async (role) => {
        notified.push(role);
      }),
    );
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
        err ? reject(err) : resolve(p),
      ),
    );
    client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  });

  afterAll(() => {
    client?.close();
    server?.forceShutdown();
  });

  it("delivers the node's new role, over the caller's own client, promotion and demotion alike", async () => {
    await notifyRoleChanged(client, 'manager');
    await notifyRoleChanged(client, 'worker');
    expect(notified).toEqual(['manager', 'worker']);
  });

  it('stops waiting when the caller aborts', async () => {
    const controller = new AbortController();
    controller.abort(new Error('leader stepped down'));
    await expect(notifyRoleChanged(client, 'manager', { signal: controller.signal })).rejects.toThrow(
      'leader stepped down',
    );
  });
});
