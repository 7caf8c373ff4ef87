// The node's local admin socket (<data-dir>/orch.sock, mode 0600): how `orch info`, `orch
// join-token`, `orch leave` and the CLI's wait-for-ready reach the running daemon. Whoever can open
// the socket controls the node, exactly like Docker's socket; the file mode is the access check.
// The Control API (when present) is served on the same socket by the same server.
import { dirname } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import {
  callJson,
  type JsonHandler,
  jsonHandlers,
  jsonService,
  RemoteCallError,
} from '../manager/manager-json-rpc';

export const ADMIN_SERVICE_NAME = 'orch.node.Admin';
export const ADMIN_SERVICE = jsonService(ADMIN_SERVICE_NAME, ['Status', 'Info', 'JoinToken', 'Leave']);

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

export function createAdminServiceImplementation(handlers: AdminHandlers): grpc.UntypedServiceImplementation {
  const wrap =
    <T>(fn: (request: T) => Promise<unknown>): JsonHandler =>
    (request) =>
      fn(request as T);
  return jsonHandlers(
    {
      Status: wrap(() => handlers.status()),
      Info: wrap(() => handlers.info()),
      JoinToken: wrap((r: JoinTokenRequest) => handlers.joinToken(r)),
      Leave: wrap((r: LeaveRequest) => handlers.leave(r)),
    },
    (err) => (err instanceof AdminRequestError ? grpc.status.FAILED_PRECONDITION : grpc.status.UNKNOWN),
  );
}

/** No daemon answers on the socket. */
export class DaemonNotRunningError extends Error {
  override name = 'DaemonNotRunningError';
}

/** The CLI side of the admin socket. */
export class AdminClient {
  private readonly client: grpc.Client;

  constructor(readonly socketPath: string) {
    this.client = new grpc.Client(`unix:${socketPath}`, grpc.credentials.createInsecure());
  }

  private async call<T>(
    method: string,
    request: unknown,
    options: { timeoutMs?: number; signal?: AbortSignal },
  ): Promise<T> {
    try {
      return await callJson<T>(this.client, ADMIN_SERVICE, method, request, options);
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

  status(options: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<NodeStatusReport> {
    return this.call('Status', {}, options);
  }

  info(options: { timeoutMs?: number } = {}): Promise<NodeInfoReport> {
    return this.call('Info', {}, options);
  }

  joinToken(request: JoinTokenRequest, options: { timeoutMs?: number } = {}): Promise<{ token: string }> {
    return this.call('JoinToken', request, { timeoutMs: 15_000, ...options });
  }

  leave(request: LeaveRequest, options: { timeoutMs?: number } = {}): Promise<{ left: true }> {
    return this.call('Leave', request, { timeoutMs: 30_000, ...options });
  }

  close(): void {
    this.client.close();
  }
}
