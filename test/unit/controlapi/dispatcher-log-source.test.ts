import { dispatcherLogSource } from '../../../src/manager/controlapi';
import type {
  LogSource as DispatcherLogSource,
  LogRequestOptions,
  LogSelector,
  TaskLogMessage,
} from '../../../src/manager/dispatcher';
import {
  addNodes,
  type ControlFixture,
  NOW_MS,
  nodeInput,
  startControl,
  taskInput,
  webSpec,
} from './control-fixture';

class FakeBroker implements DispatcherLogSource {
  requests: Array<{ selector: LogSelector; options: LogRequestOptions }> = [];
  constructor(private readonly messages: TaskLogMessage[]) {}
  async *logs(selector: LogSelector, options: LogRequestOptions = {}): AsyncGenerator<TaskLogMessage> {
    this.requests.push({ selector, options });
    yield* this.messages;
  }
}

describe("Control API logs over the dispatcher's log broker", () => {
  let f: ControlFixture;
  let broker: FakeBroker;

  beforeEach(async () => {
    broker = new FakeBroker([
      { taskId: 't1', serviceId: 'svc', nodeId: 'node1', stream: 'stdout', line: 'ready', timeMs: NOW_MS },
      { taskId: 't2', serviceId: 'svc', nodeId: 'node1', stream: 'stderr', line: 'oops', timeMs: NOW_MS + 1 },
    ]);
    f = await startControl({}, { logSource: (store) => dispatcherLogSource(broker, { store }) });
    await addNodes(f.store, [nodeInput('node1', 'alpha')]);
  });

  afterEach(async () => {
    await f?.close();
  });

  it('asks the broker for the service, with timestamps, and fills in each task slot', async () => {
    const web = await f.client.createService(webSpec());
    await f.store.update((tx) => {
      tx.tasks.create(taskInput('t1', web.meta!.id, 1, { nodeId: 'node1' }));
      tx.tasks.create(taskInput('t2', web.meta!.id, 2, { nodeId: 'node1' }));
    });
    const received = [];
    for await (const batch of f.client.serviceLogs({ serviceIds: ['web'], tail: 5 })) received.push(...batch);
    expect(broker.requests[0]?.selector).toEqual({ serviceIds: [web.meta!.id] });
    expect(broker.requests[0]?.options).toMatchObject({ tail: 5, timestamps: true, follow: false });
    expect(received.map((m) => [m.taskId, m.slot, m.stream, m.data.toString()])).toEqual([
      ['t1', 1, 'LOG_STREAM_STDOUT', 'ready'],
      ['t2', 2, 'LOG_STREAM_STDERR', 'oops'],
    ]);
  });

  it('asks for named tasks alone when the request names tasks, and for everything when tail is all', async () => {
    const web = await f.client.createService(webSpec());
    await f.store.update((tx) => tx.tasks.create(taskInput('t1', web.meta!.id, 1, { nodeId: 'node1' })));
    for await (const _ of f.client.serviceLogs({ taskIds: ['t1'], tail: -1 })) {
      // drain
    }
    expect(broker.requests[0]?.selector).toEqual({ taskIds: ['t1'] });
    expect(broker.requests[0]?.options.tail).toBeUndefined();
  });
});
