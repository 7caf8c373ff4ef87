// The dispatcher: the manager side of every worker's session, as swarmkit's manager/dispatcher.
// It owns the worker sessions (authenticated by the caller's certificate), the heartbeat timers
// that mark silent nodes DOWN, one assignments stream per session fed by the store's changes, the
// batched intake of task status reports, and the log broker. It writes through the store, so it
// runs on the leader only: the manager calls start() on gaining leadership and stop() on losing it,
// and while stopped every call fails with UNAVAILABLE naming the leader (trailing metadata
// "orch-leader-addr"), which is how agents find it. It never decides where tasks run or what
// happens to the tasks of a down node (the scheduler and orchestrator do).
import { randomUUID } from 'node:crypto';
import type * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { HeartbeatResponse } from '../../api/gen/types/orch/dispatcher/HeartbeatResponse';
import type { PublishLogsResponse } from '../../api/gen/types/orch/dispatcher/PublishLogsResponse';
import type { SessionRequest__Output } from '../../api/gen/types/orch/dispatcher/SessionRequest';
import type { UpdateTaskStatusRequest__Output } from '../../api/gen/types/orch/dispatcher/UpdateTaskStatusRequest';
import type { UpdateTaskStatusResponse } from '../../api/gen/types/orch/dispatcher/UpdateTaskStatusResponse';
import { silentLogger } from '../../common/logger';
import type { EndpointTable } from '../../mesh/endpoint-table';
import { StoreEndpointSource } from '../../mesh/store-endpoint-source';
import { NetworkedServiceTable } from '../../network/networked-service-table';
import type { MemoryStore, StoreEventOf } from '../../store';
import type { NodeIdentity } from '../ca/node-identity';
import { type AuthenticatedCall, peerIdentity } from '../ca/peer-identity';
import { AssignmentStreams, type AssignmentsCall } from './assignment-streams';
import {
  DispatcherNotLeaderError,
  grpcStatusOf,
  HeartbeatExpiredError,
  NodeUnauthenticatedError,
  SessionInvalidError,
} from './dispatcher-errors';
import type {
  DispatcherHandlers,
  LogSubscription,
  ManagerPeer,
  PublishLogsMessage__Output,
  SessionMessage,
} from './dispatcher-grpc';
import { EndpointStreams, type EndpointsCall } from './endpoint-streams';
import { HeartbeatMonitor } from './heartbeat-monitor';
import {
  LogBroker,
  type LogRequestOptions,
  type LogSelector,
  type LogSource,
  type TaskLogMessage,
} from './log-broker';
import { hostOfPeer, managersFromStore, markNodeDown, registerNode } from './node-registry';
import { TaskStatusBatcher } from './task-status-batcher';

/** Swarm's default heartbeat period. */
export const DEFAULT_HEARTBEAT_PERIOD_MS = 5_000;

export interface DispatcherOptions {
  store: MemoryStore;
  logger?: Logger;
  /**
   * Who is calling. Default: the verified peer certificate (peerIdentity). Tests over insecure
   * loopback inject another (see metadataIdentity); never do that on a real server.
   */
  identify?: (call: AuthenticatedCall & { metadata: grpc.Metadata }) => NodeIdentity | undefined;
  /** Heartbeat period when the Cluster object does not set one (default 5 s). */
  heartbeatPeriodMs?: number;
  /** Missed periods before a node is marked down (default 3). */
  heartbeatGracePeriods?: number;
  /** How long task status reports are collected before one batch write (default 10 ms). */
  statusBatchDelayMs?: number;
  /** The leader's address, for the UNAVAILABLE answer a stopped dispatcher gives. */
  leaderAddr?: () => string | undefined;
  /** The managers agents may fail over to; default: manager nodes in the store with an address. */
  managers?: () => ManagerPeer[];
  /** Clock for lastHeartbeatMs (default Date.now). */
  now?: () => number;
  /**
   * The endpoint table the Endpoints streams follow, kept current by the caller from this store
   * (the node daemon's own, so the leader computes it once). Default: the dispatcher keeps its own
   * from the store while it runs.
   */
  endpointTable?: EndpointTable;
  /**
   * The networked services (VIPs, aliases, VIP ports, backends) the Endpoints streams carry too,
   * kept current by the caller from this store (a StoreEndpointSource with `networked`). Default:
   * the dispatcher keeps them from the store while it runs, with the same source as the endpoint
   * table when it keeps that one too.
   */
  networkedServices?: NetworkedServiceTable;
}

