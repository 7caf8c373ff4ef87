// A manager's Control API for tests: a MemoryStore on a LocalProposer, fake cluster operations, the
// real gRPC service on a Unix socket in a temp dir, and the CLI's client pointed at that dir.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LogMessage } from '../../../src/api/gen/types/orch/control/LogMessage';
import type { ServiceSpec } from '../../../src/api/gen/types/orch/objects/ServiceSpec';
import { ControlApiClient } from '../../../src/cli/control-client';
import {
  type ClusterOps,
  type ControlServiceOptions,
  type ControlSocketServer,
  createControlHandlers,
  type LogSelection,
  type LogSource,
  serveControlSocket,
} from '../../../src/manager/controlapi';
import { LocalProposer, MemoryStore, type NodeInput, type TaskInput } from '../../../src/store';

export const NOW_MS = 1_700_000_000_000;

export class FakeClusterOps implements ClusterOps {
  readBarriers = 0;
  removedMembers: string[] = [];
  localNodeId = 'manager1';
  tokens = { worker: 'ORCH-1-digest-worker', manager: 'ORCH-1-digest-manager' };
  readBarrierError: Error | undefined;

  async readBarrier(): Promise<void> {
    this.readBarriers++;
    if (this.readBarrierError) throw this.readBarrierError;
  }
  async removeMember(nodeId: string): Promise<void> {
    this.removedMembers.push(nodeId);
  }
  async joinTokens(rotate: { worker: boolean; manager: boolean }) {
    if (rotate.worker) this.tokens.worker += '-rotated';
    if (rotate.manager) this.tokens.manager += '-rotated';
    return { ...this.tokens };
  }
  async info() {
    return {
      nodeId: this.localNodeId,
      clusterId: 'cluster1',
      isManager: true,
      leaderNodeId: this.localNodeId,
      managers: 1,
      nodes: 1,
    };
  }
}

/** Log lines per task ID; with follow, the stream stays open until the caller cancels it. */
export class FakeLogSource implements LogSource {
  selections: LogSelection[] = [];
  lines = new Map<string, LogMessage[]>();
  async *logs(
    selection: LogSelection,
    options: { signal: AbortSignal },
  ): AsyncGenerator<readonly LogMessage[]> {
    this.selections.push(selection);
    for (const task of selection.tasks) {
      let lines = this.lines.get(task.meta!.id) ?? [];
      if (selection.tail >= 0) lines = lines.slice(Math.max(0, lines.length - selection.tail));
      if (lines.length > 0) yield lines;
    }
    if (!selection.follow) return;
    await new Promise<void>((resolve) =>
      options.signal.addEventListener('abort', () => resolve(), { once: true }),
    );
  }
}

export interface ControlFixture {
  dir: string;
  store: MemoryStore;
  ops: FakeClusterOps;
  logs: FakeLogSource;
  client: ControlApiClient;
  server: ControlSocketServer;
  /** The time the CLI under test believes it is (tables print "5 seconds ago" relative to it). */
  nowMs(): number;
  close(): Promise<void>;
}

export async function startControl(
  extra: Partial<ControlServiceOptions> = {},
  options: { clock?: () => number; logSource?: (store: MemoryStore) => LogSource } = {},
): Promise<ControlFixture> {
  const clock = options.clock ?? (() => NOW_MS);
  const dir = mkdtempSync(join(tmpdir(), 'orch-control-'));
  const proposer = new LocalProposer();
  const store = new MemoryStore({ proposer, clock });
  proposer.attach(store);
  const ops = new FakeClusterOps();
  const logs = new FakeLogSource();
  let server: ControlSocketServer | undefined;
  try {
    const handlers = createControlHandlers({
      store,
      ops,
      logSource: options.logSource?.(store) ?? logs,
      clock,
      ...extra,
    });
    server = await serveControlSocket(join(dir, 'orch.sock'), handlers);
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const client = new ControlApiClient({ dataDir: dir, timeoutMs: 10_000 });
  const started = server;
  return {
    dir,
    store,
    ops,
    logs,
    client,
    server: started,
    nowMs: clock,
    async close() {
      client.close();
      await started.close({ graceMs: 200 });
      store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function nodeInput(
  id: string,
  hostname: string,
  options: {
    role?: 'manager' | 'worker';
    state?: 'NODE_STATE_READY' | 'NODE_STATE_DOWN';
    leader?: boolean;
    reachable?: boolean;
  } = {},
): NodeInput {
  const role = options.role === 'manager' ? 'NODE_ROLE_MANAGER' : 'NODE_ROLE_WORKER';
  return {
    meta: { id },
    role,
    spec: { desiredRole: role, availability: 'NODE_AVAILABILITY_ACTIVE' },
    description: { hostname, engineVersion: '24.0.7', os: 'linux', architecture: 'x86_64' },
    status: { state: options.state ?? 'NODE_STATE_READY', addr: '127.0.0.1' },
    ...(options.role === 'manager'
      ? {
          managerStatus: {
            raftId: id,
            addr: '127.0.0.1:4242',
            leader: !!options.leader,
            reachable: options.reachable ?? true,
          },
        }
      : {}),
  };
}

export async function addNodes(store: MemoryStore, nodes: NodeInput[]): Promise<void> {
  await store.update((tx) => {
    for (const node of nodes) tx.nodes.create(node);
  });
}

export function webSpec(overrides: Partial<ServiceSpec> = {}): ServiceSpec {
  return {
    name: 'web',
    container: { image: 'orch/busybox:latest', command: ['httpd', '-f'] },
    mode: 'replicated',
    replicated: { replicas: 3 },
    ...overrides,
  };
}

export function taskInput(
  id: string,
  serviceId: string,
  slot: number,
  options: {
    nodeId?: string;
    state?: string;
    desired?: string;
    err?: string;
    createdAtMs?: number;
    spec?: ServiceSpec | null;
  } = {},
): TaskInput {
  return {
    meta: { id },
    serviceId,
    slot,
    nodeId: options.nodeId ?? '',
    spec: options.spec ?? null,
    desiredState: (options.desired ?? 'TASK_STATE_RUNNING') as TaskInput['desiredState'],
    status: {
      state: (options.state ?? 'TASK_STATE_RUNNING') as NonNullable<TaskInput['status']>['state'],
      err: options.err ?? '',
      timestampMs: options.createdAtMs ?? NOW_MS - 5_000,
    },
  };
}
