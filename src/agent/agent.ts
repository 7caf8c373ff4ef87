// The agent: the worker side of orch, on every node (swarmkit's agent). It keeps one session with
// a manager's dispatcher at a time — failing over to another manager, with back-off, when that one
// dies or says it is not the leader — receives the node's assignments, drives each task with the
// executor (TaskManager, TaskRunner), reports status in batches (StatusReporter) and publishes logs
// on request (LogPublisher). It persists nothing it can learn again: the only state it may keep is
// the manager list, in a file the node gives it. Containers outlive the agent; a restarted agent
// adopts them.
import type * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { NodeDescription } from '../api/gen/types/orch/objects/NodeDescription';
import { silentLogger } from '../common/logger';
import { DispatcherNotLeaderError } from '../manager/dispatcher/dispatcher-errors';
import { newDispatcherClient, type SessionMessage__Output } from '../manager/dispatcher/dispatcher-grpc';
import { AgentSession, SessionClosedError } from './agent-session';
import { Backoff, type BackoffOptions, sleep, spreadDelay } from './backoff';
import { type Executor, isTemporary, type ObservedTask } from './executor';
import { LogPublisher } from './log-publisher';
import { ManagerList } from './manager-list';
import { StatusReporter } from './status-reporter';
import { TaskManager } from './task-manager';

/**
 * HTTP/2 receive window of the agent's connection (grpc-js defaults to 64 KiB): a large COMPLETE
 * assignment set then arrives without a round trip per 64 KiB.
 */
/** Default window over which agents spread their first reconnect after a session ends. */
export const DEFAULT_RECONNECT_SPREAD_MS = 1_000;

export const AGENT_CHANNEL_OPTIONS: grpc.ClientOptions = { 'grpc-node.flow_control_window': 4 * 1024 * 1024 };

export interface AgentOptions {
  executor: Executor;
  /** Managers to try first (e.g. the join address); the sessions keep the list current. */
  managers: readonly string[];
  /** Channel credentials for each new connection (the node's mTLS credentials; re-read so a renewed certificate is used). */
  credentials: () => grpc.ChannelCredentials;
  /** Extra client options (channel options, interceptors). */
  clientOptions?: grpc.ClientOptions;
  /** The address other nodes reach this node at; empty: the dispatcher uses the connection's. */
  addr?: string;
  logger?: Logger;
  /** Keeps the manager list across restarts (a file in the node's data dir). */
  managerListFile?: string;
  /** How long status reports are collected before one call (default 10 ms). */
  statusBatchDelayMs?: number;
  reconnectBackoff?: BackoffOptions;
  /**
   * After a session that was open ends (leader change), the first reconnect waits a random delay in
   * [0, this] so a cluster's agents do not all open sessions on the new leader at once. Default 1 s,
   * well inside the dispatcher's grace period (3 heartbeat periods, counted from when it starts).
   */
  reconnectSpreadMs?: number;
  taskRetryBackoff?: BackoffOptions;
  /** Where ingress-mode ports are bound for the routing mesh. */
  ingressHostIp?: string;
  /** How long to wait for a dispatcher's first session message. */
  sessionOpenTimeoutMs?: number;
  now?: () => number;
}

export interface AgentStatus {
  nodeId: string;
  /** The manager of the current session, if one is open. */
  manager: string | undefined;
  sessionId: string | undefined;
  tasks: number;
  pendingReports: number;
}

export class Agent {
  readonly nodeId: string;
  readonly tasks: TaskManager;
  private readonly logger: Logger;
  private readonly managers: ManagerList;
  private readonly reporter: StatusReporter;
  private readonly publisher: LogPublisher;
  private readonly abort = new AbortController();
  private session: AgentSession | undefined;
  private sessionManager: string | undefined;
  private loop: Promise<void> | undefined;
  private sessionWaiters: Array<() => void> = [];

  constructor(private readonly options: AgentOptions) {
    this.nodeId = options.executor.nodeId;
    this.logger = (options.logger ?? silentLogger()).child({ module: 'agent', node: this.nodeId });
    this.managers = new ManagerList(options.managers, options.managerListFile, this.logger);
    this.reporter = new StatusReporter(
      (reports) => (this.session?.isOpen ? this.session.updateTaskStatus(reports) : undefined),
      this.logger,
      options.statusBatchDelayMs,
    );
    this.tasks = new TaskManager({
      executor: options.executor,
      report: (taskId, status) => this.reporter.report(taskId, status),
      forget: (taskId) => this.reporter.drop(taskId),
      logger: this.logger,
      ingressHostIp: options.ingressHostIp,
      retryBackoff: options.taskRetryBackoff,
      now: options.now,
    });
    this.publisher = new LogPublisher(this.nodeId, (id) => this.tasks.runner(id), this.logger);
  }

  /** Starts the agent in the background; close() stops it. */
  start(): void {
    this.loop ??= this.run().catch((err) => {
      if (!this.abort.signal.aborted) this.logger.error({ err }, 'agent stopped on an unexpected error');
    });
  }