interface WorkerSession {
  readonly id: string;
  readonly nodeId: string;
  readonly call: grpc.ServerWritableStream<SessionRequest__Output, SessionMessage>;
}

export interface DispatcherStats {
  running: boolean;
  sessions: number;
  assignmentStreams: number;
  endpointStreams: number;
  watchedNodes: number;
  statusReportsWritten: number;
  statusReportsRefused: number;
  statusTransactions: number;
  /** Sessions opened and nodes expired since start. */
  sessionsOpened: number;
  nodesExpired: number;
  /** UpdateTaskStatus calls served. */
  statusCalls: number;
}

type CallWithMetadata = AuthenticatedCall & { metadata: grpc.Metadata };

export class Dispatcher implements LogSource {
  private readonly store: MemoryStore;
  private readonly logger: Logger;
  private readonly identify: (call: CallWithMetadata) => NodeIdentity | undefined;
  private readonly now: () => number;
  private readonly sessionsByNode = new Map<string, WorkerSession>();
  private readonly sessionsById = new Map<string, WorkerSession>();
  private readonly broker: LogBroker;
  private monitor: HeartbeatMonitor | undefined;
  private batcher: TaskStatusBatcher | undefined;
  private subscription: { close(): void } | undefined;
  private streams: AssignmentStreams | undefined;
  private endpointSource: StoreEndpointSource | undefined;
  private endpointStreams: EndpointStreams | undefined;
  private managersFlushScheduled = false;
  private managersDirty = false;
  private managersCache: ManagerPeer[] | undefined;
  /** The managers as last announced to the sessions. */
  private announcedManagers: ManagerPeer[] | undefined;
  private readonly counters = { sessionsOpened: 0, nodesExpired: 0, statusCalls: 0 };

  constructor(private readonly options: DispatcherOptions) {
    this.store = options.store;
    this.logger = (options.logger ?? silentLogger()).child({ module: 'dispatcher' });
    this.identify = options.identify ?? peerIdentity;
    this.now = options.now ?? Date.now;
    this.broker = new LogBroker(
      this.store,
      (nodeId, sub) => this.sendLogSubscription(nodeId, sub),
      this.logger,
    );
  }

  get running(): boolean {
    return this.monitor !== undefined;
  }

  /**
   * Starts serving (on gaining leadership). Every node the store has READY gets one grace period to
   * open a session with this dispatcher before it is marked down, as after a leader change.
   */
  start(): void {
    if (this.running) return;
    const monitor = new HeartbeatMonitor({
      gracePeriods: this.options.heartbeatGracePeriods,
      onExpired: (nodeId) => this.nodeExpired(nodeId),
    });
    this.monitor = monitor;
    this.streams = new AssignmentStreams(this.store, this.logger);
    // What the Endpoints streams carry, computed once from the store whoever keeps it.
    let table = this.options.endpointTable;
    let networked = this.options.networkedServices;
    if (table === undefined || networked === undefined) {
      this.endpointSource = new StoreEndpointSource({
        store: this.store,
        logger: this.logger,
        ingress: table === undefined,
        networked: networked === undefined ? new NetworkedServiceTable() : undefined,
      });
      this.endpointSource.start();
      table ??= this.endpointSource.table;
      networked ??= this.endpointSource.networked;
    }
    this.endpointStreams = new EndpointStreams(table, this.logger, networked);
    this.batcher = new TaskStatusBatcher({
      store: this.store,
      logger: this.logger,
      delayMs: this.options.statusBatchDelayMs,
    });
    this.subscription = this.store.subscribe((event) => this.onStoreEvent(event), {
      tables: ['tasks', 'nodes', 'secrets', 'configs'],
      commits: true,
    });
    const period = this.heartbeatPeriodMs();
    const ready = this.store.view((tx) => tx.nodes.filter((n) => n.status?.state === 'NODE_STATE_READY'));
    for (const node of ready) monitor.beat(node.meta!.id, period);
    this.logger.info({ readyNodes: ready.length, heartbeatPeriodMs: period }, 'dispatcher started');
  }

