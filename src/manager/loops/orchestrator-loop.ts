// The leader's orchestrator loop: keeps every service's tasks matching its spec, for all modes
// (replicated, global, replicated and global jobs) through reconcileService, and takes removed
// services' tasks down through planServiceRemoval. It also supervises restarts: one
// RestartSupervisor per leadership term decides when a stopped task is replaced; a restart waiting
// for its delay wakes the service up with an unref'd timer (cancelled on stop), and restarts are
// recorded only once the plan that made them has been written.
//
// What marks a service dirty: a change to the service (created, updated, removed); a task of it that
// stopped, changed desired state or was deleted; a node that joined, became ready or active, or
// changed labels, role or resources, which dirties every global service and the services with live
// tasks on it (nodes going down, drained or removed are left to the node-failure loop, whose
// shutdowns dirty the services); a change of the cluster's task history limit, which dirties all.
// It never assigns nodes (the scheduler does) and never moves a task's observed state past pending.

import { isTerminal, TaskState } from '../../common/task-state';
import type { Node, ObjectEventOf, ReadTx, Service, Task } from '../../store';
import { mustLeaveNode, nodeCondition } from '../orchestrator/node-failure';
import { randomTaskId } from '../orchestrator/reconcile-context';
import { isEmptyPlan, type ReconcilePlan, wakeAt } from '../orchestrator/reconcile-plan';
import { planServiceRemoval, reconcileService } from '../orchestrator/reconcile-service';
import { RestartSupervisor } from '../orchestrator/restart-supervisor';
import { isLive, observedState } from '../orchestrator/task-factory';
import type { LoopTimer } from './loop-clock';
import { historyRetentionOf, nodeChangeMatters } from './loop-events';
import { isUpdatePaused, isUpdating, planRollingUpdate, type RollingUpdatePlan } from './rolling-update';
import { type LoopOptions, StoreLoop } from './store-loop';
import { writeTaskChanges } from './task-writes';

export interface OrchestratorLoopOptions extends LoopOptions {
  /** Task IDs; injected for deterministic tests. Default: random 25-character IDs. */
  readonly newTaskId?: () => string;
}

type Tables = 'services' | 'tasks' | 'nodes' | 'clusters';

export class OrchestratorLoop extends StoreLoop<Tables> {
  readonly name = 'orchestrator';
  protected readonly tables = ['services', 'tasks', 'nodes', 'clusters'] as const;
  readonly restarts: RestartSupervisor;
  private readonly newTaskId: () => string;
  private dirtyServices = new Set<string>();
  private dirtyNodes = new Set<string>();
  private globalServices = new Set<string>();
  private retention: number | undefined;
  /** Services with a rolling update in progress: a task of theirs reaching running moves it on. */
  private readonly updating = new Set<string>();
  /** Rolling updates: the batch in flight, or when the last one was all running. */
  private readonly batches = new Map<string, { outstanding: boolean; doneAtMs?: number }>();
  /** Paused updates: the spec they paused on (a new spec resumes them). */
  private readonly pausedSpecs = new Map<string, string>();
  /** Service ID → the pending wake-up for a delayed restart. */
  private readonly wakeUps = new Map<string, { atMs: number; timer: LoopTimer }>();

  constructor(options: OrchestratorLoopOptions) {
    super({ ...options, logger: options.logger?.child({ module: 'orchestrator' }) });
    this.newTaskId = options.newTaskId ?? randomTaskId;
    this.restarts = new RestartSupervisor({ clock: this.clock });
  }

  protected resync(tx: ReadTx): void {
    this.retention = historyRetentionOf(tx);
    this.globalServices.clear();
    for (const service of tx.services.list()) {
      this.dirtyServices.add(service.meta?.id ?? '');
      if (isGlobal(service)) this.globalServices.add(service.meta?.id ?? '');
    }
    // Tasks whose service is gone (removed while no leader was reconciling).
    for (const task of tx.tasks.list())
      if (!tx.services.get(task.serviceId)) this.dirtyServices.add(task.serviceId);
  }

