import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { Agent, type AgentOptions } from '../../../src/agent';
import { HollowEngine, HollowExecutor } from '../../../src/agent/executor';
import { silentLogger } from '../../../src/common/logger';
import { insecureNodeClientOptions, type TaskLogMessage } from '../../../src/manager/dispatcher';
import type { MemoryStore } from '../../../src/store';
import {
  assignedTask,
  eventually,
  newTestStore,
  startTestDispatcher,
  type TestDispatcher,
} from '../dispatcher/dispatcher-harness';

function taskState(store: MemoryStore, id: string) {
  return store.view((tx) => tx.tasks.get(id)?.status?.state);
}

function allInState(store: MemoryStore, ids: string[], state: string): boolean {
  return ids.every((id) => taskState(store, id) === state);
}

describe('agent', () => {
  let store: MemoryStore;
  let engine: HollowEngine;
  const dispatchers: TestDispatcher[] = [];
  const agents: Agent[] = [];
  const dirs: string[] = [];

  async function dispatcher(
    options: Parameters<typeof startTestDispatcher>[1] = {},
  ): Promise<TestDispatcher> {
    const served = await startTestDispatcher(store, {
      heartbeatPeriodMs: 1_000,
      statusBatchDelayMs: 5,
      ...options,
    });
    dispatchers.push(served);
    return served;
  }

  function agent(nodeId: string, managers: string[], options: Partial<AgentOptions> = {}): Agent {
    const a = new Agent({
      executor: new HollowExecutor({ nodeId, engine }),
      managers,
      credentials: () => grpc.credentials.createInsecure(),
      clientOptions: insecureNodeClientOptions(nodeId),
      logger: silentLogger(),
      statusBatchDelayMs: 5,
      reconnectBackoff: { initialMs: 10, maxMs: 50 },
      reconnectSpreadMs: 20,
      ...options,
    });
    agents.push(a);
    a.start();
    return a;
  }

  beforeEach(() => {
    ({ store } = newTestStore());
    engine = new HollowEngine();
  });

  afterEach(async () => {
    await Promise.all(agents.splice(0).map((a) => a.close()));
    for (const d of dispatchers.splice(0)) d.kill();
    engine.close();
    store.close();
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('registers its node READY and runs the tasks assigned to it to RUNNING', async () => {
    const served = await dispatcher();
    const ids = ['t-1', 't-2', 't-3'];
    await store.update((tx) => {
      for (const id of ids) tx.tasks.create(assignedTask(id, 'node-a'));
    });
    agent('node-a', [served.addr]);
    await eventually(() => allInState(store, ids, 'TASK_STATE_RUNNING'), 'tasks running');
    const node = store.view((tx) => tx.nodes.get('node-a'))!;
    expect(node.status!.state).toBe('NODE_STATE_READY');
    expect(node.description!.hostname).toBe('hollow-node-a');
    const task = store.view((tx) => tx.tasks.get('t-1'))!;
    expect(task.status!.containerId).not.toBe('');
    expect(engine.containers('node-a').size).toBe(3);

    // Assigned later: it reaches the agent through the incremental stream.
    await store.update((tx) => tx.tasks.create(assignedTask('t-4', 'node-a')));
    await eventually(() => taskState(store, 't-4') === 'TASK_STATE_RUNNING', 't-4 running');
  });

  it('runs every task of a set split over several messages', async () => {
    const served = await dispatcher();
    const ids = Array.from({ length: 300 }, (_, i) => `t-${i}`);
    await store.batch(async (batch) => {
      for (const id of ids) await batch.update((tx) => tx.tasks.create(assignedTask(id, 'node-a')));
    });
    agent('node-a', [served.addr]);
    await eventually(() => allInState(store, ids, 'TASK_STATE_RUNNING'), 'all 300 running');
    expect(engine.containers('node-a').size).toBe(300);
  });

  it('stops a task at once when its desired state becomes shutdown, and removes it when unassigned', async () => {
    const served = await dispatcher();
    await store.update((tx) => tx.tasks.create(assignedTask('t-1', 'node-a')));
    agent('node-a', [served.addr]);
    await eventually(() => taskState(store, 't-1') === 'TASK_STATE_RUNNING', 't-1 running');
    await store.update((tx) =>
      tx.tasks.update({ ...tx.tasks.get('t-1')!, desiredState: 'TASK_STATE_SHUTDOWN' }),
    );
    await eventually(() => taskState(store, 't-1') === 'TASK_STATE_SHUTDOWN', 't-1 shut down');
    expect(engine.containers('node-a').get('t-1')!.state).toBe('exited');
    await store.update((tx) => tx.tasks.delete('t-1'));
    await eventually(() => !engine.containers('node-a').has('t-1'), 'container removed');
  });

  it('reports a run to completion and a failure with the exit code', async () => {
    engine = new HollowEngine();
    const served = await dispatcher();
    await store.update((tx) => {
      tx.tasks.create(assignedTask('t-ok', 'node-a', { desiredState: 'TASK_STATE_COMPLETE' }));
      tx.tasks.create(assignedTask('t-bad', 'node-a'));
    });
    agent('node-a', [served.addr], {
      executor: new HollowExecutor({
        nodeId: 'node-a',
        engine,
        behaviour: (task) => ({ runDurationMs: 5, exitCode: task.id === 't-bad' ? 3 : 0 }),
      }),
    });
    await eventually(() => taskState(store, 't-ok') === 'TASK_STATE_COMPLETE', 't-ok complete');
    await eventually(() => taskState(store, 't-bad') === 'TASK_STATE_FAILED', 't-bad failed');
    const bad = store.view((tx) => tx.tasks.get('t-bad'))!;
    expect(bad.status!.exitCode).toBe(3);
    expect(bad.status!.err).toBe('task: non-zero exit (3)');
  });

  it('rejects a task whose secret it was not given', async () => {
    const served = await dispatcher();
    await store.update((tx) =>
      tx.tasks.create(
        assignedTask('t-1', 'node-a', {
          spec: {
            name: 'web',
            container: { image: 'x', secrets: [{ secretId: 'gone', secretName: 'db_pass' }] },
          },
        }),
      ),
    );
    agent('node-a', [served.addr]);
    await eventually(() => taskState(store, 't-1') === 'TASK_STATE_REJECTED', 't-1 rejected');
    expect(store.view((tx) => tx.tasks.get('t-1'))!.status!.err).toBe(
      'secret not available on this node: db_pass',
    );
  });

  it('fails over to another manager when its manager dies, and follows a follower to the leader', async () => {
    // What a real manager reads from the store's manager nodes; here the two test dispatchers.
    const managers = () => [
      { nodeId: 'm1', addr: first.addr, leader: true },
      { nodeId: 'm2', addr: second.addr, leader: false },
    ];
    const first: TestDispatcher = await dispatcher({ managers });
    const second: TestDispatcher = await dispatcher({ start: false, managers, leaderAddr: () => first.addr });
    // Start at the follower: it names the leader.
    const dir = mkdtempSync(join(tmpdir(), 'orch-agent-'));
    dirs.push(dir);
    await store.update((tx) => tx.tasks.create(assignedTask('t-1', 'node-a')));
    const a = agent('node-a', [second.addr], { managerListFile: join(dir, 'managers.json') });
    await eventually(() => a.status().manager === first.addr, 'session with the leader');
    await eventually(() => taskState(store, 't-1') === 'TASK_STATE_RUNNING', 't-1 running');
    expect(JSON.parse(readFileSync(join(dir, 'managers.json'), 'utf8')).managers).toEqual([
      first.addr,
      second.addr,
    ]);

    // The leader dies; the second manager takes over.
    first.kill();
    second.dispatcher.start();
    await eventually(() => a.status().manager === second.addr, 'session with the new leader');
    await store.update((tx) => tx.tasks.create(assignedTask('t-2', 'node-a')));
    await eventually(
      () => taskState(store, 't-2') === 'TASK_STATE_RUNNING',
      't-2 running via the new leader',
    );
    expect(engine.containers('node-a').size).toBe(2);
  });

  it('spreads its first reconnect after a leader change over the reconnect window', async () => {
    const managers = () => [
      { nodeId: 'm1', addr: first.addr, leader: true },
      { nodeId: 'm2', addr: second.addr, leader: false },
    ];
    const first: TestDispatcher = await dispatcher({ managers });
    const second: TestDispatcher = await dispatcher({ start: false, managers, leaderAddr: () => first.addr });
    // Both draw from the same window: one at its start, the other at its very end (10 minutes).
    const early = agent('node-a', [first.addr], {
      reconnectSpreadMs: 600_000,
      reconnectBackoff: { initialMs: 10, maxMs: 50, random: () => 0 },
    });
    const late = agent('node-b', [first.addr], {
      reconnectSpreadMs: 600_000,
      reconnectBackoff: { initialMs: 10, maxMs: 50, random: () => 1 },
    });
    await eventually(
      () => early.status().manager === first.addr && late.status().manager === first.addr,
      'sessions',
    );

    first.kill();
    second.dispatcher.start();
    await eventually(() => early.status().manager === second.addr, 'early agent on the new leader');
    // The other agent still waits for its turn in the window.
    expect(late.status().manager).toBeUndefined();
  });

  it('adopts the containers it already runs after a restart and removes those no longer assigned', async () => {
    const served = await dispatcher();
    await store.update((tx) => {
      for (const id of ['t-1', 't-2', 't-3']) tx.tasks.create(assignedTask(id, 'node-a'));
    });
    const first = agent('node-a', [served.addr]);
    await eventually(() => allInState(store, ['t-1', 't-2', 't-3'], 'TASK_STATE_RUNNING'), 'tasks running');
    const containerIds = new Map([...engine.containers('node-a')].map(([id, c]) => [id, c.id]));
    await first.close();
    // While the agent is down, one task is unassigned.
    await store.update((tx) => tx.tasks.delete('t-3'));

    const second = agent('node-a', [served.addr]);
    await eventually(() => !engine.containers('node-a').has('t-3'), 't-3 container removed');
    await second.waitForSession();
    await second.tasks.settled();
    const containers = engine.containers('node-a');
    expect([...containers.keys()].sort()).toEqual(['t-1', 't-2']);
    // The very same containers, still running: nothing was created again.
    for (const id of ['t-1', 't-2']) {
      expect(containers.get(id)!.id).toBe(containerIds.get(id));
      expect(containers.get(id)!.state).toBe('running');
    }
    expect(allInState(store, ['t-1', 't-2'], 'TASK_STATE_RUNNING')).toBe(true);
  });

  it('publishes task logs when the dispatcher asks for them', async () => {
    const served = await dispatcher();
    await store.update((tx) => {
      tx.tasks.create(assignedTask('t-1', 'node-a'));
      tx.tasks.create(assignedTask('t-2', 'node-b'));
    });
    agent('node-a', [served.addr]);
    agent('node-b', [served.addr]);
    await eventually(() => allInState(store, ['t-1', 't-2'], 'TASK_STATE_RUNNING'), 'tasks running');
    const lines: TaskLogMessage[] = [];
    for await (const line of served.dispatcher.logs({ serviceIds: ['svc-web'] })) lines.push(line);
    expect(new Set(lines.map((l) => `${l.nodeId}/${l.taskId}`))).toEqual(
      new Set(['node-a/t-1', 'node-b/t-2']),
    );
    expect(lines.every((l) => l.serviceId === 'svc-web' && l.line !== '')).toBe(true);
  });

  it('follows the logs of a service, including tasks that start later, until the reader stops', async () => {
    const served = await dispatcher();
    await store.update((tx) => tx.tasks.create(assignedTask('t-1', 'node-a')));
    agent('node-a', [served.addr]);
    agent('node-b', [served.addr]);
    await eventually(() => taskState(store, 't-1') === 'TASK_STATE_RUNNING', 't-1 running');
    const abort = new AbortController();
    const seen = new Set<string>();
    const reading = (async () => {
      for await (const line of served.dispatcher.logs(
        { serviceIds: ['svc-web'] },
        { follow: true, signal: abort.signal },
      )) {
        seen.add(`${line.nodeId}/${line.taskId}`);
      }
    })();
    await eventually(() => seen.has('node-a/t-1'), 'lines of t-1');
    await store.update((tx) => tx.tasks.create(assignedTask('t-2', 'node-b', { slot: 2 })));
    await eventually(() => seen.has('node-b/t-2'), 'lines of t-2, started after the request');
    abort.abort();
    await reading;
  });

  it('marks its node DOWN when it stops beating', async () => {
    const served = await dispatcher({ heartbeatPeriodMs: 50 });
    const a = agent('node-a', [served.addr]);
    await a.waitForSession();
    expect(store.view((tx) => tx.nodes.get('node-a'))!.status!.state).toBe('NODE_STATE_READY');
    await a.close();
    await eventually(
      () => store.view((tx) => tx.nodes.get('node-a'))!.status!.state === 'NODE_STATE_DOWN',
      'down',
    );
  });
});