  /** Stops serving (leadership lost, or shutdown): ends every session, telling agents where the leader is. */
  stop(): void {
    if (!this.running) return;
    this.monitor?.close();
    this.monitor = undefined;
    this.batcher?.close();
    this.batcher = undefined;
    this.subscription?.close();
    this.subscription = undefined;
    const reason = this.notLeader();
    for (const session of [...this.sessionsById.values()]) this.endSession(session, reason);
    this.streams?.close();
    this.streams = undefined;
    this.endpointStreams?.close();
    this.endpointStreams = undefined;
    this.endpointSource?.close();
    this.endpointSource = undefined;
    this.broker.close();
    this.logger.info('dispatcher stopped');
  }

  /** Same as stop(): releases timers, subscriptions and open calls. */
  close(): void {
    this.stop();
  }

  /** Logs of tasks on any connected node: what the Control API's `service logs` reads. */
  logs(selector: LogSelector, options?: LogRequestOptions): AsyncIterable<TaskLogMessage> {
    return this.broker.logs(selector, options);
  }

  stats(): DispatcherStats {
    return {
      running: this.running,
      sessions: this.sessionsById.size,
      assignmentStreams: this.streams?.size ?? 0,
      endpointStreams: this.endpointStreams?.size ?? 0,
      watchedNodes: this.monitor?.size ?? 0,
      statusReportsWritten: this.batcher?.counters.written ?? 0,
      statusReportsRefused: this.batcher?.counters.refused ?? 0,
      statusTransactions: this.batcher?.counters.transactions ?? 0,
      ...this.counters,
    };
  }

  /** The gRPC handlers to mount with dispatcherServiceDefinition(). */
  handlers(): DispatcherHandlers {
    return {
      Session: (call) => this.handleSession(call),
      Heartbeat: (call, callback) => {
        try {
          const session = this.sessionOf(call, call.request);
          const periodMs = this.heartbeatPeriodMs();
          this.monitor!.beat(session.nodeId, periodMs);
          callback(null, { periodMs } satisfies HeartbeatResponse);
        } catch (err) {
          callback(grpcStatusOf(err));
        }
      },
      Assignments: (call) => this.handleAssignments(call),
      UpdateTaskStatus: (call, callback) => {
        this.handleStatus(call).then(
          (response) => callback(null, response),
          (err) => callback(grpcStatusOf(err)),
        );
      },
      PublishLogs: (call, callback) => this.handlePublishLogs(call, callback),
      Endpoints: (call) => this.handleEndpoints(call),
    };
  }

  // --- sessions -------------------------------------------------------------------------------

  private handleSession(call: grpc.ServerWritableStream<SessionRequest__Output, SessionMessage>): void {
    const fail = (err: unknown) => {
      if (!call.cancelled) call.emit('error', grpcStatusOf(err));
    };
    if (!this.running) {
      fail(this.notLeader());
      return;
    }
    const identity = this.identify(call);
    if (identity === undefined) {
      fail(new NodeUnauthenticatedError());
      return;
    }
    const nodeId = identity.nodeId;
    const addr = call.request.addr || hostOfPeer(call.getPeer());
    registerNode(this.store, {
      nodeId,
      role: identity.role,
      description: call.request.description,
      addr,
      nowMs: this.now(),
    }).then(
      () => {
        if (call.cancelled) return;
        if (!this.running) {
          fail(this.notLeader());
          return;
        }
        const previous = this.sessionsByNode.get(nodeId);
        if (previous !== undefined) this.endSession(previous, new SessionInvalidError(previous.id));
        const session: WorkerSession = { id: randomUUID(), nodeId, call };
        this.sessionsByNode.set(nodeId, session);
        this.sessionsById.set(session.id, session);
        this.monitor!.beat(nodeId, this.heartbeatPeriodMs());
        call.on('cancelled', () => this.forgetSession(session));
        call.on('error', () => this.forgetSession(session));
        call.write(this.sessionMessage(session, []));
        this.counters.sessionsOpened++;
        this.logger.info({ node: nodeId, session: session.id, addr }, 'session opened');
      },
      (err) => {
        this.logger.warn({ node: nodeId, err }, 'registering the node failed');
        fail(err);
      },
    );
  }