  /**
   * Stops the agent: ends the session and stops driving tasks. Containers keep running (a restarted
   * agent adopts them); the executor is the caller's to close.
   */
  async close(): Promise<void> {
    this.abort.abort();
    this.session?.close();
    await this.loop;
    this.publisher.closeAll();
    await this.tasks.close();
    this.reporter.close();
    this.wakeSessionWaiters();
  }

  status(): AgentStatus {
    const open = this.session?.isOpen === true;
    return {
      nodeId: this.nodeId,
      manager: open ? this.sessionManager : undefined,
      sessionId: open ? this.session!.sessionId : undefined,
      tasks: this.tasks.taskIds.length,
      pendingReports: this.reporter.pendingCount,
    };
  }

  /** The managers the agent would try, in order. */
  get managerAddresses(): readonly string[] {
    return this.managers.addresses;
  }

  /** Resolves once a session is open (at once if one is); ends early when `signal` aborts or the agent closes. */
  waitForSession(options: { signal?: AbortSignal } = {}): Promise<void> {
    if (this.session?.isOpen || this.abort.signal.aborted || options.signal?.aborted)
      return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        options.signal?.removeEventListener('abort', done);
        resolve();
      };
      options.signal?.addEventListener('abort', done, { once: true });
      this.sessionWaiters.push(done);
    });
  }

  /** Resolves when every status report has been accepted by a dispatcher. */
  reportsSent(): Promise<void> {
    return this.reporter.idle();
  }

  private async run(): Promise<void> {
    const signal = this.abort.signal;
    const observed = await this.untilDone(
      () => this.options.executor.listTasks({ signal }),
      'listing containers',
    );
    if (observed === undefined) return;
    this.tasks.setAdopted(observed as ObservedTask[]);
    if (observed.length > 0)
      this.logger.info({ containers: observed.length }, 'found existing task containers');
    const info = await this.untilDone(
      () => this.options.executor.describe({ signal }),
      'describing the node',
    );
    if (info === undefined) return;
    const description: NodeDescription = { ...info };

    const backoff = new Backoff({ initialMs: 200, maxMs: 10_000, ...this.options.reconnectBackoff });
    const spreadMs = this.options.reconnectSpreadMs ?? DEFAULT_RECONNECT_SPREAD_MS;
    while (!signal.aborted) {
      let opened = false;
      const addr = this.managers.next();
      const client = newDispatcherClient(addr, this.options.credentials(), {
        ...AGENT_CHANNEL_OPTIONS,
        ...this.options.clientOptions,
      });
      const session = new AgentSession({
        client,
        description,
        addr: this.options.addr,
        logger: this.logger.child({ manager: addr }),
        openTimeoutMs: this.options.sessionOpenTimeoutMs,
        handlers: {
          onOpen: () => {
            opened = true;
            backoff.reset();
            this.sessionManager = addr;
            this.wakeSessionWaiters();
            this.reporter.sessionReady();
          },
          onSessionMessage: (message) => this.onSessionMessage(message, session, addr),
          onAssignments: (message) => this.tasks.apply(message),
        },
      });
      this.session = session;
      try {
        await session.run();
      } catch (err) {
        if (err instanceof DispatcherNotLeaderError && err.leaderAddr) {
          this.logger.info(
            { manager: addr, leader: err.leaderAddr },
            'manager is not the leader; going to the leader',
          );
          this.managers.prefer(err.leaderAddr);
        } else if (!(err instanceof SessionClosedError)) {
          this.logger.warn({ manager: addr, err: (err as Error).message }, 'session ended');
        }
      } finally {
        this.session = undefined;
        this.sessionManager = undefined;
        this.publisher.closeAll();
        this.tasks.sessionEnded();
        client.close();
      }
      if (signal.aborted) break;
      const delayMs = opened ? spreadDelay(spreadMs, this.options.reconnectBackoff?.random) : backoff.next();
      await sleep(delayMs, signal);
    }
  }

  private onSessionMessage(message: SessionMessage__Output, session: AgentSession, addr: string): void {
    this.managers.update(message.managers, addr);
    for (const subscription of message.logSubscriptions) this.publisher.handle(subscription, session);
  }

  /**
   * Runs `fn` until it succeeds; undefined if the agent closes first. Any error is retried: an
   * engine that answers with errors now (restarting, overloaded) is expected to recover, and the
   * agent has nothing useful to do without knowing what the node already runs.
   */
  private async untilDone<T>(fn: () => Promise<T>, what: string): Promise<T | undefined> {
    const backoff = new Backoff({ initialMs: 200, maxMs: 5_000 });
    while (!this.abort.signal.aborted) {
      try {
        return await fn();
      } catch (err) {
        if (this.abort.signal.aborted) return undefined;
        const level = isTemporary(err as Error) ? 'warn' : 'error';
        this.logger[level]({ err: (err as Error).message }, `${what} failed; retrying`);
        await sleep(backoff.next(), this.abort.signal);
      }
    }
    return undefined;
  }

  private wakeSessionWaiters(): void {
    const waiters = this.sessionWaiters;
    this.sessionWaiters = [];
    for (const wake of waiters) wake();
  }
}
