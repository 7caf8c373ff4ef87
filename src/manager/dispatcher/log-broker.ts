// The log broker: how `orch service logs` reaches containers on other nodes, as swarmkit's LogBroker
// does. A subscriber asks for the logs of some tasks; the broker finds the nodes running them, asks
// each node's agent over its session stream (a LogSubscription), and the agents publish the lines
// back with PublishLogs under the subscription's ID. The broker merges them into one stream per
// subscriber, with backpressure: a subscriber that reads slowly pauses the publishing calls.
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { MemoryStore } from '../../store';
import type { Task } from '../../store/objects';
import type { LogMessage__Output, LogSubscription } from './dispatcher-grpc';

/** Which tasks' logs: every given list narrows the selection (an empty selector selects nothing). */
export interface LogSelector {
  serviceIds?: readonly string[];
  taskIds?: readonly string[];
  nodeIds?: readonly string[];
}

export interface LogRequestOptions {
  /** Keep streaming new lines until the signal aborts or every task's log ends. */
  follow?: boolean;
  /** Only the last `tail` lines of each task (default: all). */
  tail?: number;
  sinceMs?: number;
  timestamps?: boolean;
  signal?: AbortSignal;
  /** A node that cannot deliver (no session, or it failed): told once per node. */
  onNodeError?: (nodeId: string, message: string) => void;
}

export interface TaskLogMessage {
  taskId: string;
  serviceId: string;
  nodeId: string;
  stream: 'stdout' | 'stderr';
  line: string;
  /** 0 unless timestamps were asked for. */
  timeMs: number;
}

/** What the Control API reads logs from (the leader's dispatcher implements it). */
export interface LogSource {
  logs(selector: LogSelector, options?: LogRequestOptions): AsyncIterable<TaskLogMessage>;
}

/** How the broker reaches an agent: sends a subscription on the node's session, false without one. */
export type SubscriptionSender = (nodeId: string, subscription: LogSubscription) => boolean;

/** A publishing call's flow control: the broker pauses it while its subscriber lags. */
export interface PublisherFlow {
  pause(): void;
  resume(): void;
}

/** Messages queued for one subscriber before its publishers are paused. */
const HIGH_WATER_MARK = 1024;

class Subscription {
  readonly queue: TaskLogMessage[] = [];
  readonly pendingNodes = new Set<string>();
  readonly paused = new Set<PublisherFlow>();
  wake: (() => void) | undefined;
  ended = false;

  constructor(
    readonly id: string,
    readonly options: LogRequestOptions,
  ) {}

  push(messages: readonly TaskLogMessage[], flow: PublisherFlow | undefined): void {
    if (this.ended) return;
    this.queue.push(...messages);
    if (flow !== undefined && this.queue.length >= HIGH_WATER_MARK && !this.paused.has(flow)) {
      flow.pause();
      this.paused.add(flow);
    }
    this.notify();
  }

  nodeDone(nodeId: string, error?: string): void {
    if (!this.pendingNodes.delete(nodeId)) return;
    if (error) this.options.onNodeError?.(nodeId, error);
    this.notify();
  }

  drained(): void {
    if (this.queue.length > HIGH_WATER_MARK / 2) return;
    for (const flow of this.paused) flow.resume();
    this.paused.clear();
  }

  notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}

export class LogBroker implements LogSource {
  private readonly subscriptions = new Map<string, Subscription>();

  constructor(
    private readonly store: MemoryStore,
    private readonly send: SubscriptionSender,
    private readonly logger: Logger,
  ) {}

  logs(selector: LogSelector, options: LogRequestOptions = {}): AsyncIterable<TaskLogMessage> {
    return { [Symbol.asyncIterator]: () => this.iterate(selector, options) };
  }

  /** Lines from `nodeId` for subscription `id`; unknown or ended subscriptions drop them. */
  publish(
    nodeId: string,
    id: string,
    messages: readonly LogMessage__Output[],
    flow?: PublisherFlow,
  ): boolean {
    const subscription = this.subscriptions.get(id);
    if (subscription === undefined || !subscription.pendingNodes.has(nodeId)) return false;
    subscription.push(
      messages.map((m) => ({
        taskId: m.taskId,
        serviceId: m.serviceId,
        nodeId,
        stream: m.stream === 'LOG_STREAM_STDERR' ? 'stderr' : 'stdout',
        line: m.line,
        timeMs: m.timeMs,
      })),
      flow,
    );
    return true;
  }

