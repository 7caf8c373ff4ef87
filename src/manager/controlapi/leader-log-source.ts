// Task logs on any manager. The agents publish logs only to the leader's dispatcher (their sessions
// are with it), so a follower's dispatcher has none: `orch service logs` on a follower would print
// nothing. This LogSource serves the local one (the dispatcher's) while this manager leads and, on a
// follower, streams the same selection from the leader's Control API over mutual TLS, as Swarm's
// managers do. It owns the client it opens for each request and closes it when the stream ends or
// the caller cancels; it never caches a connection across leader changes.
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { type ControlClient, protos } from '../../api';
import type { LogMessage } from '../../api/gen/types/orch/control/LogMessage';
import type { ServiceLogsRequest } from '../../api/gen/types/orch/control/ServiceLogsRequest';
import type { ServiceLogsResponse__Output } from '../../api/gen/types/orch/control/ServiceLogsResponse';
import { silentLogger } from '../../common/logger';
import { FORWARDED_METADATA_KEY, type LogSelection, type LogSource } from './cluster-ops';
import { NoLeaderError } from './control-errors';

export interface LeaderLogSourceOptions {
  /** The logs this manager serves while it leads (the dispatcher's). */
  local: LogSource;
  /** Whether this manager leads now (checked at the start of every request). */
  isLeader(): boolean;
  /** The leader's node address (host:port of its node server), when one is known. */
  leaderAddr(): string | undefined;
  /** This node's client credentials (its manager certificate: the leader's Control API is manager-only). */
  credentials(): grpc.ChannelCredentials;
  channelOptions?: grpc.ChannelOptions;
  /** This manager's node ID, sent as the forwarding mark. */
  nodeId: string;
  logger?: Logger;
  /** Opens a Control client (tests inject one); default: a grpc-js client to `addr`. */
  connect?: (
    addr: string,
    credentials: grpc.ChannelCredentials,
    options: grpc.ChannelOptions,
  ) => ControlClient;
}

/** A LogSource that is the dispatcher's on the leader and the leader's Control API elsewhere. */
export function leaderLogSource(options: LeaderLogSourceOptions): LogSource {
  const logger = (options.logger ?? silentLogger()).child({ module: 'controlapi', part: 'logs' });
  const connect =
    options.connect ??
    ((addr, credentials, channelOptions) => {
      const { Control } = protos().orch.control;
      return new Control(addr, credentials, channelOptions);
    });
  return {
    logs(selection: LogSelection, { signal }: { signal: AbortSignal }): AsyncIterable<readonly LogMessage[]> {
      if (options.isLeader()) return options.local.logs(selection, { signal });
      const addr = options.leaderAddr();
      if (!addr) return failing(new NoLeaderError());
      logger.debug({ leader: addr }, 'streaming task logs from the leader');
      return fromLeader(connect(addr, options.credentials(), options.channelOptions ?? {}), selection, {
        signal,
        nodeId: options.nodeId,
      });
    },
  };
}

/** The request the leader resolves to the same selection: every reference is already an ID. */
export function forwardedLogsRequest(selection: LogSelection): ServiceLogsRequest {
  return {
    serviceIds: [...selection.serviceIds],
    taskIds: [...selection.taskIds],
    follow: selection.follow,
    tail: selection.tail,
    sinceMs: selection.sinceMs,
    timestamps: true,
  };
}

async function* fromLeader(
  client: ControlClient,
  selection: LogSelection,
  { signal, nodeId }: { signal: AbortSignal; nodeId: string },
): AsyncGenerator<readonly LogMessage[]> {
  const metadata = new grpc.Metadata();
  metadata.set(FORWARDED_METADATA_KEY, nodeId);
  const stream = client.serviceLogs(forwardedLogsRequest(selection), metadata);
  const cancel = () => stream.cancel();
  signal.addEventListener('abort', cancel, { once: true });
  try {
    for await (const response of stream as AsyncIterable<ServiceLogsResponse__Output>) {
      if (response.messages.length > 0) yield response.messages;
    }
  } catch (err) {
    // Our own cancellation is the caller going away, not a failure.
    if (signal.aborted && (err as Partial<grpc.ServiceError>).code === grpc.status.CANCELLED) return;
    throw err;
  } finally {
    signal.removeEventListener('abort', cancel);
    stream.cancel();
    client.close();
  }
}

async function* failing(err: Error): AsyncGenerator<readonly LogMessage[]> {
  yield* [];
  throw err;
}
