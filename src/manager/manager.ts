// The Manager: one manager node's consensus and control plane, wired in one place.
//  - Raft (RaftNode) carries the replicated log; the MemoryStore applies its committed entries in
//    order and provides its snapshots; the store proposes through a ForwardingProposer, so writes
//    work on every manager (followers forward them to the leader).
//  - The cluster CA (CertificateAuthority) keeps its state in the store (StoreCAStore).
//  - Leadership starts and stops the leader-only loops (LeaderLoopRegistry): membership and status
//    here, and whatever other components register (orchestrators, scheduler, allocator, ...).
//    They start only after the leader barrier (leader-loop-barrier.ts): the store has applied
//    everything committed in earlier terms, so no loop acts on a stale view.
//  - Membership operations (promote, demote, remove) change Node objects; the membership loop on
//    the leader turns them into Raft changes.
// It never listens on a socket of its own: the node daemon serves its gRPC services (CA,
// forwarding, Control API) and Raft's on the node's server (Raft binds its own listener only when
// no server is given, as in tests).
import { EventEmitter } from 'node:events';
import type * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { type LeaderChange, RaftNode } from '../../raft/runtime';
import { type ClusterInput, MemoryStore, type NodeInput, type ReadTx } from '../store';
import {
  CertificateAuthority,
  createCAServiceHandlers,
  type NodeCertificateProvider,
  type RevocationList,
} from './ca';
import { awaitLeaderBarrier } from './leader-loop-barrier';
import { clusterOf, roleFromStore, StoreCAStore } from './manager-ca-store';
import { QuorumLostError } from './manager-errors';
import { createForwardingHandlers, ForwardingProposer } from './manager-forwarding';
import { type LeaderLoopFactory, LeaderLoopRegistry, untilAborted } from './manager-loops';
import { membershipLoop, statusLoop } from './manager-membership';
import {
  demoteNodeInStore,
  type MembershipContext,
  promoteNodeInStore,
  removeNodeFromStore,
} from './manager-node-operations';
import { ManagerPeers } from './manager-peers';

/** Raft timing: 100 ms ticks and 10 ticks without a leader's word start an election (~1-2 s). */
export const DEFAULT_TICK_MS = 100;
export const DEFAULT_ELECTION_TICKS = 10;
export const DEFAULT_HEARTBEAT_TICKS = 1;

export interface ManagerOptions {
  nodeId: string;
  /** LevelDB directory of the Raft log. */
  raftDir: string;
  /** host:port of this node's gRPC server, as other nodes reach it. */
  nodeAddr: string;
  /**
   * The node's gRPC server to serve Raft on (its credentials and authorization interceptor apply):
   * Raft is then reached at `nodeAddr`, the node's one port. Without it Raft's transport binds
   * `raftListenAddr` itself (tests, tools).
   */
  raftServer?: grpc.Server;
  /** host:port Raft's transport binds when there is no `raftServer`. */
  raftListenAddr?: string;
  /** host:port other managers reach Raft at. Default `nodeAddr`. */
  raftAdvertiseAddr?: string;
  certificates: NodeCertificateProvider;
  /** Server credentials for Raft's own listener (only without `raftServer`). */
  raftServerCredentials?: grpc.ServerCredentials;
  /** Client credentials to other managers (Raft and forwarding). */
  channelCredentials: grpc.ChannelCredentials;
  channelOptions?: grpc.ChannelOptions;
  /** The first start after `orch init`: the Cluster and first Node objects to write once leading. */
  bootstrap?: { cluster: ClusterInput; node: NodeInput; onWritten?: () => Promise<void> };
  /** Start as an empty member waiting to be added by the leader (a joining or promoted manager). */
  join?: boolean;
  tickMs?: number;
  electionTicks?: number;
  heartbeatTicks?: number;
  /** Tells a node (through a client to its server) that its desired role changed. */
  notifyRole?: (client: grpc.Client, role: 'manager' | 'worker', signal: AbortSignal) => Promise<void>;
  /** Mark node Ready/Down from a connection probe (until the dispatcher's heartbeats do). Default true. */
  probeNodeLiveness?: boolean;
  logger: Logger;
}

export interface ManagerInfo {
  clusterId: string;
  nodeId: string;
  leaderId: string;
  leaderAddr: string;
  isLeader: boolean;
  raftTerm: number;
  managers: number;
  reachableManagers: number;
  nodes: number;
  tasks: number;
  voters: string[];
  learners: string[];
}

interface ManagerEvents {
  /** This manager was demoted or removed: the node should go on as a worker (or stop). */
  demoted: [];
  /** Raft stopped on a fatal error (e.g. the disk failed). */
  fatal: [Error];
  'leader-change': [LeaderChange];
}

