// The node daemon: one process per node and data dir. It serves the node's gRPC server (mutual
// TLS, authorization by certificate role) on its listen address, runs the Manager when the node is
// a manager, keeps its certificate renewed, answers the CLI on the local admin socket, and follows
// role changes: a demoted manager stops Raft and goes on as a worker; a node whose renewed
// certificate says "manager" starts Raft as a learner. Every node runs the routing mesh on its mesh
// address (fed by its store replica as a manager, by the dispatcher's Endpoints stream as a worker)
// and, with --metrics-addr, serves Prometheus metrics. It never binds an address it was not given.
import { chmod, mkdir, rm } from 'node:fs/promises';
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { Agent } from '../agent';
import { DockerExecutor, type Executor, HollowEngine, HollowExecutor } from '../agent/executor';
import {
  Authorizer,
  CertificateRenewer,
  createNodeChannelCredentials,
  createNodeServerCredentials,
  NODE_CHANNEL_OPTIONS,
  NodeCertificateProvider,
  type NodeTLSMaterial,
  type RevocationList,
  readNodeTLSMaterial,
  renewNodeCertificate,
  writeNodeTLSMaterial,
} from '../manager/ca';
import { Manager } from '../manager/manager';
import { hostOf } from '../mesh/mesh-endpoints';
import { autoMeshWorkers } from '../mesh/mesh-workers';
import { StoreEndpointSource } from '../mesh/store-endpoint-source';
import { NetworkedExecutor } from '../network';
import { type DataDirLayout, dataDirLayout } from './data-dir';
import { DispatcherEndpointFeed } from './dispatcher-endpoint-feed';
import {
  ADMIN_SERVICE,
  ADMIN_SERVICE_NAME,
  AdminRequestError,
  createAdminServiceImplementation,
  type JoinTokenRequest,
  type LeaveRequest,
  type NodeInfoReport,
  type NodeStatusReport,
} from './node-admin';
import { readBootstrap, removeBootstrap } from './node-bootstrap';
import {
  type AttachedManagerServices,
  attachManagerServices,
  declareLocalControl,
  declareManagerServices,
} from './node-manager-services';
import { NodeMesh } from './node-mesh';
import { NodeMetricsServer } from './node-metrics-server';
import { acquirePidFile, releasePidFile } from './node-pid-file';
import {
  createNodeRoleImplementation,
  NODE_ROLE_SERVICE,
  NODE_ROLE_SERVICE_NAME,
  notifyRoleChanged,
} from './node-role-service';
import { NodeServer } from './node-server';
import {
  type ExecutorKind,
  type NodeState,
  NodeStateError,
  readNodeState,
  writeNodeState,
} from './node-state';

export interface NodeDaemonOptions {
  dataDir: string;
  logger: Logger;
  /** The file the logger writes to, if any (mesh worker processes log there too). */
  logFile?: string;
}

const MANAGER_LIST_REFRESH_MS = 5000;

export class NodeDaemon {
  private manager: Manager | undefined;
  private managerServices: AttachedManagerServices | undefined;
  private agent: Agent | undefined;
  private executor: Executor | undefined;
  private managerStarting: Promise<void> | undefined;
  private renewer: CertificateRenewer | undefined;
  private readonly localServer: NodeServer;
  private refreshTimer: NodeJS.Timeout | undefined;
  /** The node's Prometheus registry (mesh metrics, process defaults). */
  readonly registry = new Registry();
  private metricsServer: NodeMetricsServer | undefined;
  private nodeMesh: NodeMesh | undefined;
  /** The endpoint table of the manager's store, while the node is a manager. */
  private managerEndpoints: StoreEndpointSource | undefined;
  /** A worker's endpoint table, from the dispatcher's Endpoints stream. */
  private workerEndpoints: DispatcherEndpointFeed | undefined;
  private closing: Promise<void> | undefined;
  private left = false;
  private resolveDone!: () => void;
  /** Resolves once the daemon has stopped (close(), or after `orch leave`). */
  readonly done = new Promise<void>((resolve) => {
    this.resolveDone = resolve;
  });