  private sessionMessage(session: WorkerSession, logSubscriptions: LogSubscription[]): SessionMessage {
    return {
      sessionId: session.id,
      nodeId: session.nodeId,
      managers: this.managers(),
      heartbeatPeriodMs: this.heartbeatPeriodMs(),
      logSubscriptions,
    };
  }

  /** The session a call names, checked against the caller: a node cannot use another's session. */
  private sessionOf(call: CallWithMetadata, request: { sessionId: string }): WorkerSession {
    if (!this.running) throw this.notLeader();
    const identity = this.identify(call);
    if (identity === undefined) throw new NodeUnauthenticatedError();
    const session = this.sessionsById.get(request.sessionId);
    if (session === undefined || session.nodeId !== identity.nodeId)
      throw new SessionInvalidError(request.sessionId);
    return session;
  }

  /** Ends a session's calls with `reason` and forgets it. */
  private endSession(session: WorkerSession, reason: Error): void {
    const endpoints = this.endpointStreams?.callOf(session.nodeId);
    this.endpointStreams?.detach(session.nodeId);
    this.forgetSession(session);
    const status = grpcStatusOf(reason);
    const assignments = this.streams?.callOf(session.nodeId);
    this.streams?.detach(session.nodeId);
    for (const call of [assignments, endpoints, session.call]) {
      if (call !== undefined && !call.cancelled && call.writable) call.emit('error', status);
    }
  }

  private forgetSession(session: WorkerSession): void {
    if (this.sessionsById.get(session.id) !== session) return;
    this.sessionsById.delete(session.id);
    if (this.sessionsByNode.get(session.nodeId) === session) this.sessionsByNode.delete(session.nodeId);
    this.streams?.detach(session.nodeId);
    // The agent cancels its assignments call itself; the node's endpoints feed is a separate client
    // that only learns of the session's end from its stream ending.
    const endpoints = this.endpointStreams?.callOf(session.nodeId);
    this.endpointStreams?.detach(session.nodeId);
    if (endpoints !== undefined && !endpoints.cancelled && endpoints.writable)
      endpoints.emit('error', grpcStatusOf(new SessionInvalidError(session.id)));
    this.broker.sessionEnded(session.nodeId);
    this.logger.info({ node: session.nodeId, session: session.id }, 'session closed');
  }

  private nodeExpired(nodeId: string): void {
    this.counters.nodesExpired++;
    const session = this.sessionsByNode.get(nodeId);
    if (session !== undefined) this.endSession(session, new HeartbeatExpiredError(nodeId));
    this.logger.warn({ node: nodeId }, 'heartbeat expired: marking the node down');
    markNodeDown(this.store, nodeId, 'heartbeat failure').catch((err) => {
      this.logger.error({ node: nodeId, err }, 'marking the node down failed');
    });
  }

  private heartbeatPeriodMs(): number {
    const fromCluster = this.store.view(
      (tx) => tx.clusters.getByName('default')?.spec?.dispatcher?.heartbeatPeriodMs ?? 0,
    );
    return fromCluster > 0 ? fromCluster : (this.options.heartbeatPeriodMs ?? DEFAULT_HEARTBEAT_PERIOD_MS);
  }

  private managers(): ManagerPeer[] {
    this.managersCache ??= this.options.managers?.() ?? managersFromStore(this.store);
    return this.managersCache;
  }

  private notLeader(): DispatcherNotLeaderError {
    return new DispatcherNotLeaderError(this.options.leaderAddr?.());
  }

  // --- assignments ----------------------------------------------------------------------------

  private handleAssignments(call: AssignmentsCall): void {
    this.openSessionStream(call, (nodeId) => this.streams!.open(nodeId, call));
  }

  /**
   * Opens a per-node stream of the caller's session (refused without a valid one); the stream it
   * replaces, the node's previous one, ends with the session-invalid error.
   */
  private openSessionStream<C extends AssignmentsCall | EndpointsCall>(
    call: C,
    open: (nodeId: string) => C | undefined,
  ): void {
    let session: WorkerSession;
    try {
      session = this.sessionOf(call, call.request);
    } catch (err) {
      call.emit('error', grpcStatusOf(err));
      return;
    }
    const replaced = open(session.nodeId);
    if (replaced !== undefined && !replaced.cancelled)
      replaced.emit('error', grpcStatusOf(new SessionInvalidError(session.id)));
  }