export class Manager extends EventEmitter<ManagerEvents> {
  readonly store: MemoryStore;
  readonly loops: LeaderLoopRegistry;
  private readonly logger: Logger;
  private readonly peers: ManagerPeers;
  private readonly caStore: StoreCAStore;
  readonly ca: CertificateAuthority;
  private raftNode: RaftNode | undefined;
  private stopped = false;
  private demotionWatch: NodeJS.Timeout | undefined;
  private leadership: Promise<void> = Promise.resolve();
  /** Aborts the wait for the leader barrier of a leadership that has since ended. */
  private leaderBarrier: AbortController | undefined;

  private constructor(private readonly options: ManagerOptions) {
    super();
    this.logger = options.logger.child({ module: 'manager', node: options.nodeId });
    this.peers = new ManagerPeers(options.channelCredentials, options.channelOptions ?? {});
    const electionMs =
      (options.tickMs ?? DEFAULT_TICK_MS) * (options.electionTicks ?? DEFAULT_ELECTION_TICKS);
    this.store = new MemoryStore({
      logger: this.logger,
      proposer: new ForwardingProposer({
        raft: () => this.raftNode,
        leaderNodeAddress: () => this.leaderNodeAddress(),
        clientFor: (addr) => this.peers.client(addr),
        noLeaderTimeoutMs: 3 * electionMs,
        quorumLost: () => this.quorumLostError(),
        logger: this.logger,
      }),
    });
    this.caStore = new StoreCAStore(this.store);
    this.ca = new CertificateAuthority({ store: this.caStore, logger: this.logger });
    this.loops = new LeaderLoopRegistry(this.logger);
  }

  /** Opens Raft (recovering from its data dir), then starts following or leading. */
  static async start(options: ManagerOptions): Promise<Manager> {
    const manager = new Manager(options);
    await manager.startRaft();
    return manager;
  }

  private async startRaft(): Promise<void> {
    const { options } = this;
    const raftAdvertiseAddr = options.raftAdvertiseAddr ?? options.nodeAddr;
    const raft = await RaftNode.start({
      id: options.nodeId,
      dataDir: options.raftDir,
      listen: options.raftListenAddr,
      server: options.raftServer,
      advertiseAddress: raftAdvertiseAddr,
      meta: { nodeAddr: options.nodeAddr },
      initialMembers: options.join ? undefined : { [options.nodeId]: raftAdvertiseAddr },
      join: options.join,
      stateMachine: {
        apply: (entries) => {
          for (const e of entries) this.store.applyCommitted(e.data, e.index);
        },
        snapshot: () => this.store.snapshot(),
        // The bootstrap snapshot of a brand-new cluster carries no store yet: nothing to restore.
        restore: (data) => {
          if (data.byteLength > 0) this.store.restore(data);
        },
      },
      logger: options.logger,
      tickMs: options.tickMs ?? DEFAULT_TICK_MS,
      electionTicks: options.electionTicks ?? DEFAULT_ELECTION_TICKS,
      heartbeatTicks: options.heartbeatTicks ?? DEFAULT_HEARTBEAT_TICKS,
      serverCredentials: options.raftServerCredentials,
      channelCredentials: options.channelCredentials,
      channelOptions: options.channelOptions,
    });
    this.raftNode = raft;
    this.registerBuiltInLoops(raft);
    raft.on('leader-change', (change) => {
      this.emit('leader-change', change);
      this.leaderBarrier?.abort(new Error('leadership changed'));
      this.leadership = this.leadership.then(() => this.onLeaderChange(raft, change));
    });
    raft.on('removed', () => this.emitDemoted('raft removed this member'));
    raft.on('fatal', (err) => {
      this.logger.error({ err }, 'raft stopped on a fatal error');
      this.emit('fatal', err);
    });
    // A single-voter cluster may already lead before the listener above was attached.
    if (raft.isLeader) {
      this.leadership = this.leadership.then(() =>
        this.onLeaderChange(raft, {
          leader: raft.id,
          term: raft.status().term,
          role: raft.status().role,
          leaderInfo: undefined,
        }),
      );
    }
    this.store.subscribe(() => this.checkOwnRole(), { tables: ['nodes'] });
  }

  private registerBuiltInLoops(raft: RaftNode): void {
    this.loops.register('bootstrap', () => ({ run: (signal) => this.bootstrapIfNeeded(signal) }));
    this.loops.register('membership', (ctx) =>
      membershipLoop({
        store: ctx.store,
        raft,
        logger: ctx.logger,
        notifyRole: this.options.notifyRole
          ? (addr, role, signal) => this.options.notifyRole!(this.peers.client(addr), role, signal)
          : undefined,
      }),
    );
    this.loops.register('status', (ctx) =>
      statusLoop({
        store: ctx.store,
        raft,
        logger: ctx.logger,
        probe: (addr, signal) => this.peers.probe(addr, signal),
        nodeLiveness: this.options.probeNodeLiveness !== false,
      }),
    );
  }

