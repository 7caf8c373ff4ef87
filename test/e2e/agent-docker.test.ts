import * as grpc from '@grpc/grpc-js';
import { Agent } from '../../src/agent';
import { DockerEngine } from '../../src/agent/executor/docker';
import { DockerExecutor } from '../../src/agent/executor/docker-executor';
import { silentLogger } from '../../src/common/logger';
import { insecureNodeClientOptions } from '../../src/manager/dispatcher';
import type { MemoryStore } from '../../src/store';
import { describeDocker, TEST_IMAGE, uniqueId } from '../support/docker';
import {
  eventually,
  newTestStore,
  startTestDispatcher,
  type TestDispatcher,
} from '../unit/dispatcher/dispatcher-harness';

describeDocker('agent and dispatcher with the Docker executor', () => {
  const engine = new DockerEngine();
  const nodeId = uniqueId('e2e-agent-node');
  let store: MemoryStore;
  let served: TestDispatcher;
  let agent: Agent;

  beforeAll(async () => {
    ({ store } = newTestStore());
    served = await startTestDispatcher(store, { heartbeatPeriodMs: 1_000, statusBatchDelayMs: 10 });
    agent = new Agent({
      executor: new DockerExecutor({ nodeId, engine, logger: silentLogger() }),
      managers: [served.addr],
      credentials: () => grpc.credentials.createInsecure(),
      clientOptions: insecureNodeClientOptions(nodeId),
      logger: silentLogger(),
      statusBatchDelayMs: 10,
    });
    agent.start();
  });

  afterAll(async () => {
    try {
      await agent?.close();
      served?.kill();
      store?.close();
    } finally {
      for (const id of await engine.listNodeContainers(nodeId)) await engine.remove(id, { force: true });
    }
  });

  function state(id: string) {
    return store.view((tx) => tx.tasks.get(id)?.status);
  }

  it('runs two assigned tasks as containers to RUNNING, then shuts them down', async () => {
    const ids = [uniqueId('task-1'), uniqueId('task-2')];
    await store.update((tx) => {
      for (const [i, id] of ids.entries()) {
        tx.tasks.create({
          meta: { id },
          serviceId: 'svc-e2e',
          slot: i + 1,
          nodeId,
          spec: {
            name: 'e2e-agent',
            container: {
              image: TEST_IMAGE,
              args: ['sh', '-c', 'echo ready on $(hostname); exec sleep 300'],
              pullPolicy: 'PULL_POLICY_NEVER',
              stopGracePeriodMs: 1_000,
            },
          },
          desiredState: 'TASK_STATE_RUNNING',
          status: { state: 'TASK_STATE_ASSIGNED', message: 'assigned' },
        });
      }
    });
    await eventually(
      () => ids.every((id) => state(id)?.state === 'TASK_STATE_RUNNING'),
      'both tasks running',
      25_000,
    );
    for (const id of ids) {
      const status = state(id)!;
      expect(status.containerId).not.toBe('');
      const inspected = await engine.inspect(status.containerId);
      expect(inspected.State.Running).toBe(true);
      expect(inspected.Config.Labels['orch.task.id']).toBe(id);
    }
    expect((await engine.listNodeContainers(nodeId)).length).toBe(2);

    // `orch service logs`: the dispatcher asks the agent, which reads the containers' logs.
    const lines: string[] = [];
    for await (const m of served.dispatcher.logs({ serviceIds: ['svc-e2e'] }))
      lines.push(`${m.taskId} ${m.line}`);
    for (const id of ids) expect(lines.some((l) => l.startsWith(`${id} ready on `))).toBe(true);

    await store.update((tx) => {
      for (const id of ids) tx.tasks.update({ ...tx.tasks.get(id)!, desiredState: 'TASK_STATE_SHUTDOWN' });
    });
    await eventually(
      () => ids.every((id) => state(id)?.state === 'TASK_STATE_SHUTDOWN'),
      'both tasks shut down',
      25_000,
    );
    for (const id of ids) expect((await engine.inspect(state(id)!.containerId)).State.Running).toBe(false);

    // No longer assigned: the agent removes the containers.
    await store.update((tx) => {
      for (const id of ids) tx.tasks.delete(id);
    });
    const deadline = Date.now() + 20_000;
    while ((await engine.listNodeContainers(nodeId)).length > 0) {
      if (Date.now() > deadline) throw new Error('containers were not removed');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  });
});
