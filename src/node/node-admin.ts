// The node's local admin socket (<data-dir>/orch.sock, mode 0600): how `orch info`, `orch
// join-token`, `orch leave` and the CLI's wait-for-ready reach the running daemon. Whoever can open
// the socket controls the node, exactly like Docker's socket; the file mode is the access check.
// The Control API (when present) is served on the same socket by the same server. The service is
// orch.node.Admin (proto/orch/node.proto); this module converts between its messages and the
// reports the daemon and the CLI work with.
import { dirname } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import type {
  AdminClient as AdminGrpcClient,
  AdminHandlers as AdminGrpcHandlers,
} from '../api/gen/types/orch/node/Admin';
import type { JoinTokenResponse__Output } from '../api/gen/types/orch/node/JoinTokenResponse';
import type { NodeInfo, NodeInfo__Output } from '../api/gen/types/orch/node/NodeInfo';
import type { NodeStatus, NodeStatus__Output } from '../api/gen/types/orch/node/NodeStatus';
import { protos } from '../api/grpc';
import { roleFromWire, roleToWire } from '../manager/ca/node-identity';
import { callUnary, RemoteCallError, unaryHandler } from '../manager/manager-json-rpc';

export type { AdminGrpcClient, AdminGrpcHandlers };

/** Full gRPC name of the service. */
export const ADMIN_SERVICE_NAME = 'orch.node.Admin';

/** The service definition (generated from proto/), for declaring it on a server. */
export const ADMIN_SERVICE: grpc.ServiceDefinition = protos().orch.node.Admin.service;

export interface NodeStatusReport {
  nodeId: string;
  clusterId: string;
  role: 'manager' | 'worker';
  /** 'starting' until a manager knows its leader and has the cluster; then 'ready'. */
  state: 'starting' | 'ready';
  isLeader: boolean;
  leaderId: string;
  /** This manager's place in Raft. */
  raftMembership: 'voter' | 'learner' | 'none';
  pid: number;
}

export interface NodeInfoReport extends NodeStatusReport {
  listenAddr: string;
  advertiseAddr: string;
  dataDir: string;
  /** How the daemon runs: its executor, routing mesh and metrics endpoint. */
  executor: string;
  meshAddr: string;
  meshLb: string;
  /** host:port of /metrics; empty when not served. */
  metricsAddr: string;
  /** Published services the node's mesh serves now. */
  meshServices: number;
  /** Processes serving the mesh's TCP ports (`--mesh-workers`); 0: the daemon itself. */
  meshWorkers: number;
  /** The kernel fast path (`--mesh-fast-path`): `on`, `off` or `unavailable: <why>`. */
  meshFastPath: string;
  /** Present on managers. */
  cluster?: {
    leaderAddr: string;
    managers: number;
    reachableManagers: number;
    nodes: number;
    tasks: number;
    raftTerm: number;
  };
}

export interface JoinTokenRequest {
  role: 'worker' | 'manager';
  rotate: boolean;
}

export interface LeaveRequest {
  force: boolean;
}

export interface AdminHandlers {
  status(): Promise<NodeStatusReport>;
  info(): Promise<NodeInfoReport>;
  joinToken(request: JoinTokenRequest): Promise<{ token: string }>;
  /** Checks first; resolves when the node agreed to leave (it then shuts down). */
  leave(request: LeaveRequest): Promise<{ left: true }>;
}

/** Errors of these classes carry a message meant for the user. */
export class AdminRequestError extends Error {
  override name = 'AdminRequestError';
}

export function createAdminServiceImplementation(handlers: AdminHandlers): AdminGrpcHandlers {
  const codeOf = (err: Error): grpc.status =>
    err instanceof AdminRequestError ? grpc.status.FAILED_PRECONDITION : grpc.status.UNKNOWN;
  return {
    Status: unaryHandler(async () => statusToWire(await handlers.status()), codeOf),
    Info: unaryHandler(async () => infoToWire(await handlers.info()), codeOf),
    JoinToken: unaryHandler(
      (request) => handlers.joinToken({ role: roleFromWire(request.role), rotate: request.rotate }),
      codeOf,
    ),
    Leave: unaryHandler(async (request) => {
      await handlers.leave({ force: request.force });
      return {};
    }, codeOf),
  };
}

const READINESS_TO_WIRE = { starting: 'NODE_READINESS_STARTING', ready: 'NODE_READINESS_READY' } as const;
const MEMBERSHIP_TO_WIRE = {
  none: 'RAFT_MEMBERSHIP_NONE',
  voter: 'RAFT_MEMBERSHIP_VOTER',
  learner: 'RAFT_MEMBERSHIP_LEARNER',
} as const;