  private constructor(
    private readonly layout: DataDirLayout,
    private state: NodeState,
    private readonly certificates: NodeCertificateProvider,
    private readonly server: NodeServer,
    private readonly logger: Logger,
    private readonly logFile: string | undefined,
  ) {
    this.localServer = new NodeServer(logger);
  }

  static async start(options: NodeDaemonOptions): Promise<NodeDaemon> {
    const layout = dataDirLayout(options.dataDir);
    await mkdir(layout.root, { recursive: true, mode: 0o700 });
    const state = await readNodeState(layout.nodeStateFile);
    if (!state) {
      throw new NodeStateError(
        `${layout.root} holds no node; run 'orch init' or 'orch join' with this data dir first`,
      );
    }
    const material = await readNodeTLSMaterial(layout.certificatesDir);
    if (!material) {
      throw new NodeStateError(
        `${layout.certificatesDir} holds no node certificate; the data dir is damaged`,
      );
    }
    await acquirePidFile(layout.pidFile, layout.root);
    const logger = options.logger.child({ node: state.nodeId });
    const certificates = new NodeCertificateProvider(material);
    const server = new NodeServer(logger);
    const daemon = new NodeDaemon(layout, state, certificates, server, logger, options.logFile);
    try {
      await daemon.startServing();
      await daemon.startAdminSocket();
      await daemon.startMetricsAndMesh();
      if (state.role === 'manager') await daemon.startManager();
      daemon.startRenewer();
      daemon.startAgent();
      daemon.followEndpoints();
      daemon.refreshTimer = setInterval(() => void daemon.refreshManagerList(), MANAGER_LIST_REFRESH_MS);
      daemon.refreshTimer.unref();
      logger.info(
        {
          role: state.role,
          listen: state.listenAddr,
          meshAddr: daemon.meshAddress,
          executor: daemon.executorKind,
          metrics: daemon.metricsServer?.address,
          pid: process.pid,
        },
        'node daemon started',
      );
      return daemon;
    } catch (err) {
      await daemon.close();
      throw err;
    }
  }

  /** The routing mesh's address: `--mesh-addr`, else the advertise host. */
  get meshAddress(): string {
    return this.state.settings?.meshAddr ?? hostOf(this.state.advertiseAddr);
  }

  /** The executor the agent uses: `--executor` as kept at init/join/daemon, else ORCH_EXECUTOR, else docker. */
  get executorKind(): ExecutorKind {
    const kind = this.state.settings?.executor ?? process.env.ORCH_EXECUTOR ?? 'docker';
    if (kind !== 'docker' && kind !== 'hollow') {
      throw new NodeStateError(`ORCH_EXECUTOR=${kind} is not an executor: expected docker or hollow`);
    }
    return kind;
  }

  /** The metrics endpoint's bound address (host:port), when --metrics-addr is set. */
  get metricsAddress(): string | undefined {
    return this.metricsServer?.address;
  }

  /** The node's routing mesh. */
  get mesh(): NodeMesh | undefined {
    return this.nodeMesh;
  }

  private async startMetricsAndMesh(): Promise<void> {
    const settings = this.state.settings ?? {};
    collectDefaultMetrics({ register: this.registry });
    this.nodeMesh = await NodeMesh.start({
      nodeId: this.state.nodeId,
      meshAddress: this.meshAddress,
      lb: settings.meshLb ?? 'round-robin',
      fastPath: settings.meshFastPath ?? 'auto',
      workers:
        settings.meshWorkers === undefined || settings.meshWorkers === 'auto'
          ? autoMeshWorkers()
          : settings.meshWorkers,
      logFile: this.logFile,
      registry: this.registry,
      logger: this.logger,
    });
    if (settings.metricsAddr) {
      this.metricsServer = await NodeMetricsServer.start(settings.metricsAddr, this.registry, this.logger);
    }
  }

