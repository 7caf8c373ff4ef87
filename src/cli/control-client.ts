// The CLI's client of the Control API on the local node's Unix socket (`<data-dir>/orch.sock`).
// Every call is a promise with a deadline and an optional AbortSignal; a failure becomes a
// ControlCallError (a UserError: one line, no stack) carrying the gRPC code, with the server's own
// message, or a message saying no node runs on that data dir when nothing answers on the socket.
import { existsSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { type ControlClient, protos } from '../api';
import type { GetJoinTokensRequest } from '../api/gen/types/orch/control/GetJoinTokensRequest';
import type { Info__Output } from '../api/gen/types/orch/control/Info';
import type { JoinTokens__Output } from '../api/gen/types/orch/control/JoinTokens';
import type { ListNetworksRequest } from '../api/gen/types/orch/control/ListNetworksRequest';
import type { ListNodesRequest } from '../api/gen/types/orch/control/ListNodesRequest';
import type { ListServicesRequest } from '../api/gen/types/orch/control/ListServicesRequest';
import type { ListServicesResponse__Output } from '../api/gen/types/orch/control/ListServicesResponse';
import type { ListTasksRequest } from '../api/gen/types/orch/control/ListTasksRequest';
import type { LogMessage__Output } from '../api/gen/types/orch/control/LogMessage';
import type { ServiceLogsRequest } from '../api/gen/types/orch/control/ServiceLogsRequest';
import type { Network__Output } from '../api/gen/types/orch/objects/Network';
import type { NetworkSpec } from '../api/gen/types/orch/objects/NetworkSpec';
import type { Node__Output } from '../api/gen/types/orch/objects/Node';
import type { NodeSpec } from '../api/gen/types/orch/objects/NodeSpec';
import type { Service__Output } from '../api/gen/types/orch/objects/Service';
import type { ServiceSpec } from '../api/gen/types/orch/objects/ServiceSpec';
import type { Task__Output } from '../api/gen/types/orch/objects/Task';
import { dataDirLayout, resolveDataDir } from '../node/data-dir';
import { UserError } from './errors';

export const DEFAULT_CALL_TIMEOUT_MS = 30_000;
/**
 * Largest Control message either way. An unfiltered ListTasks of 50,000 tasks is ~23 MB, far past
 * grpc-js's 4 MiB default receive limit (the node's servers send up to the same bound).
 */
export const CONTROL_MAX_MESSAGE_BYTES = 256 * 1024 * 1024;
const ERROR_NAME_METADATA_KEY = 'orch-error';

/** A Control call that failed: `code` is the gRPC status, `errorName` the server's error class. */
export class ControlCallError extends UserError {
  override name = 'ControlCallError';
  constructor(
    message: string,
    readonly code: grpc.status,
    readonly errorName = '',
    options?: { cause?: unknown },
  ) {
    super(message, 1, options);
  }
}

export interface CallOptions {
  signal?: AbortSignal;
  /** Overrides the client's timeout for this call. */
  timeoutMs?: number;
}

export interface ReadOptions extends CallOptions {
  /** Read through the Raft quorum instead of the local manager's possibly lagging store. */
  linearizable?: boolean;
}

export interface ControlApiClientOptions {
  /** The node's data dir (flag, ORCH_DATA_DIR or the default): the socket is `<dir>/orch.sock`. */
  dataDir?: string;
  timeoutMs?: number;
}

export class ControlApiClient {
  readonly dataDir: string;
  readonly socketPath: string;
  private readonly client: ControlClient;
  private readonly timeoutMs: number;

  constructor(options: ControlApiClientOptions = {}) {
    this.dataDir = resolveDataDir(options.dataDir);
    this.socketPath = dataDirLayout(this.dataDir).controlSocket;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
    const { Control } = protos().orch.control;
    this.client = new Control(`unix:${this.socketPath}`, grpc.credentials.createInsecure(), {
      'grpc.max_receive_message_length': CONTROL_MAX_MESSAGE_BYTES,
      'grpc.max_send_message_length': CONTROL_MAX_MESSAGE_BYTES,
    });
  }

  close(): void {
    this.client.close();
  }

  getNode(nodeId: string, o: ReadOptions = {}): Promise<Node__Output> {
    return this.unary('getNode', { nodeId, linearizable: !!o.linearizable }, o);
  }
  async listNodes(request: ListNodesRequest = {}, o: CallOptions = {}): Promise<Node__Output[]> {
    return (await this.unary<{ nodes: Node__Output[] }>('listNodes', request, o)).nodes;
  }
  updateNode(nodeId: string, version: number, spec: NodeSpec, o: CallOptions = {}): Promise<Node__Output> {
    return this.unary('updateNode', { nodeId, version, spec }, o);
  }
  async removeNode(nodeId: string, force: boolean, o: CallOptions = {}): Promise<void> {
    await this.unary('removeNode', { nodeId, force }, o);
  }
  promoteNode(nodeId: string, o: CallOptions = {}): Promise<Node__Output> {
    return this.unary('promoteNode', { nodeId }, o);
  }
  demoteNode(nodeId: string, o: CallOptions = {}): Promise<Node__Output> {
    return this.unary('demoteNode', { nodeId }, o);
  }

  createService(spec: ServiceSpec, o: CallOptions = {}): Promise<Service__Output> {
    return this.unary('createService', { spec }, o);
  }
  getService(serviceId: string, o: ReadOptions = {}): Promise<Service__Output> {
    return this.unary('getService', { serviceId, linearizable: !!o.linearizable }, o);
  }
  listServices(
    request: ListServicesRequest = {},
    o: CallOptions = {},
  ): Promise<ListServicesResponse__Output> {
    return this.unary('listServices', request, o);
  }
  updateService(
    serviceId: string,
    version: number,
    spec: ServiceSpec,
    o: CallOptions = {},
  ): Promise<Service__Output> {
    return this.unary('updateService', { serviceId, version, spec }, o);
  }
  async removeService(serviceId: string, o: CallOptions = {}): Promise<void> {
    await this.unary('removeService', { serviceId }, o);
  }
  scaleService(serviceId: string, replicas: number, o: CallOptions = {}): Promise<Service__Output> {
    return this.unary('scaleService', { serviceId, replicas }, o);
  }

  async listTasks(request: ListTasksRequest = {}, o: CallOptions = {}): Promise<Task__Output[]> {
    return (await this.unary<{ tasks: Task__Output[] }>('listTasks', request, o)).tasks;
  }
  getTask(taskId: string, o: ReadOptions = {}): Promise<Task__Output> {
    return this.unary('getTask', { taskId, linearizable: !!o.linearizable }, o);
  }

  createNetwork(spec: NetworkSpec, o: CallOptions = {}): Promise<Network__Output> {
    return this.unary('createNetwork', { spec }, o);
  }
  getNetwork(networkId: string, o: ReadOptions = {}): Promise<Network__Output> {
    return this.unary('getNetwork', { networkId, linearizable: !!o.linearizable }, o);
  }
  async listNetworks(request: ListNetworksRequest = {}, o: CallOptions = {}): Promise<Network__Output[]> {
    return (await this.unary<{ networks: Network__Output[] }>('listNetworks', request, o)).networks;
  }
  async removeNetwork(networkId: string, o: CallOptions = {}): Promise<void> {
    await this.unary('removeNetwork', { networkId }, o);
  }

  getInfo(o: CallOptions = {}): Promise<Info__Output> {
    return this.unary('getInfo', {}, o);
  }
  getJoinTokens(request: GetJoinTokensRequest = {}, o: CallOptions = {}): Promise<JoinTokens__Output> {
    return this.unary('getJoinTokens', request, o);
  }

  /**
   * Log lines of services or tasks, batch by batch, until the server ends the stream (or, with
   * follow, until `signal` aborts; the iterator then simply ends). No deadline: logs may follow forever.
   */
  async *serviceLogs(
    request: ServiceLogsRequest,
    o: { signal?: AbortSignal } = {},
  ): AsyncGenerator<LogMessage__Output[]> {
    o.signal?.throwIfAborted();
    const stream = this.client.serviceLogs(request);
    const onAbort = () => stream.cancel();
    o.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      for await (const response of stream as AsyncIterable<{ messages: LogMessage__Output[] }>) {
        yield response.messages;
      }
    } catch (err) {
      if (o.signal?.aborted && (err as grpc.ServiceError).code === grpc.status.CANCELLED) return;
      throw this.userError(err);
    } finally {
      o.signal?.removeEventListener('abort', onAbort);
      stream.cancel();
    }
  }

  private unary<Res>(method: string, request: unknown, o: CallOptions): Promise<Res> {
    o.signal?.throwIfAborted();
    const deadline = Date.now() + (o.timeoutMs ?? this.timeoutMs);
    return new Promise<Res>((resolve, reject) => {
      const fn = (this.client as unknown as Record<string, UnaryMethod>)[method]!;
      const call = fn.call(this.client, request, new grpc.Metadata(), { deadline }, (err, response) => {
        o.signal?.removeEventListener('abort', onAbort);
        if (err) reject(o.signal?.aborted ? o.signal.reason : this.userError(err));
        else resolve(response as Res);
      });
      const onAbort = () => call.cancel();
      o.signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** One clear line for a failed call. */
  private userError(err: unknown): Error {
    const e = err as Partial<grpc.ServiceError>;
    if (typeof e.code !== 'number') return err instanceof Error ? err : new Error(String(err));
    const name = String(e.metadata?.get(ERROR_NAME_METADATA_KEY)[0] ?? '');
    if (e.code === grpc.status.UNAVAILABLE && !name && /EACCES|EPERM/.test(e.details ?? '')) {
      return new ControlCallError(
        `permission denied on ${this.socketPath}: run orch as the user that started the node (or as root)`,
        e.code,
        '',
        { cause: err },
      );
    }
    if (e.code === grpc.status.UNAVAILABLE && !name && this.nodeNotRunning(e.details ?? '')) {
      return new ControlCallError(
        `no node is running with data dir ${this.dataDir}: start one with 'orch init' or 'orch daemon'`,
        e.code,
        '',
        { cause: err },
      );
    }
    if (e.code === grpc.status.DEADLINE_EXCEEDED) {
      return new ControlCallError(
        `the node at ${this.socketPath} did not answer in time; is it overloaded or waiting for a quorum?`,
        e.code,
        name,
        { cause: err },
      );
    }
    return new ControlCallError(e.details || e.message || 'request failed', e.code, name, { cause: err });
  }

  private nodeNotRunning(details: string): boolean {
    return !existsSync(this.socketPath) || /ECONNREFUSED|ENOENT|No connection established/i.test(details);
  }
}

type UnaryMethod = (
  request: unknown,
  metadata: grpc.Metadata,
  options: grpc.CallOptions,
  callback: (err: grpc.ServiceError | null, response?: unknown) => void,
) => grpc.ClientUnaryCall;
