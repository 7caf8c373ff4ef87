// gRPC channels from this manager to other nodes' servers (other managers for forwarding; any
// node for the liveness probe), one per address, reused and closed together.
import * as grpc from '@grpc/grpc-js';

/** How long a probe waits for a connection. */
export const PROBE_TIMEOUT_MS = 1000;

export class ManagerPeers {
  private readonly clients = new Map<string, grpc.Client>();
  private closed = false;

  constructor(
    private readonly credentials: grpc.ChannelCredentials,
    private readonly channelOptions: grpc.ChannelOptions,
  ) {}

  /** The client for a node address, created on first use. */
  client(addr: string): grpc.Client {
    if (this.closed) throw new Error('manager peers are closed');
    let client = this.clients.get(addr);
    if (!client) {
      client = new grpc.Client(addr, this.credentials, {
        ...this.channelOptions,
        'grpc.initial_reconnect_backoff_ms': 100,
        'grpc.max_reconnect_backoff_ms': 1000,
      });
      this.clients.set(addr, client);
    }
    return client;
  }

  /** True when a TLS connection to the node's server at `addr` is (or becomes) ready in time. */
  probe(addr: string, signal?: AbortSignal, timeoutMs = PROBE_TIMEOUT_MS): Promise<boolean> {
    if (this.closed || signal?.aborted) return Promise.resolve(false);
    const client = this.client(addr);
    const channel = client.getChannel();
    if (channel.getConnectivityState(true) === grpc.connectivityState.READY) return Promise.resolve(true);
    return new Promise((resolve) => {
      const onAbort = (): void => resolve(false);
      signal?.addEventListener('abort', onAbort, { once: true });
      client.waitForReady(Date.now() + timeoutMs, (err) => {
        signal?.removeEventListener('abort', onAbort);
        resolve(err === undefined || err === null);
      });
    });
  }

  close(): void {
    this.closed = true;
    for (const client of this.clients.values()) client.close();
    this.clients.clear();
  }
}
