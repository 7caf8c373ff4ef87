// An in-process leader for the loop tests: a MemoryStore on a LocalProposer (no Raft), every leader
// loop started over it, a clock the test moves by hand, deterministic task IDs, and simulated agents
// that run what they are assigned and stop what they are told to stop. `settle()` moves time from one
// due timer to the next until no loop has anything left to do.

import pino from 'pino';
import type { Node__Output } from '../../../src/api/gen/types/orch/objects/Node';
import type { ServiceSpec__Output } from '../../../src/api/gen/types/orch/objects/ServiceSpec';
import { type LeaderLoops, type LeaderLoopsOptions, startLeaderLoops } from '../../../src/manager/loops';
import type { LoopClock, LoopTimer } from '../../../src/manager/loops/loop-clock';
import { isTerminal, TaskState, type TaskStateValue } from '../../../src/manager/orchestrator';
import { LocalProposer, MemoryStore, type Service, type Task } from '../../../src/store';
import { type NodeOptions, node, type SpecOptions, serviceSpec } from '../scheduler/cluster-fixtures';

export class FakeLoopClock implements LoopClock {
  private timers: Array<{ atMs: number; seq: number; fn: () => void; cancelled: boolean }> = [];
  private seq = 0;

  constructor(public nowMs = 1_700_000_000_000) {}

  now(): number {
    return this.nowMs;
  }

  setTimer(fn: () => void, delayMs: number): LoopTimer {
    const timer = { atMs: this.nowMs + Math.max(0, delayMs), seq: this.seq++, fn, cancelled: false };
    this.timers.push(timer);
    return {
      cancel: () => {
        timer.cancelled = true;
      },
    };
  }

  /** When the next live timer is due, if any. */
  nextDueMs(): number | undefined {
    this.timers = this.timers.filter((t) => !t.cancelled);
    let next: number | undefined;
    for (const t of this.timers) if (next === undefined || t.atMs < next) next = t.atMs;
    return next;
  }

  get pendingTimers(): number {
    return this.timers.filter((t) => !t.cancelled).length;
  }

  /** Moves time to `atMs`, firing every timer due by then in order. */
  advanceTo(atMs: number): void {
    for (;;) {
      const due = this.timers
        .filter((t) => !t.cancelled && t.atMs <= atMs)
        .sort((a, b) => a.atMs - b.atMs || a.seq - b.seq)[0];
      if (!due) break;
      due.cancelled = true;
      this.nowMs = Math.max(this.nowMs, due.atMs);
      due.fn();
    }
    this.nowMs = Math.max(this.nowMs, atMs);
  }
}