  /** Adds a leader-only loop (orchestrator, scheduler, allocator, dispatcher-side reapers...). */
  registerLeaderLoop(name: string, factory: LeaderLoopFactory): void {
    this.loops.register(name, factory);
  }

  private async onLeaderChange(raft: RaftNode, change: LeaderChange): Promise<void> {
    if (this.stopped) return;
    if (change.leader === raft.id && raft.isLeader) {
      this.logger.info({ term: change.term }, 'this manager leads');
      // The loops must not see a store that has not applied everything committed in earlier terms.
      const barrier = new AbortController();
      this.leaderBarrier = barrier;
      const ready = await awaitLeaderBarrier(raft, change.term, {
        signal: barrier.signal,
        logger: this.logger,
      });
      if (this.leaderBarrier === barrier) this.leaderBarrier = undefined;
      if (!ready || this.stopped) return;
      this.loops.start({ store: this.store, logger: this.logger, nodeId: raft.id, term: change.term });
    } else if (this.loops.active) {
      this.logger.info({ leader: change.leader, term: change.term }, 'this manager stopped leading');
      await this.loops.stop();
    }
  }

  /** Writes the Cluster and first Node objects after `orch init`, once. Then it is done. */
  private async bootstrapIfNeeded(signal: AbortSignal): Promise<void> {
    const bootstrap = this.options.bootstrap;
    if (bootstrap) {
      const written = this.store.view((tx) => clusterOf(tx) !== undefined);
      if (!written) {
        await this.store.update(
          (tx) => {
            if (clusterOf(tx)) return;
            tx.clusters.create(bootstrap.cluster);
            tx.nodes.create(bootstrap.node);
          },
          { signal },
        );
        this.logger.info('cluster created');
      }
      await bootstrap.onWritten?.();
      this.options.bootstrap = undefined;
    }
    // Nothing more to do while leading: wait for the end of leadership.
    await untilAborted(signal);
  }

  /** The local Raft member (undefined after stop()). */
  get raft(): RaftNode | undefined {
    return this.raftNode;
  }

  get nodeId(): string {
    return this.options.nodeId;
  }

  get isLeader(): boolean {
    return this.raftNode?.isLeader ?? false;
  }

  /** The credentials this manager calls other managers with (its manager certificate). */
  get peerCredentials(): grpc.ChannelCredentials {
    return this.options.channelCredentials;
  }

  /** The gRPC channel options for calls to other managers. */
  get peerChannelOptions(): grpc.ChannelOptions {
    return this.options.channelOptions ?? {};
  }

  /** True once the Cluster object is in this manager's store (it has caught up with init). */
  get hasCluster(): boolean {
    return this.store.view((tx) => clusterOf(tx) !== undefined);
  }

  /** Removed node IDs, live: for the authorization interceptor of the node's gRPC server. */
  get revocations(): RevocationList {
    return this.caStore.revocations;
  }

  /** The leader's node address (its gRPC server: Control API, forwarding), when a leader is known. */
  leaderNodeAddress(): string | undefined {
    const raft = this.raftNode;
    if (!raft) return undefined;
    const { id, info } = raft.leaderInfo();
    if (!id) return undefined;
    if (id === raft.id) return this.options.nodeAddr;
    return info?.meta?.nodeAddr || this.store.view((tx) => tx.nodes.get(id)?.status?.addr) || undefined;
  }

  /** The same, named for the Control API's forwarding hook. */
  leaderControlAddress(): string | undefined {
    return this.leaderNodeAddress();
  }

  /** gRPC handlers of orch.ca.CA backed by this manager's CA. */
  caServiceHandlers(): grpc.UntypedServiceImplementation {
    return createCAServiceHandlers(this.ca, this.logger) as unknown as grpc.UntypedServiceImplementation;
  }

  /** gRPC handlers of orch.manager.Forwarding (followers' proposals reaching this leader). */
  forwardingHandlers(): grpc.UntypedServiceImplementation {
    return createForwardingHandlers(() => this.raftNode);
  }

