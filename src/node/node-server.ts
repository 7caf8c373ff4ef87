// The node's one gRPC server on its listen address, with mutual TLS and the authorization
// interceptor carried by its credentials. Services are registered once, before binding, and
// delegate each call to whatever currently implements them: a node that is demoted or promoted
// keeps its server (and its connections) and only swaps the implementation. A call to a service
// this node does not run now fails with UNAVAILABLE and a clear message.
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';

export class NodeServerListenError extends Error {
  override name = 'NodeServerListenError';
}

type Implementation = grpc.UntypedServiceImplementation;

interface Slot {
  definition: grpc.ServiceDefinition;
  current: Implementation | undefined;
  unavailableMessage: string;
}

/**
 * What a Control API answer may weigh (an unfiltered ListTasks of 50,000 tasks is ~23 MB). Only
 * sending is raised this far: the server is shared with Raft and the dispatcher, and what peers may
 * send it stays bounded by the receive limit.
 */
export const CONTROL_MAX_MESSAGE_BYTES = 256 * 1024 * 1024;

const SERVER_OPTIONS: grpc.ServerOptions = {
  'grpc.max_receive_message_length': 64 * 1024 * 1024,
  'grpc.max_send_message_length': CONTROL_MAX_MESSAGE_BYTES,
  'grpc.keepalive_permit_without_calls': 1,
  'grpc.http2.min_ping_interval_without_data_ms': 1000,
};

export class NodeServer {
  private readonly server = new grpc.Server(SERVER_OPTIONS);
  private readonly slots = new Map<string, Slot>();
  private bound: string | undefined;

  constructor(private readonly logger: Logger) {}

  /**
   * Declares a service. `unavailableMessage` is what callers get while no implementation is set
   * (e.g. "this node is not a manager"). Must be called before listen().
   */
  declare(name: string, definition: grpc.ServiceDefinition, unavailableMessage: string): void {
    if (this.bound) throw new Error(`service ${name} declared after the server started`);
    const slot: Slot = { definition, current: undefined, unavailableMessage };
    this.slots.set(name, slot);
    const delegating: Implementation = {};
    for (const [method, spec] of Object.entries(definition)) {
      const key = spec.originalName ?? method;
      const unavailable = (): grpc.ServiceError =>
        Object.assign(new Error(slot.unavailableMessage), {
          code: grpc.status.UNAVAILABLE,
          details: slot.unavailableMessage,
          metadata: new grpc.Metadata(),
        });
      const handler = (call: NodeJS.EventEmitter, callback?: grpc.sendUnaryData<unknown>): void => {
        const impl = slot.current?.[key] ?? slot.current?.[method];
        if (typeof impl === 'function') {
          (impl as (c: unknown, cb?: unknown) => void)(call, callback);
          return;
        }
        if (callback) callback(unavailable());
        else call.emit('error', unavailable());
      };
      delegating[key] = handler;
      if (key !== method) delegating[method] = handler;
    }
    this.server.addService(definition, delegating);
  }

  /**
   * The grpc-js server itself, for a component that adds and removes its own service while the
   * server runs (a manager's Raft transport): calls to it get this server's credentials and
   * authorization like every declared service. Such a service is unknown (UNIMPLEMENTED) while
   * it is not added.
   */
  get grpcServer(): grpc.Server {
    return this.server;
  }

  /** Sets (or clears, with undefined) the implementation of a declared service. */
  implement(name: string, implementation: Implementation | undefined): void {
    const slot = this.slots.get(name);
    if (!slot) throw new Error(`service ${name} was never declared`);
    slot.current = implementation;
  }

  /** Binds exactly `listenAddr` (host:port, or unix:/path). Resolves with the bound address. */
  async listen(listenAddr: string, credentials: grpc.ServerCredentials): Promise<string> {
    const port = await new Promise<number>((resolve, reject) => {
      this.server.bindAsync(listenAddr, credentials, (err, boundPort) => {
        if (err) {
          const reason = /EADDRINUSE/.test(err.message)
            ? 'the address is already in use'
            : /EADDRNOTAVAIL/.test(err.message)
              ? 'no interface has this address'
              : err.message;
          reject(new NodeServerListenError(`cannot listen on ${listenAddr}: ${reason}`, { cause: err }));
        } else resolve(boundPort);
      });
    });
    this.bound = listenAddr.startsWith('unix:')
      ? listenAddr
      : `${listenAddr.slice(0, listenAddr.lastIndexOf(':'))}:${port}`;
    this.logger.info({ address: this.bound }, 'node server listening');
    return this.bound;
  }

  /** Stops accepting calls; calls in flight get a short grace period, then are cancelled. */
  async close(graceMs = 1000): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, graceMs);
      timer.unref();
      this.server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}