  /** `nodeId` has nothing more for subscription `id` (with `error` when it stopped early). */
  nodeClosed(nodeId: string, id: string, error?: string): void {
    this.subscriptions.get(id)?.nodeDone(nodeId, error);
  }

  /** The node's session ended: its part of every subscription ends with an error. */
  sessionEnded(nodeId: string): void {
    for (const subscription of this.subscriptions.values())
      subscription.nodeDone(nodeId, 'the node disconnected');
  }

  /** Ends every subscription (the dispatcher stopped). */
  close(): void {
    for (const subscription of this.subscriptions.values()) {
      for (const nodeId of [...subscription.pendingNodes])
        subscription.nodeDone(nodeId, 'dispatcher stopped');
    }
  }

  private static matches(selector: LogSelector, task: Task): boolean {
    return (
      task.nodeId !== '' &&
      (selector.taskIds === undefined || selector.taskIds.includes(task.meta!.id)) &&
      (selector.serviceIds === undefined || selector.serviceIds.includes(task.serviceId)) &&
      (selector.nodeIds === undefined || selector.nodeIds.includes(task.nodeId))
    );
  }

  private selectTasks(selector: LogSelector): Task[] {
    return this.store.view((tx) => {
      let tasks: Task[];
      if (selector.taskIds !== undefined)
        tasks = selector.taskIds.map((id) => tx.tasks.get(id)).filter((t) => t !== undefined);
      else if (selector.serviceIds !== undefined)
        tasks = selector.serviceIds.flatMap((id) => tx.tasks.findByService(id));
      else if (selector.nodeIds !== undefined)
        tasks = selector.nodeIds.flatMap((id) => tx.tasks.findByNode(id));
      else tasks = [];
      return tasks.filter((t) => LogBroker.matches(selector, t));
    });
  }

  private async *iterate(selector: LogSelector, options: LogRequestOptions): AsyncGenerator<TaskLogMessage> {
    const subscription = new Subscription(randomUUID(), options);
    const byNode = new Map<string, string[]>();
    const known = new Set<string>();
    const request = (nodeId: string, taskIds: string[]) => {
      subscription.pendingNodes.add(nodeId);
      const sent = this.send(nodeId, {
        id: subscription.id,
        taskIds,
        follow: options.follow ?? false,
        tail: options.tail ?? -1,
        sinceMs: options.sinceMs ?? 0,
        timestamps: options.timestamps ?? false,
      });
      if (!sent) subscription.nodeDone(nodeId, 'the node is not connected');
    };
    // Following a service or a node also follows the tasks that start running later, as
    // `docker service logs -f` does; it then ends only when the subscriber stops reading.
    const followNew = options.follow === true && selector.taskIds === undefined;
    const watch = followNew
      ? this.store.subscribe(
          (event) => {
            if (event.type === 'delete' || event.type === 'commit' || event.type === 'restored') return;
            const task = event.object;
            if (task.status?.state !== 'TASK_STATE_RUNNING' || known.has(task.meta!.id)) return;
            if (!LogBroker.matches(selector, task)) return;
            known.add(task.meta!.id);
            request(task.nodeId, [task.meta!.id]);
          },
          { tables: ['tasks'] },
        )
      : undefined;
    for (const task of this.selectTasks(selector)) {
      known.add(task.meta!.id);
      const ids = byNode.get(task.nodeId) ?? [];
      ids.push(task.meta!.id);
      byNode.set(task.nodeId, ids);
    }
    this.subscriptions.set(subscription.id, subscription);
    const onAbort = () => subscription.notify();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      for (const [nodeId, taskIds] of byNode) request(nodeId, taskIds);
      this.logger.debug({ subscription: subscription.id, nodes: byNode.size }, 'log subscription started');
      while (!options.signal?.aborted) {
        if (subscription.queue.length > 0) {
          const batch = subscription.queue.splice(0, subscription.queue.length);
          subscription.drained();
          yield* batch;
          continue;
        }
        if (subscription.pendingNodes.size === 0 && !followNew) return;
        await new Promise<void>((resolve) => {
          subscription.wake = resolve;
        });
      }
    } finally {
      subscription.ended = true;
      watch?.close();
      options.signal?.removeEventListener('abort', onAbort);
      this.subscriptions.delete(subscription.id);
      for (const flow of subscription.paused) flow.resume();
      // Tell the agents still publishing to stop.
      for (const nodeId of subscription.pendingNodes)
        this.send(nodeId, { id: subscription.id, taskIds: [], close: true });
      this.logger.debug({ subscription: subscription.id }, 'log subscription ended');
    }
  }
}