  /**
   * Points the mesh at the endpoint table this node's role calls for: a manager's is computed from
   * its own store replica (startManager), a worker follows the leader's dispatcher. Called again on
   * role changes; the table the node had stays in force until the new source delivers.
   */
  private followEndpoints(): void {
    // Orch networks follow the role too: the store replica on a manager (docs/networking.md).
    if (this.executor instanceof NetworkedExecutor && !this.closing)
      this.executor.followStore(this.manager?.store);
    const mesh = this.nodeMesh;
    if (!mesh || this.closing) return;
    if (this.managerEndpoints) {
      mesh.useTable(this.managerEndpoints.table);
      void this.workerEndpoints?.close();
      this.workerEndpoints = undefined;
      return;
    }
    if (this.workerEndpoints || !this.agent) return;
    const feed = new DispatcherEndpointFeed({
      agent: this.agent,
      credentials: () => createNodeChannelCredentials(this.certificates),
      channelOptions: NODE_CHANNEL_OPTIONS,
      logger: this.logger,
      // A worker's orch networks: names, VIPs and backends from the same stream.
      directory: this.executor instanceof NetworkedExecutor ? this.executor.fed : undefined,
    });
    feed.table.reset(mesh.lastTable?.list() ?? []);
    feed.start();
    this.workerEndpoints = feed;
    mesh.useTable(feed.table);
  }

  /** Revoked node IDs as the current manager knows them (workers enforce none: they serve no one). */
  private readonly revocations: RevocationList = {
    has: (nodeId) => this.manager?.revocations.has(nodeId) ?? false,
  };

  private async startServing(): Promise<void> {
    const authorizer = new Authorizer({
      clusterId: this.state.clusterId,
      revoked: this.revocations,
      logger: this.logger,
    });
    declareManagerServices(this.server);
    this.server.declare(NODE_ROLE_SERVICE_NAME, NODE_ROLE_SERVICE, 'the node is starting');
    this.server.implement(
      NODE_ROLE_SERVICE_NAME,
      createNodeRoleImplementation(async (role) => {
        if (this.closing || role === this.certificates.current.role) return;
        this.logger.info({ role }, 'the cluster changed this node role: renewing the certificate');
        await this.renewer?.desiredRoleChanged(role);
      }),
    );
    await this.server.listen(
      this.state.listenAddr,
      createNodeServerCredentials({ certificates: this.certificates, authorizer }),
    );
  }

  /** The local socket: the admin service and the Control API (a worker's refuses every call). */
  private async startAdminSocket(): Promise<void> {
    this.localServer.declare(ADMIN_SERVICE_NAME, ADMIN_SERVICE, 'the node is starting');
    this.localServer.implement(
      ADMIN_SERVICE_NAME,
      createAdminServiceImplementation({
        status: async () => this.status(),
        info: () => this.info(),
        joinToken: (request) => this.joinToken(request),
        leave: (request) => this.leave(request),
      }),
    );
    declareLocalControl(this.localServer);
    const socket = this.layout.controlSocket;
    await rm(socket, { force: true });
    await this.localServer.listen(`unix:${socket}`, grpc.ServerCredentials.createInsecure());
    await chmod(socket, 0o600);
  }

  private async startManager(): Promise<void> {
    const { state, layout } = this;
    const bootstrapObjects = state.initializedCluster ? await readBootstrap(layout.bootstrapFile) : undefined;
    const manager = await Manager.start({
      nodeId: state.nodeId,
      raftDir: layout.raftDir,
      nodeAddr: state.advertiseAddr,
      // Raft is served on the node's own server (one port; manager certificates only, as the
      // authorizer allows nothing else to call orch.raft.Raft).
      raftServer: this.server.grpcServer,
      certificates: this.certificates,
      channelCredentials: createNodeChannelCredentials(this.certificates, {
        serverRole: 'any',
        revoked: this.revocations,
      }),
      channelOptions: NODE_CHANNEL_OPTIONS,
      bootstrap: bootstrapObjects && {
        ...bootstrapObjects,
        onWritten: () => removeBootstrap(layout.bootstrapFile),
      },
      join: !state.initializedCluster,
      notifyRole: (client, role, signal) => notifyRoleChanged(client, role, { signal }),
      // Node liveness (Ready/Down) comes from the dispatcher's heartbeats.
      probeNodeLiveness: false,
      tickMs: state.raft.tickMs,
      electionTicks: state.raft.electionTicks,
      heartbeatTicks: state.raft.heartbeatTicks,
      logger: this.logger,
    });
    this.manager = manager;
    // The endpoint table of this store: the node's mesh and the workers' (through the dispatcher).
    const endpoints = new StoreEndpointSource({ store: manager.store, logger: this.logger });
    endpoints.start();
    this.managerEndpoints = endpoints;
    this.managerServices = attachManagerServices(
      manager,
      { node: this.server, local: this.localServer },
      this.logger,
      { endpointTable: endpoints.table },
    );
    manager.on('demoted', () => void this.becomeWorker());
    manager.on('fatal', () => void this.close());
  }