export function flush(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export class TestLeader {
  readonly clock = new FakeLoopClock();
  readonly proposer = new LocalProposer();
  readonly store: MemoryStore;
  loops: LeaderLoops;
  private nextId = 0;

  constructor(options: LeaderLoopsOptions = {}, storeOptions: { maxQueuedEvents?: number } = {}) {
    this.store = new MemoryStore({ proposer: this.proposer, clock: () => this.clock.now(), ...storeOptions });
    this.proposer.attach(this.store);
    this.loops = this.start(options);
  }

  start(options: LeaderLoopsOptions = {}): LeaderLoops {
    this.loops = startLeaderLoops({
      store: this.store,
      clock: this.clock,
      logger: process.env.ORCH_TEST_LOG ? pino({ level: process.env.ORCH_TEST_LOG }) : undefined,
      options: { newTaskId: () => `task-${String(++this.nextId).padStart(6, '0')}`, ...options },
    });
    return this.loops;
  }

  async close(): Promise<void> {
    await this.loops.stop();
    this.store.close();
  }

  /**
   * Lets the loops work until none has a pass running or due, moving time forward from timer to
   * timer, but never more than `maxMs` past now (restart delays and orphan timers further out wait).
   */
  async settle(maxMs = 2_000): Promise<void> {
    const limit = this.clock.now() + maxMs;
    for (let round = 0; round < 10_000; round++) {
      await flush();
      await flush();
      if (!this.loops.isBusy) return;
      const next = this.clock.nextDueMs();
      // Busy with no timer due: a pass is in flight, yielding between its chunks; let it go on.
      if (next === undefined) continue;
      if (next > limit) return;
      this.clock.advanceTo(next);
    }
    throw new Error('the loops did not settle');
  }

  /** Moves time forward by `ms` (firing timers on the way), then settles. */
  async advance(ms: number): Promise<void> {
    const target = this.clock.now() + ms;
    while (true) {
      await this.settle(0);
      const next = this.clock.nextDueMs();
      if (next === undefined || next > target) break;
      this.clock.advanceTo(next);
    }
    this.clock.advanceTo(target);
    await this.settle();
  }

  async addNode(id: string, options: NodeOptions = {}): Promise<Node__Output> {
    const { meta: _meta, ...input } = node(id, options);
    return this.store.update((tx) => tx.nodes.create({ ...input, meta: { id } }));
  }

  async updateNode(id: string, change: (node: Node__Output) => Node__Output): Promise<void> {
    await this.store.update((tx) => tx.nodes.update(change(tx.nodes.get(id)!)));
  }

  async setNodeState(id: string, state: 'ready' | 'down'): Promise<void> {
    await this.updateNode(id, (n) => ({
      ...n,
      status: {
        ...n.status!,
        state: state === 'ready' ? 'NODE_STATE_READY' : 'NODE_STATE_DOWN',
        lastHeartbeatMs: this.clock.now(),
      },
    }));
  }

  async setAvailability(id: string, availability: 'active' | 'pause' | 'drain'): Promise<void> {
    await this.updateNode(id, (n) => ({
      ...n,
      spec: { ...n.spec!, availability: `NODE_AVAILABILITY_${availability.toUpperCase()}` as never },
    }));
  }

  async removeNode(id: string): Promise<void> {
    await this.store.update((tx) => tx.nodes.delete(id));
  }

  async createService(options: SpecOptions & { spec?: Partial<ServiceSpec__Output> }): Promise<Service> {
    const base = serviceSpec(options);
    // A mode given in `spec` replaces the builder's (the modes are a oneof).
    const { replicated: _r, global: _g, ...modeless } = base;
    const spec = options.spec?.mode ? { ...modeless, ...options.spec } : { ...base, ...options.spec };
    return this.store.update((tx) => tx.services.create({ spec }));
  }

  async updateService(id: string, change: (spec: ServiceSpec__Output) => ServiceSpec__Output): Promise<void> {
    await this.store.update((tx) => {
      const service = tx.services.get(id)!;
      tx.services.update({ ...service, spec: change(service.spec!) });
    });
  }

  async scale(id: string, replicas: number): Promise<void> {
    await this.updateService(id, (spec) => ({ ...spec, replicated: { replicas } }));
  }

  async removeService(id: string): Promise<void> {
    await this.store.update((tx) => tx.services.delete(id));
  }

  async setHistoryLimit(limit: number): Promise<void> {
    await this.store.update((tx) => {
      const cluster = tx.clusters.list()[0];
      const spec = { name: 'default', orchestration: { taskHistoryRetentionLimit: limit } };
      if (cluster) tx.clusters.update({ ...cluster, spec: { ...cluster.spec, ...spec } });
      else tx.clusters.create({ spec });
    });
  }

  /** An agent's report: the task reached `state` (with an exit code for failures). */
  async report(taskId: string, state: TaskStateValue, exitCode = 0): Promise<void> {
    await this.store.update((tx) => {
      const task = tx.tasks.get(taskId)!;
      tx.tasks.update({
        ...task,
        status: { ...task.status!, state, exitCode, timestampMs: this.clock.now(), message: 'reported' },
      });
    });
  }

  /**
   * Agents on ready nodes start what was assigned to them and stop what they were told to stop; a
   * down node's agent does nothing. Returns how many tasks changed.
   */
  async runAgents(): Promise<number> {
    const nowMs = this.clock.now();
    const changes = this.store.view((tx) => {
      const result: Task[] = [];
      for (const task of tx.tasks.list()) {
        if (!task.nodeId) continue;
        const nodeReady = tx.nodes.get(task.nodeId)?.status?.state === 'NODE_STATE_READY';
        if (!nodeReady) continue;
        const state = task.status?.state ?? TaskState.New;
        let next: TaskStateValue | undefined;
        if (task.desiredState === TaskState.Running && state === TaskState.Assigned) next = TaskState.Running;
        if (task.desiredState !== TaskState.Running && !isTerminal(state) && state !== TaskState.New)
          next = TaskState.Shutdown;
        if (next) result.push({ ...task, status: { ...task.status!, state: next, timestampMs: nowMs } });
      }
      return result;
    });
    if (changes.length > 0) {
      await this.store.batch(async (batch) => {
        for (const task of changes) await batch.update((tx) => tx.tasks.update(task));
      });
    }
    return changes.length;
  }

  /** Settles the loops and runs the agents until nothing changes any more. */
  async converge(): Promise<void> {
    for (let round = 0; round < 100; round++) {
      await this.settle();
      if ((await this.runAgents()) === 0) {
        await this.settle();
        return;
      }
    }
    throw new Error('the cluster did not converge');
  }

  tasks(filter: (task: Task) => boolean = () => true): Task[] {
    return this.store.view((tx) => tx.tasks.list().filter(filter));
  }

  tasksOf(serviceId: string): Task[] {
    return this.store.view((tx) => tx.tasks.findByService(serviceId));
  }

  /** Tasks of the service desired running, by node ID. */
  liveByNode(serviceId: string): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const task of this.tasksOf(serviceId)) {
      if (task.desiredState !== TaskState.Running) continue;
      const key = task.nodeId || '(none)';
      counts[key] = (counts[key] ?? 0) + 1;
    }
    return counts;
  }

  service(id: string): Service | undefined {
    return this.store.view((tx) => tx.services.get(id));
  }
}

export function stateOf(task: Task): TaskStateValue {
  return task.status?.state ?? TaskState.New;
}

export function live(tasks: readonly Task[]): Task[] {
  return tasks.filter((t) => t.desiredState === TaskState.Running);
}
