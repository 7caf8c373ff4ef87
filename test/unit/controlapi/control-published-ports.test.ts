// The Control API refuses, inside the create and update transactions, an ingress port another
// service already publishes: one line naming the port and the holder, ALREADY_EXISTS, nothing written.
import * as grpc from '@grpc/grpc-js';
import type { PortConfig } from '../../../src/api/gen/types/orch/objects/PortConfig';
import type { ControlCallError } from '../../../src/cli/control-client';
import { cliRunner } from '../cli/cli-harness';
import { type ControlFixture, startControl, webSpec } from './control-fixture';

async function failure(promise: Promise<unknown>): Promise<ControlCallError> {
  try {
    await promise;
  } catch (err) {
    return err as ControlCallError;
  }
  throw new Error('expected the call to fail');
}

function port(publishedPort: number, options: Partial<PortConfig> = {}): PortConfig {
  return { targetPort: 80, publishedPort, protocol: 'PORT_PROTOCOL_TCP', ...options };
}

describe('Control API: published ports', () => {
  let f: ControlFixture;

  beforeEach(async () => {
    f = await startControl();
    await f.client.createService(webSpec({ endpoint: { ports: [port(8080)] } }));
  });

  afterEach(async () => {
    await f?.close();
  });

  it('refuses to create a service on a port another service publishes, and writes nothing', async () => {
    const before = f.store.appliedIndex;
    const err = await failure(
      f.client.createService(webSpec({ name: 'api', endpoint: { ports: [port(9000), port(8080)] } })),
    );
    expect(err.code).toBe(grpc.status.ALREADY_EXISTS);
    expect(err.message).toBe(
      'endpoint.ports[1].publishedPort: port 8080/tcp is already published by service web',
    );
    expect(f.store.appliedIndex).toBe(before);
    expect(f.store.view((tx) => tx.services.list().map((s) => s.spec?.name))).toEqual(['web']);
  });

  it('refuses an update that adds a port another service publishes, leaving the service as it was', async () => {
    const api = await f.client.createService(webSpec({ name: 'api', endpoint: { ports: [port(9000)] } }));
    const before = f.store.appliedIndex;
    const err = await failure(
      f.client.updateService('api', api.meta!.version, {
        ...api.spec!,
        endpoint: { ports: [port(9000), port(8080)] },
      }),
    );
    expect(err.code).toBe(grpc.status.ALREADY_EXISTS);
    expect(err.message).toBe(
      'endpoint.ports[1].publishedPort: port 8080/tcp is already published by service web',
    );
    expect(f.store.appliedIndex).toBe(before);
    expect((await f.client.getService('api')).spec?.endpoint?.ports?.map((p) => p.publishedPort)).toEqual([
      9000,
    ]);
  });

  it('lets a service keep its own port on update', async () => {
    const web = await f.client.getService('web');
    const updated = await f.client.updateService('web', web.meta!.version, {
      ...web.spec!,
      replicated: { replicas: 5 },
    });
    expect(updated.spec?.replicated?.replicas).toBe(5);
    expect(updated.spec?.endpoint?.ports?.map((p) => p.publishedPort)).toEqual([8080]);
  });

  it('does not count the same number on another protocol, or in host mode, as a conflict', async () => {
    await f.client.createService(
      webSpec({ name: 'dns', endpoint: { ports: [port(8080, { protocol: 'PORT_PROTOCOL_UDP' })] } }),
    );
    await f.client.createService(
      webSpec({ name: 'edge', endpoint: { ports: [port(8080, { publishMode: 'PUBLISH_MODE_HOST' })] } }),
    );
    const names = f.store.view((tx) => tx.services.list().map((s) => s.spec?.name));
    expect(names.sort()).toEqual(['dns', 'edge', 'web']);
  });

  it('`orch service create -p 8080:80` on a taken port prints that one line', async () => {
    const run = cliRunner(f);
    const result = await run(
      'service',
      'create',
      '--detach',
      '--name',
      'api',
      '-p',
      '8080:80',
      'orch/busybox',
    );
    expect(result.code).not.toBe(0);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      'orch: endpoint.ports[0].publishedPort: port 8080/tcp is already published by service web\n',
    );
    expect(f.store.view((tx) => tx.services.list().map((s) => s.spec?.name))).toEqual(['web']);
  });
});