  /** The manager left Raft: stop it, drop its Raft data, renew the certificate as a worker. */
  private async becomeWorker(): Promise<void> {
    const manager = this.manager;
    if (!manager || this.closing) return;
    this.manager = undefined;
    this.managerServices?.detach();
    this.managerServices = undefined;
    await manager.stop({ transferLeadership: false });
    this.managerEndpoints?.close();
    this.managerEndpoints = undefined;
    this.followEndpoints();
    await rm(this.layout.raftDir, { recursive: true, force: true });
    this.state = { ...this.state, role: 'worker', initializedCluster: false };
    await writeNodeState(this.layout.nodeStateFile, this.state);
    this.logger.info('demoted: running as a worker');
    await this.renewer?.desiredRoleChanged('worker');
  }

  /** A renewed certificate carries a role: follow it (a promoted worker starts Raft as a learner). */
  private async certificateRoleChanged(material: NodeTLSMaterial): Promise<void> {
    if (this.closing || material.role === this.state.role) return;
    if (material.role === 'manager' && !this.manager) {
      this.state = { ...this.state, role: 'manager', initializedCluster: false };
      await writeNodeState(this.layout.nodeStateFile, this.state);
      this.logger.info('promoted: starting raft as a learner');
      this.managerStarting = this.startManager().catch((err) => {
        this.logger.error({ err }, 'could not start the manager after promotion');
      });
      await this.managerStarting;
      this.followEndpoints();
    }
  }

  /**
   * The agent runs this node's tasks (managers are workers too, as in Swarm) through the executor
   * `--executor` chose: `docker` (default, the real engine) or `hollow` (simulated containers). Ingress
   * ports are bound on the mesh address, which the node's description carries to the cluster.
   */
  private startAgent(): void {
    const kind = this.executorKind;
    const nodeId = this.state.nodeId;
    this.executor =
      kind === 'hollow'
        ? new HollowExecutor({ nodeId, engine: new HollowEngine(), logger: this.logger })
        : // Tasks on orch networks: engine networks, embedded DNS and VIPs (docs/networking.md).
          new NetworkedExecutor({
            inner: new DockerExecutor({ nodeId, logger: this.logger }),
            meshAddress: this.meshAddress,
            store: this.manager?.store,
            logger: this.logger,
          });
    this.agent = new Agent({
      executor: describingNode(this.executor, {
        meshAddr: this.meshAddress,
        hostname: this.state.settings?.hostname,
      }),
      ingressHostIp: this.meshAddress,
      managers: this.state.managers,
      credentials: () => createNodeChannelCredentials(this.certificates),
      clientOptions: NODE_CHANNEL_OPTIONS,
      addr: this.state.advertiseAddr,
      logger: this.logger,
      managerListFile: this.layout.managerListFile,
    });
    this.agent.start();
  }

  private startRenewer(): void {
    this.renewer = new CertificateRenewer({
      certificates: this.certificates,
      renew: (signal) =>
        renewNodeCertificate({
          managerAddr: this.pickManagerAddress(),
          certificates: this.certificates,
          advertiseAddr: this.state.advertiseAddr,
          signal,
        }),
      persist: async (material) => {
        await writeNodeTLSMaterial(this.layout.certificatesDir, material);
        setImmediate(() => void this.certificateRoleChanged(material));
      },
      logger: this.logger,
    });
    this.renewer.start();
  }