function statusToWire(report: NodeStatusReport): NodeStatus {
  return {
    nodeId: report.nodeId,
    clusterId: report.clusterId,
    role: roleToWire(report.role),
    state: READINESS_TO_WIRE[report.state],
    isLeader: report.isLeader,
    leaderId: report.leaderId,
    raftMembership: MEMBERSHIP_TO_WIRE[report.raftMembership],
    pid: report.pid,
  };
}

function statusFromWire(status: NodeStatus__Output | null): NodeStatusReport {
  return {
    nodeId: status?.nodeId ?? '',
    clusterId: status?.clusterId ?? '',
    role: roleFromWire(status?.role),
    state: status?.state === 'NODE_READINESS_READY' ? 'ready' : 'starting',
    isLeader: status?.isLeader ?? false,
    leaderId: status?.leaderId ?? '',
    raftMembership:
      status?.raftMembership === 'RAFT_MEMBERSHIP_VOTER'
        ? 'voter'
        : status?.raftMembership === 'RAFT_MEMBERSHIP_LEARNER'
          ? 'learner'
          : 'none',
    pid: status?.pid ?? 0,
  };
}

function infoToWire(report: NodeInfoReport): NodeInfo {
  return {
    status: statusToWire(report),
    listenAddr: report.listenAddr,
    advertiseAddr: report.advertiseAddr,
    dataDir: report.dataDir,
    cluster: report.cluster ?? null,
    executor: report.executor,
    meshAddr: report.meshAddr,
    meshLb: report.meshLb,
    metricsAddr: report.metricsAddr,
    meshServices: report.meshServices,
    meshWorkers: report.meshWorkers,
    meshFastPath: report.meshFastPath,
  };
}

function infoFromWire(info: NodeInfo__Output): NodeInfoReport {
  const report: NodeInfoReport = {
    ...statusFromWire(info.status),
    listenAddr: info.listenAddr,
    advertiseAddr: info.advertiseAddr,
    dataDir: info.dataDir,
    executor: info.executor,
    meshAddr: info.meshAddr,
    meshLb: info.meshLb,
    metricsAddr: info.metricsAddr,
    meshServices: info.meshServices,
    meshWorkers: info.meshWorkers,
    meshFastPath: info.meshFastPath,
  };
  if (info.cluster) {
    const { leaderAddr, managers, reachableManagers, nodes, tasks, raftTerm } = info.cluster;
    report.cluster = { leaderAddr, managers, reachableManagers, nodes, tasks, raftTerm };
  }
  return report;
}

/** No daemon answers on the socket. */
export class DaemonNotRunningError extends Error {
  override name = 'DaemonNotRunningError';
}

type CallOptions = { timeoutMs?: number; signal?: AbortSignal };

/** The CLI side of the admin socket. */
export class AdminClient {
  private readonly client: AdminGrpcClient;

  constructor(readonly socketPath: string) {
    const Admin = protos().orch.node.Admin;
    this.client = new Admin(`unix:${socketPath}`, grpc.credentials.createInsecure());
  }

  private async call<T>(
    start: (options: grpc.CallOptions, callback: grpc.requestCallback<T>) => grpc.ClientUnaryCall,
    options: CallOptions,
  ): Promise<T> {
    try {
      return await callUnary(start, options);
    } catch (err) {
      if (err instanceof RemoteCallError && err.code === grpc.status.UNAVAILABLE) {
        throw new DaemonNotRunningError(
          `no node is running with data dir ${dirname(this.socketPath)}: start one with 'orch init' or 'orch daemon'`,
          { cause: err },
        );
      }
      throw err;
    }
  }

  async status(options: CallOptions = {}): Promise<NodeStatusReport> {
    return statusFromWire(await this.call((o, cb) => this.client.status({}, o, cb), options));
  }

  async info(options: { timeoutMs?: number } = {}): Promise<NodeInfoReport> {
    return infoFromWire(await this.call((o, cb) => this.client.info({}, o, cb), options));
  }

  async joinToken(
    request: JoinTokenRequest,
    options: { timeoutMs?: number } = {},
  ): Promise<{ token: string }> {
    const { token } = await this.call<JoinTokenResponse__Output>(
      (o, cb) => this.client.joinToken({ role: roleToWire(request.role), rotate: request.rotate }, o, cb),
      { timeoutMs: 15_000, ...options },
    );
    return { token };
  }

  async leave(request: LeaveRequest, options: { timeoutMs?: number } = {}): Promise<{ left: true }> {
    await this.call((o, cb) => this.client.leave({ force: request.force }, o, cb), {
      timeoutMs: 30_000,
      ...options,
    });
    return { left: true };
  }

  close(): void {
    this.client.close();
  }
}
