import * as grpc from '@grpc/grpc-js';
import type { ControlCallError } from '../../../src/cli/control-client';
import {
  addNodes,
  type ControlFixture,
  NOW_MS,
  nodeInput,
  startControl,
  taskInput,
  webSpec,
} from './control-fixture';

async function failure(promise: Promise<unknown>): Promise<ControlCallError> {
  try {
    await promise;
  } catch (err) {
    return err as ControlCallError;
  }
  throw new Error('expected the call to fail');
}

describe('Control API: services and tasks', () => {
  let f: ControlFixture;

  beforeEach(async () => {
    f = await startControl();
    await addNodes(f.store, [nodeInput('node1', 'alpha'), nodeInput('node2', 'beta')]);
  });

  afterEach(async () => {
    await f?.close();
  });

  it("creates a service with Swarm's defaults filled in", async () => {
    const service = await f.client.createService({ name: 'api', container: { image: 'orch/busybox' } });
    expect(service.meta?.version).toBeGreaterThan(0);
    expect(service.spec).toMatchObject({
      mode: 'replicated',
      replicated: { replicas: 1 },
      restartPolicy: { condition: 'RESTART_CONDITION_ANY', delayMs: 5_000 },
      container: { image: 'orch/busybox', stopGracePeriodMs: 10_000, pullPolicy: 'PULL_POLICY_MISSING' },
      updateConfig: { parallelism: 1, failureAction: 'UPDATE_FAILURE_ACTION_PAUSE' },
    });
  });

  it('names a service created without a name after its image, as docker makes one up', async () => {
    const service = await f.client.createService({
      container: { image: 'registry.local:5000/team/nginx:1.25' },
    });
    expect(service.spec?.name).toMatch(/^nginx-[0-9a-f]{6}$/);
  });

  it('rejects an invalid spec naming the field, and writes nothing', async () => {
    const before = f.store.appliedIndex;
    const err = await failure(
      f.client.createService(webSpec({ placement: { constraints: ['node.role=manager'] } })),
    );
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(err.message).toMatch(/^placement\.constraints\[0\]: /);
    const noImage = await failure(f.client.createService({ name: 'x' }));
    expect(noImage.message).toBe('container.image: an image is required');
    expect(f.store.appliedIndex).toBe(before);
  });

  it('refuses a second service with the same name with ALREADY_EXISTS', async () => {
    await f.client.createService(webSpec());
    const err = await failure(f.client.createService(webSpec({ name: 'WEB' })));
    expect(err.code).toBe(grpc.status.ALREADY_EXISTS);
    expect(err.message).toMatch(/^service name "WEB" is already in use by /);
  });

  it('finds a service by ID, name or unique ID prefix', async () => {
    const created = await f.client.createService(webSpec());
    const id = created.meta!.id;
    expect((await f.client.getService(id)).spec?.name).toBe('web');
    expect((await f.client.getService('web')).meta?.id).toBe(id);
    expect((await f.client.getService(id.slice(0, 6))).meta?.id).toBe(id);
    expect((await failure(f.client.getService('db'))).message).toBe('no such service: db');
  });

  it('updates at the version read, keeps the previous spec, and refuses stale versions, renames and mode changes', async () => {
    const created = await f.client.createService(webSpec());
    const spec = { ...created.spec!, container: { ...created.spec!.container!, image: 'orch/busybox:v2' } };
    const updated = await f.client.updateService('web', created.meta!.version, spec);
    expect(updated.spec?.container?.image).toBe('orch/busybox:v2');
    expect(updated.previousSpec?.container?.image).toBe('orch/busybox:latest');

    const stale = await failure(f.client.updateService('web', created.meta!.version, spec));
    expect(stale.code).toBe(grpc.status.ABORTED);
    const renamed = await failure(
      f.client.updateService('web', updated.meta!.version, { ...spec, name: 'www' }),
    );
    expect(renamed.message).toBe('name: renaming services is not supported (web → www)');
    const global = await failure(
      f.client.updateService('web', updated.meta!.version, {
        ...spec,
        mode: 'global',
        replicated: null,
        global: {},
      }),
    );
    expect(global.message).toBe(
      "mode: a service's mode can't change (replicated → global): remove the service and create it again",
    );
  });

  it('scales a replicated service and refuses to scale a global one', async () => {
    await f.client.createService(webSpec());
    expect((await f.client.scaleService('web', 5)).spec?.replicated?.replicas).toBe(5);
    await f.client.createService({ name: 'agent', container: { image: 'x' }, mode: 'global', global: {} });
    const err = await failure(f.client.scaleService('agent', 2));
    expect(err.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(err.message).toBe(
      'service agent is in global mode: scale can only be used with replicated or replicated-job mode',
    );
  });

  it('lists services with running and desired task counts', async () => {
    const web = await f.client.createService(webSpec());
    const id = web.meta!.id;
    await f.store.update((tx) => {
      tx.tasks.create(taskInput('t1', id, 1, { nodeId: 'node1' }));
      tx.tasks.create(taskInput('t2', id, 2, { nodeId: 'node2', state: 'TASK_STATE_PREPARING' }));
    });
    const { services, statuses } = await f.client.listServices();
    expect(services.map((s) => s.spec?.name)).toEqual(['web']);
    expect(statuses).toEqual([{ serviceId: id, runningTasks: 1, desiredTasks: 3, completedTasks: 0 }]);
  });

  it('lists tasks by service, node and desired state', async () => {
    const web = await f.client.createService(webSpec());
    const id = web.meta!.id;
    await f.store.update((tx) => {
      tx.tasks.create(taskInput('t1', id, 1, { nodeId: 'node1' }));
      tx.tasks.create(taskInput('t2', id, 2, { nodeId: 'node2' }));
      tx.tasks.create(
        taskInput('t0', id, 1, {
          nodeId: 'node1',
          state: 'TASK_STATE_SHUTDOWN',
          desired: 'TASK_STATE_SHUTDOWN',
        }),
      );
    });
    expect((await f.client.listTasks({ serviceId: 'web' })).map((t) => t.meta?.id).sort()).toEqual([
      't0',
      't1',
      't2',
    ]);
    expect(
      (await f.client.listTasks({ filters: { nodeIds: ['alpha'] } })).map((t) => t.meta?.id).sort(),
    ).toEqual(['t0', 't1']);
    const running = await f.client.listTasks({
      filters: { serviceIds: ['web'], desiredStates: ['TASK_STATE_RUNNING'] },
    });
    expect(running.map((t) => t.meta?.id)).toEqual(['t1', 't2']);
    expect((await failure(f.client.listTasks({ serviceId: 'db' }))).code).toBe(grpc.status.NOT_FOUND);
  });

  it('refuses to create or update a service naming an unknown network, naming the field, and writes nothing', async () => {
    const before = f.store.appliedIndex;
    const err = await failure(
      f.client.createService(webSpec({ networks: [{ target: 'nowhere', aliases: [] }] })),
    );
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(err.message).toBe('networks[0].target: network nowhere not found');
    expect(f.store.appliedIndex).toBe(before);
    await f.store.update((tx) => tx.networks.create({ spec: { name: 'backend', driver: 'bridge' } }));
    const web = await f.client.createService(webSpec({ networks: [{ target: 'backend', aliases: [] }] }));
    const update = await failure(
      f.client.updateService(
        web.meta!.id,
        web.meta!.version,
        webSpec({
          networks: [
            { target: 'backend', aliases: [] },
            { target: 'frontend', aliases: [] },
          ],
        }),
      ),
    );
    expect(update.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(update.message).toBe('networks[1].target: network frontend not found');
    expect(f.store.view((tx) => tx.services.get(web.meta!.id)?.spec?.networks)).toEqual([
      { target: 'backend', aliases: [] },
    ]);
  });

  it('removes a service and marks its tasks for shutdown, deleting the ones that never reached a node', async () => {
    const web = await f.client.createService(webSpec());
    const id = web.meta!.id;
    await f.store.update((tx) => {
      tx.tasks.create(taskInput('t1', id, 1, { nodeId: 'node1' }));
      tx.tasks.create(taskInput('t2', id, 2, { state: 'TASK_STATE_PENDING' }));
    });
    await f.client.removeService('web');
    f.store.view((tx) => {
      expect(tx.services.get(id)).toBeUndefined();
      expect(tx.tasks.get('t1')?.desiredState).toBe('TASK_STATE_SHUTDOWN');
      expect(tx.tasks.get('t2')).toBeUndefined();
    });
  });

  it('streams the logs of a service from the log source, and ends without follow', async () => {
    const web = await f.client.createService(webSpec());
    const id = web.meta!.id;
    await f.store.update((tx) => tx.tasks.create(taskInput('t1', id, 1, { nodeId: 'node1' })));
    f.logs.lines.set('t1', [
      {
        serviceId: id,
        taskId: 't1',
        nodeId: 'node1',
        slot: 1,
        timestampMs: NOW_MS,
        data: Buffer.from('one'),
      },
      {
        serviceId: id,
        taskId: 't1',
        nodeId: 'node1',
        slot: 1,
        timestampMs: NOW_MS,
        data: Buffer.from('two'),
      },
    ]);
    const lines: string[] = [];
    for await (const batch of f.client.serviceLogs({ serviceIds: ['web'], tail: 1 })) {
      for (const m of batch) lines.push(m.data.toString());
    }
    expect(lines).toEqual(['two']);
    expect(f.logs.selections[0]).toMatchObject({ serviceIds: [id], follow: false, tail: 1 });
  });

  it('stops a followed log stream when the caller aborts', async () => {
    await f.client.createService(webSpec());
    const controller = new AbortController();
    const seen: number[] = [];
    const reading = (async () => {
      for await (const batch of f.client.serviceLogs(
        { serviceIds: ['web'], follow: true },
        { signal: controller.signal },
      )) {
        seen.push(batch.length);
      }
    })();
    while (f.logs.selections.length === 0) await new Promise((r) => setTimeout(r, 5));
    controller.abort();
    await reading;
    expect(seen).toEqual([]);
  });
});