  protected handle(event: ObjectEventOf<Tables>): boolean {
    switch (event.table) {
      case 'services': {
        const id = event.object.meta?.id ?? '';
        if (event.type !== 'delete' && isGlobal(event.object)) this.globalServices.add(id);
        else this.globalServices.delete(id);
        this.dirtyServices.add(id);
        return true;
      }
      case 'tasks':
        if (
          !taskChangeMatters(event.type, event.object, event.old) &&
          !(this.updating.has(event.object.serviceId) && startedRunning(event.object, event.old))
        )
          return false;
        this.dirtyServices.add(event.object.serviceId);
        return true;
      case 'nodes':
        if (event.type === 'update' && !nodeChangeMatters(event.old, event.object)) return false;
        // A node going down, drained or removed is the node-failure loop's: the shutdowns it writes
        // dirty the services. Doing it here too would only make the two race for the same tasks.
        if (event.type === 'delete' || mustLeaveNode(nodeCondition(event.object))) return false;
        this.dirtyNodes.add(event.object.meta?.id ?? '');
        return true;
      case 'clusters':
        return true; // the pass compares the history limit and reconciles everything if it changed
    }
  }

  protected async pass(): Promise<void> {
    const services = this.dirtyServices;
    const nodes = this.dirtyNodes;
    this.dirtyServices = new Set();
    this.dirtyNodes = new Set();
    try {
      // Services in a fixed order, planned and written chunk by chunk: each chunk reads the store
      // afresh (what an earlier chunk wrote, or an agent reported meanwhile, is seen) and the event
      // loop runs between chunks, so a pass over thousands of tasks never holds the leader for long.
      const queue = this.store.view((tx) => this.expandDirty(tx, services, nodes));
      for (let next = 0; next < queue.length; ) {
        if (next > 0) await this.yieldBetweenChunks();
        const chunk = this.store.view((tx) => this.plan(tx, queue, next));
        next = chunk.next;
        await this.write(chunk.plans);
      }
    } catch (err) {
      // Everything looked at is looked at again (expandDirty added what the nodes and the limit dirtied).
      for (const id of services) this.dirtyServices.add(id);
      throw err;
    }
  }

  /** The services to reconcile, sorted: the dirty ones plus those dirty nodes and the limit touch. */
  private expandDirty(tx: ReadTx, services: Set<string>, dirtyNodes: Set<string>): string[] {
    const retention = historyRetentionOf(tx);
    if (retention !== this.retention) {
      this.retention = retention;
      for (const service of tx.services.list()) services.add(service.meta?.id ?? '');
    }
    if (dirtyNodes.size > 0) {
      for (const id of this.globalServices) services.add(id);
      for (const nodeId of dirtyNodes)
        for (const task of tx.tasks.findByNode(nodeId)) if (isLive(task)) services.add(task.serviceId);
    }
    return [...services].sort();
  }

  /** Plans `queue` from `start` until the chunk's budget is spent; `next` is where the next chunk starts. */
  private plan(
    tx: ReadTx,
    queue: readonly string[],
    start: number,
  ): { plans: Map<string, RollingUpdatePlan>; next: number } {
    const nodes = tx.nodes.list();
    const nodesById = new Map(nodes.map((node) => [node.meta?.id ?? '', node]));
    const nowMs = this.clock.now();
    const context = {
      restarts: this.restarts,
      newTaskId: this.newTaskId,
      historyRetention: this.retention,
    };
    const budget = this.newChunk();
    const plans = new Map<string, RollingUpdatePlan>();
    let next = start;
    while (next < queue.length && (next === start || !budget.exhausted)) {
      const id = queue[next++]!;
      const service = tx.services.get(id);
      const tasks = tx.tasks.findByService(id);
      const plan = service
        ? reconcileService(service, tasks, nodes, context)
        : planServiceRemoval(id, tasks, nowMs);
      if (!service && tasks.length === 0) this.restarts.forgetService(id);
      const changes = plan.create.length + plan.update.length + plan.delete.length;
      budget.spend(1 + tasks.length + changes);
      // A rolling update moves on only once the service is otherwise converged.
      const step = service && changes === 0 ? this.updateStep(service, tasks, nodesById, nowMs) : undefined;
      if (step) {
        if (plan.wakeAtMs !== undefined) wakeAt(step, plan.wakeAtMs);
        plans.set(id, step);
      } else if (!isEmptyPlan(plan)) plans.set(id, plan);
    }
    return { plans, next };
  }

