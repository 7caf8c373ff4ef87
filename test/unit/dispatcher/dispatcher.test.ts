import * as grpc from '@grpc/grpc-js';
import {
  type AssignmentsMessage__Output,
  type DispatcherClient,
  LEADER_ADDR_METADATA_KEY,
  newDispatcherClient,
  type SessionMessage__Output,
} from '../../../src/manager/dispatcher';
import type { MemoryStore } from '../../../src/store';
import {
  assignedTask,
  clientAs,
  eventually,
  newTestStore,
  startTestDispatcher,
  type TestDispatcher,
} from './dispatcher-harness';

interface OpenSession {
  sessionId: string;
  messages: SessionMessage__Output[];
  call: grpc.ClientReadableStream<SessionMessage__Output>;
}

function openSession(client: DispatcherClient, hostname = 'host-a'): Promise<OpenSession> {
  const call = client.session({ description: { hostname, os: 'linux', nanoCpus: 2e9 }, addr: '' });
  const messages: SessionMessage__Output[] = [];
  return new Promise((resolve, reject) => {
    call.on('data', (m: SessionMessage__Output) => {
      messages.push(m);
      if (messages.length === 1) resolve({ sessionId: m.sessionId, messages, call });
    });
    call.on('error', reject);
  });
}

function heartbeat(client: DispatcherClient, sessionId: string): Promise<number> {
  return new Promise((resolve, reject) =>
    client.heartbeat({ sessionId }, (err, res) => (err ? reject(err) : resolve(res!.periodMs))),
  );
}

function updateStatus(
  client: DispatcherClient,
  sessionId: string,
  updates: Array<{ taskId: string; state: string; timestampMs?: number }>,
): Promise<number> {
  return new Promise((resolve, reject) =>
    client.updateTaskStatus(
      {
        sessionId,
        updates: updates.map((u) => ({
          taskId: u.taskId,
          status: {
            state: u.state as 'TASK_STATE_RUNNING',
            message: u.state,
            timestampMs: u.timestampMs ?? Date.now(),
          },
        })),
      },
      (err, res) => (err ? reject(err) : resolve(res!.accepted)),
    ),
  );
}

class AssignmentsReader {
  readonly messages: AssignmentsMessage__Output[] = [];
  readonly call: grpc.ClientReadableStream<AssignmentsMessage__Output>;
  constructor(client: DispatcherClient, sessionId: string) {
    this.call = client.assignments({ sessionId });
    this.call.on('data', (m: AssignmentsMessage__Output) => this.messages.push(m));
    this.call.on('error', () => {});
  }
  /** Task IDs of the changes of `action` across every message so far. */
  taskIds(action: 'ASSIGNMENT_ACTION_UPDATE' | 'ASSIGNMENT_ACTION_REMOVE'): string[] {
    return this.messages.flatMap((m) =>
      m.changes.filter((c) => c.task && c.action === action).map((c) => c.task!.meta!.id),
    );
  }
}

function node(store: MemoryStore, id: string) {
  return store.view((tx) => tx.nodes.get(id));
}

function taskState(store: MemoryStore, id: string) {
  return store.view((tx) => tx.tasks.get(id)?.status?.state);
}