  /** A manager to talk to: the leader when this node knows it, else any known manager. */
  private pickManagerAddress(): string {
    const leader = this.manager?.leaderNodeAddress();
    if (leader) return leader;
    const others = this.state.managers.filter((a) => a !== this.state.advertiseAddr);
    return (
      others[Math.floor(Math.random() * others.length)] ?? this.state.managers[0] ?? this.state.advertiseAddr
    );
  }

  /**
   * Keeps node.json's manager list current, so renewals and a restart reach a manager that exists:
   * from Raft's members on a manager, from the agent's session (the dispatcher's list) on a worker.
   */
  private async refreshManagerList(): Promise<void> {
    if (this.closing) return;
    const raft = this.manager?.raft;
    const addresses = (
      raft
        ? [...raft.memberList().values()].map((m) => m.meta?.nodeAddr)
        : [...(this.agent?.managerAddresses ?? [])]
    ).filter((a): a is string => typeof a === 'string' && a !== '');
    const sorted = [...new Set(addresses)].sort();
    const managersChanged =
      sorted.length > 0 && sorted.join(',') !== [...this.state.managers].sort().join(',');
    const raftTiming = this.clusterRaftTiming();
    if (!managersChanged && raftTiming === undefined) return;
    this.state = {
      ...this.state,
      ...(managersChanged ? { managers: sorted } : {}),
      ...(raftTiming ? { raft: raftTiming } : {}),
    };
    if (raftTiming) {
      this.logger.info({ raft: raftTiming }, "adopting the cluster's raft timing from the next start");
    }
    await writeNodeState(this.layout.nodeStateFile, this.state).catch((err) =>
      this.logger.warn({ err }, 'could not save the node state'),
    );
  }

  /**
   * The cluster's Raft timing (`orch init --election-timeout`) when it differs from this node's: a
   * joining manager starts Raft before it has the store, so it adopts the cluster's from its next start.
   */
  private clusterRaftTiming(): NodeState['raft'] | undefined {
    const spec = this.manager?.store.view((tx) => tx.clusters.list()[0]?.spec?.raft);
    if (!spec?.electionTick || !spec.heartbeatTick) return undefined;
    const current = this.state.raft;
    if (current.electionTicks === spec.electionTick && current.heartbeatTicks === spec.heartbeatTick) {
      return undefined;
    }
    return { tickMs: current.tickMs, electionTicks: spec.electionTick, heartbeatTicks: spec.heartbeatTick };
  }

  /** The running Manager (undefined on a worker). */
  get currentManager(): Manager | undefined {
    return this.manager;
  }

  status(): NodeStatusReport {
    const manager = this.manager;
    const raft = manager?.raft;
    const raftStatus = raft?.status();
    const membership = !raftStatus
      ? 'none'
      : raftStatus.voters.includes(raftStatus.id)
        ? 'voter'
        : raftStatus.learners.includes(raftStatus.id)
          ? 'learner'
          : 'none';
    const ready = manager ? manager.hasCluster && (raftStatus?.leader ?? '') !== '' : true;
    return {
      nodeId: this.state.nodeId,
      clusterId: this.state.clusterId,
      role: manager ? 'manager' : 'worker',
      state: ready ? 'ready' : 'starting',
      isLeader: raft?.isLeader ?? false,
      leaderId: raftStatus?.leader ?? '',
      raftMembership: membership,
      pid: process.pid,
    };
  }

  async info(): Promise<NodeInfoReport> {
    const report: NodeInfoReport = {
      ...this.status(),
      listenAddr: this.state.listenAddr,
      advertiseAddr: this.state.advertiseAddr,
      dataDir: this.layout.root,
      executor: this.executorKind,
      meshAddr: this.meshAddress,
      meshLb: this.state.settings?.meshLb ?? 'round-robin',
      metricsAddr: this.metricsServer?.address ?? '',
      meshServices: this.nodeMesh?.status().length ?? 0,
      meshWorkers: this.nodeMesh?.workerCount ?? 0,
      meshFastPath: this.nodeMesh?.fastPathState ?? 'off',
    };
    const manager = this.manager;
    if (manager) {
      const info = manager.info();
      // Without a leader nobody keeps ManagerStatus current: ask the managers directly.
      const reachableManagers = info.leaderId
        ? info.reachableManagers
        : (await manager.probeVoters()).reachable;
      report.cluster = {
        leaderAddr: info.leaderAddr,
        managers: info.managers,
        reachableManagers,
        nodes: info.nodes,
        tasks: info.tasks,
        raftTerm: info.raftTerm,
      };
    }
    return report;
  }