  private async write(plans: Map<string, RollingUpdatePlan>): Promise<void> {
    if (plans.size === 0) return;
    const written: ReconcilePlan[] = [];
    await this.store.batch(async (batch) => {
      for (const [serviceId, plan] of plans) {
        if (plan.wakeAtMs !== undefined) this.wakeAt(serviceId, plan.wakeAtMs);
        const next = plan.service;
        if (next) {
          this.assertRunning();
          const fresh = await batch.update((tx) => {
            const current = tx.services.get(serviceId);
            if (current?.meta?.version !== next.meta?.version) return false;
            tx.services.update(next);
            return true;
          });
          if (!fresh) {
            this.dirtyServices.add(serviceId);
            continue;
          }
        }
        const complete = await writeTaskChanges(batch, plan, () => this.assertRunning());
        if (complete) written.push(plan);
        else this.dirtyServices.add(serviceId);
      }
    });
    for (const plan of written) this.restarts.record(plan.restarts);
    const created = written.reduce((n, p) => n + p.create.length, 0);
    const updated = written.reduce((n, p) => n + p.update.length, 0);
    this.logger.debug({ services: plans.size, created, updated }, 'reconciled services');
    if (written.length < plans.size) this.requestPass();
  }

  /** The next step of the service's rolling update, if it has one to take. */
  private updateStep(
    service: Service,
    tasks: readonly Task[],
    nodes: ReadonlyMap<string, Node>,
    nowMs: number,
  ): RollingUpdatePlan | undefined {
    const id = service.meta?.id ?? '';
    let subject = service;
    if (isUpdatePaused(service)) {
      // A paused update resumes with the next spec: remember which spec it paused on.
      const specKey = JSON.stringify(service.spec);
      const pausedOn = this.pausedSpecs.get(id);
      if (pausedOn === undefined) this.pausedSpecs.set(id, specKey);
      else if (pausedOn !== specKey) {
        this.pausedSpecs.delete(id);
        subject = { ...service, updateStatus: null };
      }
    }
    const batch = this.batches.get(id) ?? { outstanding: false };
    const step = planRollingUpdate(subject, tasks, nodes, {
      nowMs,
      newTaskId: this.newTaskId,
      batchOutstanding: batch.outstanding,
      batchDoneAtMs: batch.doneAtMs,
    });
    if (step.batchDone) this.batches.set(id, { outstanding: false, doneAtMs: nowMs });
    if (step.create.length > 0) this.batches.set(id, { outstanding: true });
    const status = (step.service ?? subject).updateStatus?.state;
    if (isUpdating({ ...service, updateStatus: (step.service ?? subject).updateStatus }))
      this.updating.add(id);
    else {
      this.updating.delete(id);
      this.batches.delete(id);
      if (status !== 'UPDATE_STATE_PAUSED' && status !== 'UPDATE_STATE_ROLLBACK_PAUSED')
        this.pausedSpecs.delete(id);
    }
    if (step.service && subject !== service) step.service = { ...step.service, meta: service.meta };
    return isEmptyPlan(step) && !step.service ? undefined : step;
  }

  /** Reconciles `serviceId` again at `atMs` (a restart waiting for its delay). */
  private wakeAt(serviceId: string, atMs: number): void {
    const existing = this.wakeUps.get(serviceId);
    if (existing && existing.atMs <= atMs) return;
    existing?.timer.cancel();
    const timer = this.clock.setTimer(
      () => {
        this.wakeUps.delete(serviceId);
        this.dirtyServices.add(serviceId);
        this.requestPass(0);
      },
      Math.max(0, atMs - this.clock.now()),
    );
    this.wakeUps.set(serviceId, { atMs, timer });
  }

  protected override onStop(): void {
    for (const { timer } of this.wakeUps.values()) timer.cancel();
    this.wakeUps.clear();
  }
}

function isGlobal(service: Service): boolean {
  const mode = service.spec?.mode;
  return mode === 'global' || mode === 'globalJob';
}

/** The task just reached running (a rolling update waits for that). */
function startedRunning(task: Task, old: Task | undefined): boolean {
  return observedState(task) === TaskState.Running && (!old || observedState(old) !== TaskState.Running);
}

/** A task change the orchestrator must react to: it stopped, its desired state moved, it went away. */
function taskChangeMatters(type: string, task: Task, old: Task | undefined): boolean {
  if (type !== 'update') return type === 'delete';
  if (!old) return true;
  if (old.desiredState !== task.desiredState) return true;
  const state = observedState(task);
  return state !== observedState(old) && isTerminal(state);
}