describe('dispatcher', () => {
  let store: MemoryStore;
  let served: TestDispatcher;
  const clients: DispatcherClient[] = [];
  const calls: grpc.ClientReadableStream<unknown>[] = [];

  function client(nodeId: string): DispatcherClient {
    const c = clientAs(served.addr, nodeId);
    clients.push(c);
    return c;
  }

  async function session(nodeId: string): Promise<{ c: DispatcherClient; s: OpenSession }> {
    const c = client(nodeId);
    const s = await openSession(c);
    calls.push(s.call);
    return { c, s };
  }

  beforeEach(async () => {
    ({ store } = newTestStore());
    served = await startTestDispatcher(store, { heartbeatPeriodMs: 2_000, statusBatchDelayMs: 20 });
  });

  /** Replaces the dispatcher with one started with `options` (e.g. a short heartbeat period). */
  async function restartDispatcher(options: Parameters<typeof startTestDispatcher>[1]): Promise<void> {
    served.kill();
    served = await startTestDispatcher(store, { statusBatchDelayMs: 20, ...options });
  }

  afterEach(() => {
    for (const call of calls.splice(0)) {
      call.on('error', () => {});
      call.cancel();
    }
    for (const c of clients.splice(0)) c.close();
    served.kill();
    store.close();
  });

  describe('sessions', () => {
    it('registers the calling node as READY with its description and address', async () => {
      const { s } = await session('node-a');
      expect(s.sessionId).not.toBe('');
      expect(s.messages[0]!.nodeId).toBe('node-a');
      expect(s.messages[0]!.heartbeatPeriodMs).toBe(2_000);
      const stored = node(store, 'node-a')!;
      expect(stored.status!.state).toBe('NODE_STATE_READY');
      expect(stored.status!.addr).toBe('127.0.0.1');
      expect(stored.description!.hostname).toBe('host-a');
      expect(stored.role).toBe('NODE_ROLE_WORKER');
      expect(stored.spec!.availability).toBe('NODE_AVAILABILITY_ACTIVE');
    });

    it('refuses a caller without a node identity', async () => {
      const anonymous = newDispatcherClient(served.addr, grpc.credentials.createInsecure());
      clients.push(anonymous);
      await expect(openSession(anonymous)).rejects.toMatchObject({ code: grpc.status.UNAUTHENTICATED });
    });

    it('does not let a node use the session of another node', async () => {
      const { s } = await session('node-a');
      const intruder = client('node-b');
      await expect(heartbeat(intruder, s.sessionId)).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
      await expect(updateStatus(intruder, s.sessionId, [])).rejects.toMatchObject({
        code: grpc.status.NOT_FOUND,
      });
    });

    it('ends the previous session of a node when it opens a new one', async () => {
      const { c, s: first } = await session('node-a');
      const ended = new Promise<grpc.ServiceError>((resolve) => first.call.on('error', resolve));
      const second = await openSession(c);
      calls.push(second.call);
      expect((await ended).code).toBe(grpc.status.NOT_FOUND);
      await expect(heartbeat(c, first.sessionId)).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
      expect(await heartbeat(c, second.sessionId)).toBe(2_000);
    });

    it('answers UNAVAILABLE with the leader address when it is not running (a follower)', async () => {
      const follower = await startTestDispatcher(store, { start: false, leaderAddr: () => '10.0.0.1:4242' });
      const c = clientAs(follower.addr, 'node-a');
      clients.push(c);
      try {
        const err = (await openSession(c).catch((e) => e)) as grpc.ServiceError;
        expect(err.code).toBe(grpc.status.UNAVAILABLE);
        expect(err.metadata.get(LEADER_ADDR_METADATA_KEY)).toEqual(['10.0.0.1:4242']);
      } finally {
        follower.kill();
      }
    });

    it('announces the managers from the store and again when they change', async () => {
      await store.update((tx) =>
        tx.nodes.create({
          meta: { id: 'mgr-1' },
          role: 'NODE_ROLE_MANAGER',
          managerStatus: { addr: '127.0.0.1:4242', leader: true, reachable: true },
        }),
      );
      const { s } = await session('node-a');
      expect(s.messages[0]!.managers).toEqual([{ nodeId: 'mgr-1', addr: '127.0.0.1:4242', leader: true }]);
      await store.update((tx) =>
        tx.nodes.create({
          meta: { id: 'mgr-2' },
          role: 'NODE_ROLE_MANAGER',
          managerStatus: { addr: '127.0.0.1:4243', leader: false, reachable: true },
        }),
      );
      await eventually(() => s.messages.length >= 2, 'a second session message');
      expect(s.messages.at(-1)!.managers.map((m) => m.addr)).toEqual(['127.0.0.1:4242', '127.0.0.1:4243']);
      // A change agents do not care about (a manager's description) is not announced.
      const seen = s.messages.length;
      await store.update((tx) =>
        tx.nodes.update({ ...tx.nodes.get('mgr-2')!, description: { hostname: 'renamed' } }),
      );
      await store.update((tx) => tx.tasks.create(assignedTask('t-x', 'node-a')));
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(s.messages.length).toBe(seen);
    });
  });

  describe('heartbeats', () => {
    it('keeps a node READY while it beats and marks it DOWN after 3 missed periods', async () => {
      await restartDispatcher({ heartbeatPeriodMs: 200 });
      const { c, s } = await session('node-a');
      const ended = new Promise<grpc.ServiceError>((resolve) => s.call.on('error', resolve));
      // Beat for well over 3 periods (600 ms): the node stays up.
      const until = Date.now() + 1_000;
      while (Date.now() < until) {
        expect(await heartbeat(c, s.sessionId)).toBe(200);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(node(store, 'node-a')!.status!.state).toBe('NODE_STATE_READY');
      // Then fall silent.
      await eventually(() => node(store, 'node-a')!.status!.state === 'NODE_STATE_DOWN', 'node down');
      expect(node(store, 'node-a')!.status!.message).toBe('heartbeat failure');
      expect((await ended).code).toBe(grpc.status.UNAVAILABLE);
      await expect(heartbeat(c, s.sessionId)).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
    });

    it('gives READY nodes a grace period after a leader change and marks the silent ones DOWN', async () => {
      await store.update((tx) =>
        tx.nodes.create({ meta: { id: 'node-z' }, status: { state: 'NODE_STATE_READY' } }),
      );
      const next = await startTestDispatcher(store, { heartbeatPeriodMs: 30 });
      try {
        await eventually(() => node(store, 'node-z')!.status!.state === 'NODE_STATE_DOWN', 'node-z down');
      } finally {
        next.kill();
      }
    });

    it("counts a new leader's grace period from its start, not from the last heartbeat the store holds", async () => {
      // A node whose last recorded heartbeat is long past: the old leader's, before the change.
      await store.update((tx) =>
        tx.nodes.create({
          meta: { id: 'node-y' },
          status: { state: 'NODE_STATE_READY', lastHeartbeatMs: 1 },
        }),
      );
      const next = await startTestDispatcher(store, { heartbeatPeriodMs: 60_000 });
      try {
        expect(next.dispatcher.stats().watchedNodes).toBeGreaterThanOrEqual(1);
        for (let i = 0; i < 10; i++) await new Promise((resolve) => setImmediate(resolve));
        expect(node(store, 'node-y')!.status!.state).toBe('NODE_STATE_READY');
        // It opens its session with the new leader within the grace period and stays READY.
        const c = clientAs(next.addr, 'node-y');
        const s = await openSession(c);
        calls.push(s.call);
        expect(s.messages[0]!.nodeId).toBe('node-y');
        expect(node(store, 'node-y')!.status!.state).toBe('NODE_STATE_READY');
        c.close();
      } finally {
        next.kill();
      }
    });

    it('takes the period from the cluster object when it sets one', async () => {
      await store.update((tx) =>
        tx.clusters.create({ spec: { name: 'default', dispatcher: { heartbeatPeriodMs: 2_500 } } }),
      );
      const { c, s } = await session('node-a');
      expect(s.messages[0]!.heartbeatPeriodMs).toBe(2_500);
      expect(await heartbeat(c, s.sessionId)).toBe(2_500);
    });
  });

  describe('assignments', () => {
    it('sends the node its assigned tasks and their secrets as one COMPLETE set', async () => {
      await store.update((tx) => {
        tx.secrets.create({ meta: { id: 'sec-1' }, spec: { name: 'db_pass', data: Buffer.from('hunter2') } });
        tx.tasks.create(
          assignedTask('t-1', 'node-a', {
            spec: {
              name: 'web',
              container: { image: 'x', secrets: [{ secretId: 'sec-1', secretName: 'db_pass' }] },
            },
          }),
        );
        tx.tasks.create(assignedTask('t-2', 'node-a'));
        tx.tasks.create(assignedTask('t-other', 'node-b'));
        tx.tasks.create(assignedTask('t-pending', 'node-a', { status: { state: 'TASK_STATE_PENDING' } }));
      });
      const { c, s } = await session('node-a');
      const reader = new AssignmentsReader(c, s.sessionId);
      calls.push(reader.call);
      await eventually(() => reader.messages.length >= 1, 'the complete set');
      const complete = reader.messages[0]!;
      expect(complete.type).toBe('ASSIGNMENTS_TYPE_COMPLETE');
      expect(reader.taskIds('ASSIGNMENT_ACTION_UPDATE').sort()).toEqual(['t-1', 't-2']);
      const secret = complete.changes.find((ch) => ch.secret)!.secret!;
      expect(secret.meta!.id).toBe('sec-1');
      expect(Buffer.from(secret.spec!.data).toString()).toBe('hunter2');
    });

    it('streams new tasks, desired-state changes and removals, but not the status the agent reported', async () => {
      const { c, s } = await session('node-a');
      const reader = new AssignmentsReader(c, s.sessionId);
      calls.push(reader.call);
      await eventually(() => reader.messages.length >= 1, 'the complete set');
      expect(reader.messages[0]!.changes).toEqual([]);

      await store.update((tx) => tx.tasks.create(assignedTask('t-1', 'node-a')));
      await eventually(() => reader.taskIds('ASSIGNMENT_ACTION_UPDATE').includes('t-1'), 't-1 assigned');
      expect(reader.messages.at(-1)!.type).toBe('ASSIGNMENTS_TYPE_INCREMENTAL');

      expect(await updateStatus(c, s.sessionId, [{ taskId: 't-1', state: 'TASK_STATE_RUNNING' }])).toBe(1);
      const seen = reader.messages.length;

      await store.update((tx) => {
        const t = tx.tasks.get('t-1')!;
        tx.tasks.update({ ...t, desiredState: 'TASK_STATE_SHUTDOWN' });
      });
      await eventually(() => reader.messages.length > seen, 'the shutdown');
      // Exactly one message after the status report: the desired-state change, not the status echo.
      expect(reader.messages.length).toBe(seen + 1);
      expect(reader.messages.at(-1)!.changes[0]!.task!.desiredState).toBe('TASK_STATE_SHUTDOWN');

      await store.update((tx) => tx.tasks.delete('t-1'));
      await eventually(() => reader.taskIds('ASSIGNMENT_ACTION_REMOVE').includes('t-1'), 't-1 removed');
    });

    it('splits a large set over several messages, all but the last marked more', async () => {
      await store.batch(async (batch) => {
        for (let i = 0; i < 300; i++)
          await batch.update((tx) => tx.tasks.create(assignedTask(`t-${i}`, 'node-a')));
      });
      const { c, s } = await session('node-a');
      const reader = new AssignmentsReader(c, s.sessionId);
      calls.push(reader.call);
      await eventually(() => reader.messages.at(-1)?.more === false, 'the last part');
      expect(reader.messages.length).toBe(2);
      expect(reader.messages.map((m) => m.more)).toEqual([true, false]);
      expect(reader.messages.every((m) => m.type === 'ASSIGNMENTS_TYPE_COMPLETE')).toBe(true);
      expect(new Set(reader.taskIds('ASSIGNMENT_ACTION_UPDATE')).size).toBe(300);
    });

    it('removes a task moved to another node and tells that node', async () => {
      await store.update((tx) => tx.tasks.create(assignedTask('t-1', 'node-a')));
      const a = await session('node-a');
      const b = await session('node-b');
      const readerA = new AssignmentsReader(a.c, a.s.sessionId);
      const readerB = new AssignmentsReader(b.c, b.s.sessionId);
      calls.push(readerA.call, readerB.call);
      await eventually(() => readerA.messages.length >= 1 && readerB.messages.length >= 1, 'complete sets');
      await store.update((tx) => tx.tasks.update({ ...tx.tasks.get('t-1')!, nodeId: 'node-b' }));
      await eventually(
        () => readerA.taskIds('ASSIGNMENT_ACTION_REMOVE').includes('t-1'),
        'removal on node-a',
      );
      await eventually(
        () => readerB.taskIds('ASSIGNMENT_ACTION_UPDATE').includes('t-1'),
        'assignment on node-b',
      );
    });
  });

  describe('task status', () => {
    beforeEach(async () => {
      await store.update((tx) => {
        for (let i = 0; i < 50; i++) tx.tasks.create(assignedTask(`t-${i}`, 'node-a'));
        tx.tasks.create(assignedTask('t-b', 'node-b'));
      });
    });

    it('writes reports from many calls in few transactions', async () => {
      const { c, s } = await session('node-a');
      const accepted = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          updateStatus(c, s.sessionId, [{ taskId: `t-${i}`, state: 'TASK_STATE_ACCEPTED' }]),
        ),
      );
      expect(accepted.every((n) => n === 1)).toBe(true);
      for (let i = 0; i < 50; i++) expect(taskState(store, `t-${i}`)).toBe('TASK_STATE_ACCEPTED');
      const stats = served.dispatcher.stats();
      expect(stats.statusReportsWritten).toBe(50);
      expect(stats.statusTransactions).toBeLessThan(10);
    });

    it('never moves a task backwards', async () => {
      const { c, s } = await session('node-a');
      expect(await updateStatus(c, s.sessionId, [{ taskId: 't-0', state: 'TASK_STATE_RUNNING' }])).toBe(1);
      expect(await updateStatus(c, s.sessionId, [{ taskId: 't-0', state: 'TASK_STATE_PREPARING' }])).toBe(0);
      expect(taskState(store, 't-0')).toBe('TASK_STATE_RUNNING');
      // Within one batch, the furthest state wins whatever the order of arrival.
      const both = await Promise.all([
        updateStatus(c, s.sessionId, [{ taskId: 't-1', state: 'TASK_STATE_RUNNING' }]),
        updateStatus(c, s.sessionId, [{ taskId: 't-1', state: 'TASK_STATE_STARTING' }]),
      ]);
      expect(both).toEqual([1, 0]);
      expect(taskState(store, 't-1')).toBe('TASK_STATE_RUNNING');
    });

    it('ignores reports about tasks of other nodes and states only managers set', async () => {
      const { c, s } = await session('node-a');
      expect(await updateStatus(c, s.sessionId, [{ taskId: 't-b', state: 'TASK_STATE_RUNNING' }])).toBe(0);
      expect(taskState(store, 't-b')).toBe('TASK_STATE_ASSIGNED');
      expect(await updateStatus(c, s.sessionId, [{ taskId: 't-0', state: 'TASK_STATE_ORPHANED' }])).toBe(0);
      expect(await updateStatus(c, s.sessionId, [{ taskId: 'nope', state: 'TASK_STATE_RUNNING' }])).toBe(0);
    });
  });
});