  // --- endpoints ------------------------------------------------------------------------------

  /** The routing mesh's endpoint table for a worker: complete, then every change. */
  private handleEndpoints(call: EndpointsCall): void {
    this.openSessionStream(call, (nodeId) => this.endpointStreams!.open(nodeId, call));
  }

  private onStoreEvent(event: StoreEventOf<'tasks' | 'nodes' | 'secrets' | 'configs'>): void {
    const streams = this.streams;
    if (streams === undefined) return;
    switch (event.type) {
      case 'commit':
        streams.committed();
        if (this.managersDirty) this.scheduleManagersAnnouncement();
        return;
      case 'restored':
        streams.resync();
        this.managersDirty = true;
        this.scheduleManagersAnnouncement();
        return;
    }
    switch (event.table) {
      case 'tasks':
        streams.taskChanged(event);
        return;
      case 'secrets':
      case 'configs':
        streams.fileChanged(event);
        return;
      case 'nodes': {
        const node = event.object;
        if (node.role === 'NODE_ROLE_MANAGER' || event.old?.role === 'NODE_ROLE_MANAGER') {
          if (this.managersCache !== undefined) this.announcedManagers = this.managersCache;
          this.managersCache = undefined;
          this.managersDirty = true;
        }
        if (event.type === 'delete') {
          // Removed from the cluster: no session, no heartbeat timer.
          const session = this.sessionsByNode.get(node.meta!.id);
          if (session) this.endSession(session, new SessionInvalidError(session.id));
          this.monitor?.forget(node.meta!.id);
        }
        return;
      }
    }
  }

  /** Tells every session the new managers, if what agents care about (addresses, leader) changed. */
  private scheduleManagersAnnouncement(): void {
    if (this.managersFlushScheduled) return;
    this.managersFlushScheduled = true;
    setImmediate(() => {
      this.managersFlushScheduled = false;
      if (!this.running || !this.managersDirty) return;
      this.managersDirty = false;
      const before = JSON.stringify(this.managersCache ?? this.announcedManagers);
      this.managersCache = undefined;
      const after = JSON.stringify(this.managers());
      this.announcedManagers = this.managersCache;
      if (before === after) return;
      for (const session of this.sessionsById.values()) session.call.write(this.sessionMessage(session, []));
    });
  }

  // --- task status ----------------------------------------------------------------------------

  private async handleStatus(
    call: grpc.ServerUnaryCall<UpdateTaskStatusRequest__Output, UpdateTaskStatusResponse>,
  ): Promise<UpdateTaskStatusResponse> {
    const session = this.sessionOf(call, call.request);
    this.counters.statusCalls++;
    const reports = call.request.updates
      .filter((u) => u.status !== null && u.taskId !== '')
      .map((u) => ({ taskId: u.taskId, status: u.status! }));
    const accepted = await this.batcher!.submit(session.nodeId, reports);
    return { accepted };
  }

  // --- logs -----------------------------------------------------------------------------------

  private sendLogSubscription(nodeId: string, subscription: LogSubscription): boolean {
    const session = this.sessionsByNode.get(nodeId);
    if (session === undefined || session.call.cancelled) return false;
    session.call.write(this.sessionMessage(session, [subscription]));
    return true;
  }

  private handlePublishLogs(
    call: grpc.ServerReadableStream<PublishLogsMessage__Output, PublishLogsResponse>,
    callback: grpc.sendUnaryData<PublishLogsResponse>,
  ): void {
    const flow = { pause: () => call.pause(), resume: () => call.resume() };
    let failed = false;
    call.on('data', (message: PublishLogsMessage__Output) => {
      if (failed) return;
      let session: WorkerSession;
      try {
        session = this.sessionOf(call, message);
      } catch (err) {
        failed = true;
        callback(grpcStatusOf(err));
        return;
      }
      if (message.messages.length > 0)
        this.broker.publish(session.nodeId, message.subscriptionId, message.messages, flow);
      if (message.close)
        this.broker.nodeClosed(session.nodeId, message.subscriptionId, message.error || undefined);
    });
    call.on('end', () => {
      if (!failed) callback(null, {});
    });
    call.on('error', () => {
      failed = true;
    });
  }
}