  private async joinToken(request: JoinTokenRequest): Promise<{ token: string }> {
    const manager = this.manager;
    if (!manager) {
      throw new AdminRequestError('this node is not a manager; run join-token on a manager of the cluster');
    }
    if (request.role !== 'worker' && request.role !== 'manager') {
      throw new AdminRequestError(`unknown role ${JSON.stringify(request.role)}: expected worker or manager`);
    }
    const token = request.rotate
      ? await manager.ca.rotateJoinToken(request.role)
      : (await manager.ca.joinTokens())[request.role];
    return { token };
  }

  private async leave(request: LeaveRequest): Promise<{ left: true }> {
    const manager = this.manager;
    if (manager && !request.force) {
      const info = manager.info();
      const voters = info.voters.length;
      const quorum = Math.floor(voters / 2) + 1;
      if (voters <= 1) {
        throw new AdminRequestError(
          'this node is the last manager: leaving erases the cluster state; use --force to leave anyway',
        );
      }
      throw new AdminRequestError(
        `this node is a manager: demote it first (orch node demote ${this.state.nodeId}) or use --force; ` +
          `leaving without demotion leaves ${voters - 1} of ${voters} managers, and the cluster needs ${quorum} reachable to keep quorum`,
      );
    }
    this.left = true;
    setImmediate(() => void this.close());
    return { left: true };
  }

  /** Stops everything this daemon started; after `orch leave` it also erases the node's cluster state. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    clearInterval(this.refreshTimer);
    this.renewer?.close();
    await this.workerEndpoints?.close();
    this.workerEndpoints = undefined;
    await this.nodeMesh
      ?.close()
      .catch((err: unknown) => this.logger.warn({ err }, 'mesh did not stop cleanly'));
    await this.metricsServer?.close();
    await this.agent
      ?.close()
      .catch((err: unknown) => this.logger.warn({ err }, 'agent did not stop cleanly'));
    await this.executor
      ?.close()
      .catch((err: unknown) => this.logger.warn({ err }, 'executor did not close cleanly'));
    this.managerServices?.detach();
    await this.managerStarting;
    this.managerEndpoints?.close();
    this.managerEndpoints = undefined;
    const manager = this.manager;
    this.manager = undefined;
    try {
      await manager?.stop({ transferLeadership: !this.left });
    } catch (err) {
      this.logger.warn({ err }, 'manager did not stop cleanly');
    }
    await this.server.close();
    await this.localServer.close();
    await rm(this.layout.controlSocket, { force: true });
    if (this.left) {
      for (const path of [
        this.layout.nodeStateFile,
        this.layout.certificatesDir,
        this.layout.raftDir,
        this.layout.bootstrapFile,
        this.layout.managerListFile,
      ]) {
        await rm(path, { recursive: true, force: true });
      }
      this.logger.info('left the cluster: node state erased');
    }
    await releasePidFile(this.layout.pidFile);
    this.logger.info('node daemon stopped');
    this.resolveDone();
  }
}

/**
 * The executor with the node's own settings added to what it describes: the agent sends the
 * description when it opens a session, and the cluster learns where this node's tasks' ingress
 * ports are bound (NodeDescription.mesh_addr) and, with `--hostname`, the node's name (else the
 * engine's, i.e. the machine's: nodes sharing a machine would all show the same one).
 */
function describingNode(executor: Executor, own: { meshAddr: string; hostname?: string }): Executor {
  return {
    get nodeId() {
      return executor.nodeId;
    },
    describe: async (options) => ({
      ...(await executor.describe(options)),
      meshAddr: own.meshAddr,
      ...(own.hostname ? { hostname: own.hostname } : {}),
    }),
    controller: (task) => executor.controller(task),
    listTasks: (options) => executor.listTasks(options),
    removeTask: (taskId, options) => executor.removeTask(taskId, options),
    close: () => executor.close(),
  };
}
