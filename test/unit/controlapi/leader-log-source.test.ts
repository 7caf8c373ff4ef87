import { setTimeout as sleep } from 'node:timers/promises';
import * as grpc from '@grpc/grpc-js';
import { protos } from '../../../src/api';
import type { LogMessage } from '../../../src/api/gen/types/orch/control/LogMessage';
import {
  FORWARDED_METADATA_KEY,
  forwardedLogsRequest,
  type LogSelection,
  type LogSource,
  leaderLogSource,
} from '../../../src/manager/controlapi';

import type { MemoryStore } from '../../../src/store';
import {
  addNodes,
  type ControlFixture,
  FakeLogSource,
  NOW_MS,
  nodeInput,
  startControl,
  taskInput,
} from './control-fixture';

const SERVICE_ID = 'svcweb00000000000000000001';

function line(taskId: string, text: string, offsetMs = 0): LogMessage {
  return {
    serviceId: SERVICE_ID,
    taskId,
    nodeId: 'node1',
    slot: 1,
    timestampMs: NOW_MS + offsetMs,
    stream: 'LOG_STREAM_STDOUT',
    data: Buffer.from(text),
  };
}

/** The same service and tasks in a store (leader and follower replicate one state). */
async function seed(store: MemoryStore): Promise<void> {
  await addNodes(store, [nodeInput('node1', 'alpha')]);
  await store.update((tx) => {
    tx.services.create({
      meta: { id: SERVICE_ID },
      spec: {
        name: 'web',
        mode: 'replicated',
        replicated: { replicas: 2 },
        container: { image: 'orch/busybox:latest' },
      },
    });
    tx.tasks.create(taskInput('t1', SERVICE_ID, 1, { nodeId: 'node1' }));
    tx.tasks.create(taskInput('t2', SERVICE_ID, 2, { nodeId: 'node1' }));
  });
}

/** Records what the leader's source is asked for, and counts the streams that ended. */
function recordingSource(inner: LogSource, seen: string[][], ended: { count: number }): LogSource {
  return {
    async *logs(selection, options) {
      seen.push([...selection.serviceIds, ...selection.taskIds]);
      try {
        yield* inner.logs(selection, options);
      } finally {
        ended.count++;
      }
    },
  };
}

describe('Control API logs on any manager (leaderLogSource)', () => {
  let leader: ControlFixture;
  let follower: ControlFixture;
  let leaderLogs: FakeLogSource;
  let followerLocal: FakeLogSource;
  let isLeader: boolean;
  let leaderAddr: string | undefined;
  const selections: string[][] = [];
  const forwardedBy: string[] = [];
  const ended = { count: 0 };

  beforeEach(async () => {
    selections.length = 0;
    forwardedBy.length = 0;
    ended.count = 0;
    leaderLogs = new FakeLogSource();
    followerLocal = new FakeLogSource();
    isLeader = false;
    leader = await startControl({}, { logSource: () => recordingSource(leaderLogs, selections, ended) });
    leaderAddr = `unix:${leader.dir}/orch.sock`;
    follower = await startControl(
      {},
      {
        logSource: () =>
          leaderLogSource({
            local: followerLocal,
            isLeader: () => isLeader,
            leaderAddr: () => leaderAddr,
            credentials: () => grpc.credentials.createInsecure(),
            nodeId: 'follower-node',
            connect: (addr, credentials, options) => {
              const { Control } = protos().orch.control;
              return new Control(addr, credentials, {
                ...options,
                interceptors: [
                  (opts: grpc.InterceptorOptions, next: grpc.NextCall) =>
                    new grpc.InterceptingCall(next(opts), {
                      start(metadata, listener, nextStart) {
                        forwardedBy.push(String(metadata.get(FORWARDED_METADATA_KEY)[0] ?? ''));
                        nextStart(metadata, listener);
                      },
                    }),
                ],
              });
            },
          }),
      },
    );
    await seed(leader.store);
    await seed(follower.store);
    leaderLogs.lines.set('t1', [line('t1', 'one'), line('t1', 'two', 1), line('t1', 'three', 2)]);
    leaderLogs.lines.set('t2', [line('t2', 'hello')]);
    followerLocal.lines.set('t1', [line('t1', 'a follower has no logs of its own')]);
  });

  afterEach(async () => {
    await follower?.close();
    await leader?.close();
  });

  async function collect(fixture: ControlFixture, tail: number): Promise<string[]> {
    const out: string[] = [];
    for await (const batch of fixture.client.serviceLogs({ serviceIds: ['web'], tail })) {
      for (const m of batch) out.push(`${m.taskId}:${m.data.toString()}`);
    }
    return out;
  }

  it("streams a follower's request from the leader's Control API, with the same selection and tail", async () => {
    expect(await collect(follower, 2)).toEqual(['t1:two', 't1:three', 't2:hello']);
    expect(selections).toEqual([[SERVICE_ID]]);
    expect(forwardedBy).toEqual(['follower-node']);
    expect(followerLocal.selections).toEqual([]);
  });

  it('serves the local source while this manager leads', async () => {
    isLeader = true;
    expect(await collect(follower, -1)).toEqual(['t1:a follower has no logs of its own']);
    expect(selections).toEqual([]);
  });

  it('ends a followed stream on the leader when the caller stops following', async () => {
    const controller = new AbortController();
    const seen: string[] = [];
    for await (const batch of follower.client.serviceLogs(
      { serviceIds: ['web'], tail: -1, follow: true },
      { signal: controller.signal },
    )) {
      for (const m of batch) seen.push(m.data.toString());
      if (seen.length === 4) controller.abort();
    }
    expect(seen).toEqual(['one', 'two', 'three', 'hello']);
    expect(leaderLogs.selections[0]?.follow).toBe(true);
    // The cancellation travels follower → leader: the leader's stream ends too.
    for (let i = 0; i < 200 && ended.count === 0; i++) await sleep(10);
    expect(ended.count).toBe(1);
  });

  it('fails with a clear line when no leader is known', async () => {
    leaderAddr = undefined;
    await expect(collect(follower, -1)).rejects.toThrow(/the cluster has no leader/);
  });

  it('passes the leader’s error on unchanged', async () => {
    await leader.store.update((tx) => {
      tx.tasks.delete('t1');
      tx.tasks.delete('t2');
      tx.services.delete(SERVICE_ID);
    });
    await expect(collect(follower, -1)).rejects.toThrow(/no such service/i);
  });

  it('turns a selection into a request the leader resolves to the same one', () => {
    const selection: LogSelection = {
      serviceIds: ['s1'],
      taskIds: ['t9'],
      tasks: [],
      follow: true,
      tail: 10,
      sinceMs: 42,
    };
    expect(forwardedLogsRequest(selection)).toEqual({
      serviceIds: ['s1'],
      taskIds: ['t9'],
      follow: true,
      tail: 10,
      sinceMs: 42,
      timestamps: true,
    });
  });
});
