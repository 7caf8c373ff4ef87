// Unary gRPC methods whose messages are JSON documents, for the few internal services that have no
// message in proto/ yet (proposal forwarding between managers, the node's local admin socket).
// Errors travel as a gRPC status plus the error's class name in trailing metadata, so the caller
// gets a typed error with the same one-line message back.
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
        (err: unknown) => {
          const error = err instanceof Error ? err : new Error(String(err));
          const metadata = new grpc.Metadata();
          metadata.set(ERROR_NAME_METADATA_KEY, error.name);
          callback({ code: codeOf(error), details: error.message, metadata });
        },
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
        if (err) {
          const remoteName = err.metadata?.get(ERROR_NAME_METADATA_KEY)[0]?.toString();
          reject(new RemoteCallError(err.details || err.message, err.code, remoteName, { cause: err }));
        } else resolve(value as T);
      },
    );
    const onAbort = (): void => call.cancel();
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