  /** Resolves once a leader is known and this store has the cluster (e.g. after a restart or a join). */
  async waitUntilReady(options: { signal?: AbortSignal } = {}): Promise<void> {
    const raft = this.raftNode;
    if (!raft) throw new Error('manager stopped');
    await raft.waitForLeader(options);
    while (!this.hasCluster) {
      options.signal?.throwIfAborted();
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 50);
        t.unref();
      });
    }
  }

  /** Cluster-wide facts for `orch info`, from this manager's replica. */
  info(): ManagerInfo {
    const raft = this.raftNode;
    const status = raft?.status();
    return this.store.view((tx: ReadTx) => {
      const managers = tx.nodes.list().filter((n) => n.managerStatus && n.role === 'NODE_ROLE_MANAGER');
      return {
        clusterId: clusterOf(tx)?.meta?.id ?? '',
        nodeId: this.options.nodeId,
        leaderId: status?.leader ?? '',
        leaderAddr: this.leaderNodeAddress() ?? '',
        isLeader: raft?.isLeader ?? false,
        raftTerm: status?.term ?? 0,
        managers: managers.length,
        reachableManagers: managers.filter((n) => n.managerStatus!.reachable).length,
        nodes: tx.nodes.count(),
        tasks: tx.tasks.count(),
        voters: status?.voters ?? [],
        learners: status?.learners ?? [],
      };
    });
  }

  private membershipContext(): MembershipContext {
    return { store: this.store, selfId: this.options.nodeId, logger: this.logger };
  }

  /** `orch node promote`: the node becomes a Raft learner, then a voter once caught up. */
  promoteNode(nodeId: string, options: { signal?: AbortSignal } = {}): Promise<void> {
    return promoteNodeInStore(this.membershipContext(), nodeId, options);
  }

  /** `orch node demote`: the node leaves the voters (refused if that would cost quorum) and stays a worker. */
  demoteNode(nodeId: string, options: { signal?: AbortSignal } = {}): Promise<void> {
    return demoteNodeInStore(this.membershipContext(), nodeId, options);
  }

  /** `orch node rm`: frees the node's Raft slot (if any) and revokes its certificate. */
  removeNode(nodeId: string, options: { force?: boolean; signal?: AbortSignal } = {}): Promise<void> {
    return removeNodeFromStore(this.membershipContext(), nodeId, options);
  }

  /** Probes every voter's node server now: how many answer (this one included) out of how many. */
  async probeVoters(): Promise<{ reachable: number; voters: number }> {
    const raft = this.raftNode;
    if (!raft) return { reachable: 0, voters: 0 };
    const members = raft.memberList();
    const voters = raft.status().voters;
    const results = await Promise.all(
      voters.map(async (id) => {
        if (id === raft.id) return true;
        const addr = members.get(id)?.meta?.nodeAddr;
        return addr ? this.peers.probe(addr) : false;
      }),
    );
    return { reachable: results.filter(Boolean).length, voters: voters.length };
  }

  /** The QuorumLostError a write fails with when no leader appears: how many voters do not answer. */
  private async quorumLostError(): Promise<Error> {
    const { reachable, voters } = await this.probeVoters();
    return new QuorumLostError(voters - reachable, voters);
  }

  /** A demoted manager learns it from its own Node object, then from leaving Raft's configuration. */
  private checkOwnRole(): void {
    if (this.stopped || this.demotionWatch) return;
    const self = this.store.view((tx) => tx.nodes.get(this.options.nodeId));
    const demoted = self !== undefined && roleFromStore(self.spec?.desiredRole ?? '') === 'worker';
    if (!demoted) return;
    const electionMs =
      (this.options.tickMs ?? DEFAULT_TICK_MS) * (this.options.electionTicks ?? DEFAULT_ELECTION_TICKS);
    let leaderlessSinceMs: number | undefined;
    this.demotionWatch = setInterval(() => {
      const raft = this.raftNode;
      if (!raft) return;
      const status = raft.status();
      if (!status.voters.includes(raft.id) && !status.learners.includes(raft.id)) {
        this.emitDemoted('no longer in the raft configuration');
        return;
      }
      // A removed member may never apply its own removal: no leader talks to it any more.
      if (status.leader === '' || status.leader === raft.id) {
        leaderlessSinceMs ??= Date.now();
        if (Date.now() - leaderlessSinceMs > 3 * electionMs && !raft.isLeader) {
          this.emitDemoted('demoted and no leader contacts this member any more');
        }
      } else leaderlessSinceMs = undefined;
    }, 250);
    this.demotionWatch.unref();
  }

  private emitDemoted(reason: string): void {
    if (this.stopped) return;
    clearInterval(this.demotionWatch);
    this.logger.info({ reason }, 'this manager was demoted');
    this.emit('demoted');
  }

  /** Stops the leader loops, Raft (handing leadership over when leading) and the store. */
  async stop(options: { transferLeadership?: boolean } = {}): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.demotionWatch);
    this.leaderBarrier?.abort(new Error('manager stopped'));
    await this.loops.stop();
    await this.leadership.catch(() => {});
    const raft = this.raftNode;
    this.raftNode = undefined;
    await raft?.stop({ transferLeadership: options.transferLeadership });
    this.caStore.close();
    this.store.close();
    this.peers.close();
  }
}
