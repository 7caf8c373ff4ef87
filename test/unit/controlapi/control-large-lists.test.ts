// Large Control API answers: an unfiltered ListTasks of a big cluster weighs tens of MB (50,000 tasks
// are ~23 MB), past grpc-js's 4 MiB default. The CLI's client and both servers that carry the Control
// API to it (the daemon's local NodeServer, and serveControlSocket) accept them.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { protos } from '../../../src/api';
import { ControlApiClient } from '../../../src/cli/control-client';
import { silentLogger } from '../../../src/common/logger';
import {
  controlServiceDefinition,
  createControlHandlers,
  serveControlSocket,
} from '../../../src/manager/controlapi';
import { NodeServer } from '../../../src/node/node-server';
import { LocalProposer, MemoryStore } from '../../../src/store';
import { FakeClusterOps, NOW_MS, taskInput, webSpec } from './control-fixture';

/** Enough tasks, each carrying its spec as real tasks do, to pass 4 MiB several times over. */
const TASKS = 12_000;

describe('Control API: large lists', () => {
  let dir: string;
  let store: MemoryStore;
  let handlers: ReturnType<typeof createControlHandlers>;
  const closers: Array<() => Promise<void> | void> = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'orch-control-large-'));
    const proposer = new LocalProposer();
    store = new MemoryStore({ proposer, clock: () => NOW_MS });
    proposer.attach(store);
    const service = await store.update((tx) => tx.services.create({ spec: webSpec() }));
    const spec = {
      ...webSpec(),
      container: { image: 'orch/busybox:latest', env: ['PADDING='.padEnd(600, 'x')] },
    };
    await store.batch(async (batch) => {
      for (let slot = 1; slot <= TASKS; slot++) {
        await batch.update((tx) =>
          tx.tasks.create(taskInput(`task-${slot}`, service.meta!.id, slot, { nodeId: 'node1', spec })),
        );
      }
    });
    handlers = createControlHandlers({ store, ops: new FakeClusterOps(), clock: () => NOW_MS });
  });

  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
  });

  afterAll(() => {
    store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A Control client with grpc-js's default limits, to show the answer is past them. */
  function defaultLimitsClient(socketPath: string) {
    const { Control } = protos().orch.control;
    const client = new Control(`unix:${socketPath}`, grpc.credentials.createInsecure());
    closers.push(() => client.close());
    return client;
  }

  async function expectLargeListServed(socketPath: string, dataDir: string): Promise<void> {
    const tooSmall = await new Promise<grpc.ServiceError | null>((resolve) =>
      defaultLimitsClient(socketPath).listTasks({}, (err: grpc.ServiceError | null) => resolve(err)),
    );
    expect(tooSmall?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);

    const client = new ControlApiClient({ dataDir, timeoutMs: 20_000 });
    closers.push(() => client.close());
    const tasks = await client.listTasks();
    expect(tasks).toHaveLength(TASKS);
    expect(tasks.map((t) => t.meta?.id)).toContain(`task-${TASKS}`);
  }

  it("lists more than 4 MiB of tasks through the daemon's local node server", async () => {
    const dataDir = join(dir, 'node');
    rmSync(dataDir, { recursive: true, force: true });
    mkdirSync(dataDir);
    const socketPath = join(dataDir, 'orch.sock');
    const server = new NodeServer(silentLogger());
    server.declare('orch.control.Control', controlServiceDefinition(), 'the node is starting');
    server.implement('orch.control.Control', handlers as unknown as grpc.UntypedServiceImplementation);
    await server.listen(`unix:${socketPath}`, grpc.ServerCredentials.createInsecure());
    closers.push(() => server.close(200));
    await expectLargeListServed(socketPath, dataDir);
  });

  it('lists more than 4 MiB of tasks through the Control socket server', async () => {
    const dataDir = join(dir, 'socket');
    mkdirSync(dataDir, { recursive: true });
    const server = await serveControlSocket(join(dataDir, 'orch.sock'), handlers);
    closers.push(() => server.close({ graceMs: 200 }));
    await expectLargeListServed(server.socketPath, dataDir);
  });
});
