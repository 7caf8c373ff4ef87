// In-process dispatchers for tests: a MemoryStore over a LocalProposer, Dispatcher gRPC servers on
// loopback with insecure credentials, and identities claimed in call metadata (metadataIdentity).
import * as grpc from '@grpc/grpc-js';
import { silentLogger } from '../../../src/common/logger';
import {
  Dispatcher,
  type DispatcherClient,
  type DispatcherOptions,
  dispatcherServiceDefinition,
  insecureNodeClientOptions,
  metadataIdentity,
  newDispatcherClient,
  type SessionMessage__Output,
} from '../../../src/manager/dispatcher';
import type { TaskInput } from '../../../src/store';
import { LocalProposer, MemoryStore } from '../../../src/store';

export interface TestStore {
  store: MemoryStore;
  proposer: LocalProposer;
}

export function newTestStore(): TestStore {
  const proposer = new LocalProposer();
  const store = new MemoryStore({ proposer, logger: silentLogger() });
  proposer.attach(store);
  return { store, proposer };
}

export interface TestDispatcher {
  dispatcher: Dispatcher;
  server: grpc.Server;
  addr: string;
  /** Kills the server at once (a manager that dies) and stops the dispatcher. */
  kill(): void;
}

export async function startTestDispatcher(
  store: MemoryStore,
  options: Partial<DispatcherOptions> & { start?: boolean } = {},
): Promise<TestDispatcher> {
  const dispatcher = new Dispatcher({
    store,
    identify: metadataIdentity(),
    heartbeatPeriodMs: 1_000,
    logger: silentLogger(),
    ...options,
  });
  const server = new grpc.Server();
  server.addService(dispatcherServiceDefinition(), dispatcher.handlers());
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  if (options.start !== false) dispatcher.start();
  return {
    dispatcher,
    server,
    addr: `127.0.0.1:${port}`,
    kill() {
      dispatcher.stop();
      server.forceShutdown();
    },
  };
}

/** A raw client speaking as `nodeId`. */
export function clientAs(addr: string, nodeId: string): DispatcherClient {
  return newDispatcherClient(addr, grpc.credentials.createInsecure(), insecureNodeClientOptions(nodeId));
}

/** A task of service "svc-web" placed on `nodeId` and assigned there (what the scheduler writes). */
export function assignedTask(id: string, nodeId: string, overrides: Partial<TaskInput> = {}): TaskInput {
  return {
    meta: { id },
    serviceId: 'svc-web',
    slot: 1,
    nodeId,
    spec: { name: 'web', container: { image: 'orch/busybox:latest', args: ['sleep', '1000'] } },
    desiredState: 'TASK_STATE_RUNNING',
    status: { state: 'TASK_STATE_ASSIGNED', message: 'assigned', timestampMs: 1 },
    ...overrides,
  };
}

/** Polls `check` until it returns a value other than undefined/false; fails after `timeoutMs`. */
export async function eventually<T>(
  check: () => T | undefined | false,
  what: string,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

export interface TestSession {
  sessionId: string;
  call: grpc.ClientReadableStream<SessionMessage__Output>;
}

/** Opens an agent session as a node whose mesh address is 127.0.0.7; resolves on its first message. */
export function openSession(client: DispatcherClient, addr = ''): Promise<TestSession> {
  const call = client.session({ description: { hostname: 'h', meshAddr: '127.0.0.7' }, addr });
  return new Promise((resolve, reject) => {
    call.once('data', (m: SessionMessage__Output) => resolve({ sessionId: m.sessionId, call }));
    call.on('error', reject);
  });
}
