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

import type { ObjectEventOf, ReadTx, Service, Task } from '../../store';
import { mustLeaveNode, nodeCondition } from '../orchestrator/node-failure';
import { randomTaskId } from '../orchestrator/reconcile-context';
import { isEmptyPlan, type ReconcilePlan } from '../orchestrator/reconcile-plan';
import { planServiceRemoval, reconcileService } from '../orchestrator/reconcile-service';
import { RestartSupervisor } from '../orchestrator/restart-supervisor';
import { isLive, observedState } from '../orchestrator/task-factory';
import { isTerminal } from '../orchestrator/task-state';
import type { LoopTimer } from './loop-clock';
import { historyRetentionOf, nodeChangeMatters } from './loop-events';
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
        if (!taskChangeMatters(event.type, event.object, event.old)) return false;
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
      const plans = this.store.view((tx) => this.plan(tx, services, nodes));
      await this.write(plans);
    } catch (err) {
      // Everything looked at is looked at again (plan() added what the nodes and the limit dirtied).
      for (const id of services) this.dirtyServices.add(id);
      throw err;
    }
  }

  private plan(tx: ReadTx, services: Set<string>, dirtyNodes: Set<string>): Map<string, ReconcilePlan> {
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
    const nodes = tx.nodes.list();
    const nowMs = this.clock.now();
    const context = {
      restarts: this.restarts,
      newTaskId: this.newTaskId,
      historyRetention: retention,
    };
    const plans = new Map<string, ReconcilePlan>();
    for (const id of [...services].sort()) {
      const service = tx.services.get(id);
      const tasks = tx.tasks.findByService(id);
      const plan = service
        ? reconcileService(service, tasks, nodes, context)
        : planServiceRemoval(id, tasks, nowMs);
      if (!service && tasks.length === 0) this.restarts.forgetService(id);
      if (!isEmptyPlan(plan)) plans.set(id, plan);
    }
    return plans;
  }

  private async write(plans: Map<string, ReconcilePlan>): Promise<void> {
    if (plans.size === 0) return;
    const written: ReconcilePlan[] = [];
    await this.store.batch(async (batch) => {
      for (const [serviceId, plan] of plans) {
        if (plan.wakeAtMs !== undefined) this.wakeAt(serviceId, plan.wakeAtMs);
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

/** A task change the orchestrator must react to: it stopped, its desired state moved, it went away. */
function taskChangeMatters(type: string, task: Task, old: Task | undefined): boolean {
  if (type !== 'update') return type === 'delete';
  if (!old) return true;
  if (old.desiredState !== task.desiredState) return true;
  const state = observedState(task);
  return state !== observedState(old) && isTerminal(state);
}
