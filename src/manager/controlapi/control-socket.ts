// Serving the Control service on a node's Unix socket: a stale socket file left by a crash is
// replaced, the socket is made owner-only (0600: whoever can call it can change the cluster), and
// close() stops the server and removes the file.
import { chmod, lstat, rm } from 'node:fs/promises';
import * as grpc from '@grpc/grpc-js';
import type { ControlHandlers } from '../../api';
import { controlServiceDefinition } from './control-service';

/** Largest Control message on the local socket, either way (ListTasks of 50,000 tasks is ~23 MB). */
export const CONTROL_SOCKET_MAX_MESSAGE_BYTES = 256 * 1024 * 1024;

export interface ControlSocketServer {
  readonly socketPath: string;
  /** Stops accepting calls, ends the ones in flight after `graceMs`, and removes the socket. */
  close(options?: { graceMs?: number }): Promise<void>;
}

export async function serveControlSocket(
  socketPath: string,
  handlers: ControlHandlers,
): Promise<ControlSocketServer> {
  const stale = await lstat(socketPath).catch(() => undefined);
  if (stale?.isSocket()) await rm(socketPath, { force: true });
  // Answers such as an unfiltered ListTasks of a large cluster pass grpc-js's 4 MiB default.
  const server = new grpc.Server({
    'grpc.max_receive_message_length': CONTROL_SOCKET_MAX_MESSAGE_BYTES,
    'grpc.max_send_message_length': CONTROL_SOCKET_MAX_MESSAGE_BYTES,
  });
  server.addService(controlServiceDefinition(), handlers);
  await new Promise<void>((resolve, reject) =>
    server.bindAsync(`unix:${socketPath}`, grpc.ServerCredentials.createInsecure(), (err) =>
      err ? reject(err) : resolve(),
    ),
  );
  try {
    await chmod(socketPath, 0o600);
  } catch (err) {
    server.forceShutdown();
    throw err;
  }
  let closed: Promise<void> | undefined;
  return {
    socketPath,
    close({ graceMs = 2_000 } = {}) {
      closed ??= (async () => {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(() => {
            server.forceShutdown();
            resolve();
          }, graceMs);
          timer.unref();
          server.tryShutdown(() => {
            clearTimeout(timer);
            resolve();
          });
        });
        await rm(socketPath, { force: true });
      })();
      return closed;
    },
  };
}
