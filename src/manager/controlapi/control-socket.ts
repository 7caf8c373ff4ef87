// Serving the Control service on a node's Unix socket: a stale socket file left by a crash is
// replaced, the socket is made owner-only (0600: whoever can call it can change the cluster), and
// close() stops the server and removes the file.
import { chmod, lstat, rm } from 'node:fs/promises';
import * as grpc from '@grpc/grpc-js';
import type { ControlHandlers } from '../../api';
import { controlServiceDefinition } from './control-service';

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
  const server = new grpc.Server();
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
