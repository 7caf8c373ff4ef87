// Unary gRPC calls with typed errors, for the internal services of proto/orch/manager.proto and
// proto/orch/node.proto: a handler's error travels as a gRPC status plus the error's class name in
// trailing metadata, so the caller gets a RemoteCallError with the same one-line message back.
// unaryHandler/callUnary wrap the generated typed handlers and clients; jsonService/jsonHandlers/
// callJson do the same for ad-hoc JSON methods (tests of the node server).
import * as grpc from '@grpc/grpc-js';

export const ERROR_NAME_METADATA_KEY = 'orch-error-name';

const serialize = (value: unknown): Buffer => Buffer.from(JSON.stringify(value ?? {}));
const deserialize = (bytes: Buffer): unknown => (bytes.length === 0 ? {} : JSON.parse(bytes.toString()));

/** A service definition of unary JSON methods, e.g. jsonService('orch.manager.Forwarding', ['Propose']). */
export function jsonService(service: string, methods: readonly string[]): grpc.ServiceDefinition {
  const definition: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const method of methods) {
    definition[method] = {
      path: `/${service}/${method}`,
      requestStream: false,
      responseStream: false,
      requestSerialize: serialize,
      requestDeserialize: deserialize,
      responseSerialize: serialize,
      responseDeserialize: deserialize,
    };
  }
  return definition;
}

/** The status a failed handler answers: the error's message, its class name in metadata. */
function errorStatus(err: unknown, codeOf: (err: Error) => grpc.status): Partial<grpc.StatusObject> {
  const error = err instanceof Error ? err : new Error(String(err));
  const metadata = new grpc.Metadata();
  metadata.set(ERROR_NAME_METADATA_KEY, error.name);
  return { code: codeOf(error), details: error.message, metadata };
}

/** A typed unary handler from an async function; its errors become statuses via `codeOf`. */
export function unaryHandler<Request, Response>(
  handler: (request: Request, call: grpc.ServerUnaryCall<Request, Response>) => Promise<Response>,
  codeOf: (err: Error) => grpc.status = () => grpc.status.UNKNOWN,
): grpc.handleUnaryCall<Request, Response> {
  return (call, callback) => {
    handler(call.request, call).then(
      (response) => callback(null, response),
      (err: unknown) => callback(errorStatus(err, codeOf)),
    );
  };
}

/**
 * One call of a generated typed client's unary method, as a promise with a deadline (default 10 s)
 * and cancellation; rejects with RemoteCallError. `start` issues the call, e.g.
 * `(options, callback) => client.propose(request, options, callback)`.
 */
export function callUnary<Response>(
  start: (options: grpc.CallOptions, callback: grpc.requestCallback<Response>) => grpc.ClientUnaryCall,
  options: { signal?: AbortSignal; timeoutMs?: number } = {},
): Promise<Response> {
  const { signal } = options;
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise<Response>((resolve, reject) => {
    const deadline = new Date(Date.now() + (options.timeoutMs ?? 10_000));
    const call = start({ deadline }, (err, value) => {
      signal?.removeEventListener('abort', onAbort);
      if (err) reject(remoteCallError(err));
      else resolve(value as Response);
    });
    const onAbort = (): void => call.cancel();
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function remoteCallError(err: grpc.ServiceError): RemoteCallError {
  const remoteName = err.metadata?.get(ERROR_NAME_METADATA_KEY)[0]?.toString();
  return new RemoteCallError(err.details || err.message, err.code, remoteName, { cause: err });
}

/** A handler: its errors become statuses via `codeOf` (default UNKNOWN). */
export type JsonHandler = (
  request: unknown,
  call: grpc.ServerUnaryCall<unknown, unknown>,
) => Promise<unknown>;

export function jsonHandlers(
  handlers: Record<string, JsonHandler>,
  codeOf: (err: Error) => grpc.status = () => grpc.status.UNKNOWN,
): grpc.UntypedServiceImplementation {
  const implementation: grpc.UntypedServiceImplementation = {};
  for (const [method, handler] of Object.entries(handlers)) {
    implementation[method] = (
      call: grpc.ServerUnaryCall<unknown, unknown>,
      callback: grpc.sendUnaryData<unknown>,
    ) => {
      handler(call.request, call).then(
        (response) => callback(null, response),
        (err: unknown) => callback(errorStatus(err, codeOf)),
      );
    };
  }
  return implementation;
}

/** An error a JSON method answered with: the remote class name and message, and the status code. */
export class RemoteCallError extends Error {
  override name = 'RemoteCallError';
  constructor(
    message: string,
    readonly code: grpc.status,
    readonly remoteName: string | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Calls one unary JSON method; rejects with RemoteCallError. */
export function callJson<T>(
  client: grpc.Client,
  definition: grpc.ServiceDefinition,
  method: string,
  request: unknown,
  options: { signal?: AbortSignal; timeoutMs?: number } = {},
): Promise<T> {
  const { signal } = options;
  if (signal?.aborted) return Promise.reject(signal.reason);
  const spec = definition[method];
  if (!spec) return Promise.reject(new Error(`no method ${method}`));
  return new Promise<T>((resolve, reject) => {
    const deadline = new Date(Date.now() + (options.timeoutMs ?? 10_000));
    const call = client.makeUnaryRequest(
      spec.path,
      spec.requestSerialize,
      spec.responseDeserialize,
      request,
      new grpc.Metadata(),
      { deadline },
      (err, value) => {
        signal?.removeEventListener('abort', onAbort);
        if (err) reject(remoteCallError(err));
        else resolve(value as T);
      },
    );
    const onAbort = (): void => call.cancel();
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
