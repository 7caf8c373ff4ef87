// The leader's node-failure loop. When the dispatcher marks a node down, an operator drains it, or a
// node is removed, its live tasks are shut down (planNodeFailures); the orchestrator sees those
// desired-state changes and creates replicated replacements on other nodes, while global tasks stay
// with their node. Tasks that never reported a terminal state on a node down for longer than the
// orphan delay (Swarm: 24 h; a timer wakes the loop then), or on a removed node, are marked orphaned,
// since no agent will ever report on them. Paused and disconnected nodes keep their tasks.

import { isTerminal } from '../../common/task-state';
import type { Node, ObjectEventOf, ReadTx, Task } from '../../store';
import { DEFAULT_ORPHAN_AFTER_MS, nodeCondition, planNodeFailures } from '../orchestrator/node-failure';
import { observedState } from '../orchestrator/task-factory';
import type { LoopTimer } from './loop-clock';
import { type LoopOptions, StoreLoop } from './store-loop';
import { writeTaskChanges } from './task-writes';

export interface NodeFailureLoopOptions extends LoopOptions {
  /** How long a node may be down before its tasks are declared orphaned. Default 24 h. */
  readonly orphanAfterMs?: number;
}

type Tables = 'nodes' | 'tasks';

export class NodeFailureLoop extends StoreLoop<Tables> {
  readonly name = 'node-failure';
  protected readonly tables = ['nodes', 'tasks'] as const;
  private readonly orphanAfterMs: number;
  private dirtyNodes = new Set<string>();
  /** Node ID → the timer that declares its tasks orphaned. */
  private readonly orphanTimers = new Map<string, LoopTimer>();
  /** Node ID → when this leader first saw it down, for nodes whose status has no heartbeat time. */
  private readonly downSince = new Map<string, number>();

  constructor(options: NodeFailureLoopOptions) {
    super({ ...options, logger: options.logger?.child({ module: 'node-failure' }) });
    this.orphanAfterMs = options.orphanAfterMs ?? DEFAULT_ORPHAN_AFTER_MS;
  }

  protected resync(tx: ReadTx): void {
    for (const node of tx.nodes.list()) {
      const id = node.meta?.id ?? '';
      if (nodeCondition(node) !== 'available') this.dirtyNodes.add(id);
    }
    // Tasks still bound to nodes that are gone.
    for (const task of tx.tasks.list())
      if (task.nodeId && !tx.nodes.get(task.nodeId) && !isTerminal(observedState(task)))
        this.dirtyNodes.add(task.nodeId);
  }

  protected handle(event: ObjectEventOf<Tables>): boolean {
    if (event.table === 'tasks') {
      // A task placed on a node that is already failing (a race with the scheduler).
      const task = event.object;
      if (event.type === 'delete' || !task.nodeId || task.nodeId === event.old?.nodeId) return false;
      this.dirtyNodes.add(task.nodeId);
      return true;
    }
    const node = event.object;
    const id = node.meta?.id ?? '';
    const condition = event.type === 'delete' ? 'removed' : nodeCondition(node);
    if (condition !== 'down') {
      this.cancelOrphanTimer(id);
      this.downSince.delete(id);
    }
    if (condition !== 'down' && condition !== 'draining' && condition !== 'removed') return false;
    this.dirtyNodes.add(id);
    return true;
  }

  protected async pass(): Promise<void> {
    const nodeIds = [...this.dirtyNodes].sort();
    this.dirtyNodes = new Set();
    let next = 0;
    try {
      // Node by node in chunks, each read afresh and written as its own batch, yielding between
      // chunks: a leader that just marked hundreds of nodes down stays responsive while it moves
      // their tasks off.
      while (next < nodeIds.length) {
        if (next > 0) await this.yieldBetweenChunks();
        const start = next;
        const nowMs = this.clock.now();
        const budget = this.newChunk();
        const plan = this.store.view((tx) => {
          const nodes: Node[] = [];
          const tasks: Task[] = [];
          while (next < nodeIds.length && (next === start || !budget.exhausted)) {
            const id = nodeIds[next++]!;
            const onNode = tx.tasks.findByNode(id);
            budget.spend(onNode.length + 1);
            const stored = tx.nodes.get(id);
            if (stored && nodeCondition(stored) === 'available') continue;
            const node =
              stored && nodeCondition(stored) === 'down' ? this.withDownSince(stored, nowMs) : stored;
            if (node) nodes.push(node);
            if (node && nodeCondition(node) === 'down') this.armOrphanTimer(node, nowMs);
            tasks.push(...onNode);
          }
          return planNodeFailures(nodes, tasks, { nowMs, orphanAfterMs: this.orphanAfterMs });
        });
        if (plan.update.length === 0) continue;
        const complete = await this.store.batch((batch) =>
          writeTaskChanges(batch, { create: [], update: plan.update, delete: [] }, () =>
            this.assertRunning(),
          ),
        );
        if (!complete) {
          // A task moved under the plan: this chunk's nodes are looked at again in a new pass.
          for (const id of nodeIds.slice(start, next)) this.dirtyNodes.add(id);
          this.requestPass();
        }
        this.logger.info(
          { tasks: plan.update.length, services: plan.affectedServiceIds.length },
          'moved tasks off failed or drained nodes',
        );
      }
    } catch (err) {
      // Every node is looked at again (the chunks already written plan nothing the second time).
      for (const id of nodeIds) this.dirtyNodes.add(id);
      throw err;
    }
  }

  /**
   * The orphan delay counts from the node's last heartbeat. A node marked down without one (say, by
   * an operator's tool) counts from when this leader first saw it down, never from the epoch.
   */
  private withDownSince(node: Node, nowMs: number): Node {
    if (node.status?.lastHeartbeatMs) return node;
    const id = node.meta?.id ?? '';
    let since = this.downSince.get(id);
    if (since === undefined) {
      since = nowMs;
      this.downSince.set(id, since);
    }
    return { ...node, status: { ...node.status!, lastHeartbeatMs: since } };
  }

  /** Wakes the loop when the node has been down for the orphan delay. */
  private armOrphanTimer(node: Node, nowMs: number): void {
    const id = node.meta?.id ?? '';
    if (this.orphanTimers.has(id)) return;
    const downSinceMs = node.status?.lastHeartbeatMs || nowMs;
    const dueInMs = downSinceMs + this.orphanAfterMs - nowMs;
    if (dueInMs <= 0) return;
    const timer = this.clock.setTimer(() => {
      this.orphanTimers.delete(id);
      this.dirtyNodes.add(id);
      this.requestPass(0);
    }, dueInMs);
    this.orphanTimers.set(id, timer);
  }

  private cancelOrphanTimer(id: string): void {
    this.orphanTimers.get(id)?.cancel();
    this.orphanTimers.delete(id);
  }

  protected override onStop(): void {
    for (const timer of this.orphanTimers.values()) timer.cancel();
    this.orphanTimers.clear();
  }
}
