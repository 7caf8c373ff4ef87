// A worker's endpoint table, from the leader's dispatcher: once the node's agent has a session, this
// opens the dispatcher's Endpoints stream on the same manager with the same session ID, applies the
// complete table and then every change to an EndpointTable, and when the stream ends (the session
// ended, the leader changed) waits for the agent's next session and opens it again. Meanwhile the
// table keeps what it last knew, as a node without a manager keeps routing to the tasks it knew.
import type * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { Agent } from '../agent';
import { Backoff, sleep } from '../agent/backoff';
import type { EndpointsMessage__Output } from '../api/gen/types/orch/dispatcher/EndpointsMessage';
import { newDispatcherClient } from '../manager/dispatcher/dispatcher-grpc';
import { EndpointTable } from '../mesh/endpoint-table';
import { serviceEndpointsFromWire } from '../mesh/endpoint-wire';
import type { ServiceEndpoints } from '../mesh/mesh-endpoints';

export interface DispatcherEndpointFeedOptions {
  agent: Pick<Agent, 'status' | 'waitForSession'>;
  credentials: () => grpc.ChannelCredentials;
  channelOptions?: grpc.ChannelOptions;
  logger: Logger;
  table?: EndpointTable;
}

export class DispatcherEndpointFeed {
  readonly table: EndpointTable;
  private readonly abort = new AbortController();
  private readonly logger: Logger;
  private loop: Promise<void> | undefined;
  private call: grpc.ClientReadableStream<EndpointsMessage__Output> | undefined;

  constructor(private readonly options: DispatcherEndpointFeedOptions) {
    this.table = options.table ?? new EndpointTable();
    this.logger = options.logger.child({ module: 'mesh-endpoints' });
  }

  start(): void {
    this.loop ??= this.run().catch((err: unknown) => {
      if (!this.abort.signal.aborted)
        this.logger.error({ err }, 'endpoint feed stopped on an unexpected error');
    });
  }

  async close(): Promise<void> {
    this.abort.abort();
    this.call?.cancel();
    await this.loop;
  }

  private async run(): Promise<void> {
    const signal = this.abort.signal;
    const backoff = new Backoff({ initialMs: 100, maxMs: 2_000 });
    let lastSession = '';
    while (!signal.aborted) {
      await this.options.agent.waitForSession({ signal });
      if (signal.aborted) return;
      const { manager, sessionId } = this.options.agent.status();
      if (manager === undefined || sessionId === undefined || sessionId === lastSession) {
        // No session yet, or the one whose stream just ended: give the agent time to open another.
        await sleep(backoff.next(), signal);
        lastSession = '';
        continue;
      }
      lastSession = sessionId;
      const received = await this.follow(manager, sessionId);
      if (received) backoff.reset();
      if (!signal.aborted) await sleep(backoff.next(), signal);
    }
  }

  /** Follows one Endpoints stream until it ends; true if it delivered anything. */
  private follow(manager: string, sessionId: string): Promise<boolean> {
    const client = newDispatcherClient(manager, this.options.credentials(), this.options.channelOptions);
    const call = client.endpoints({ sessionId });
    this.call = call;
    let received = false;
    let pending: { complete: boolean; updated: ServiceEndpoints[]; removed: string[] } | undefined;
    return new Promise<boolean>((resolve) => {
      const finish = (why: string, err?: Error) => {
        call.removeAllListeners('data');
        call.on('error', () => {});
        call.cancel();
        client.close();
        if (this.call === call) this.call = undefined;
        if (!this.abort.signal.aborted) {
          this.logger.debug({ manager, reason: why, err: err?.message }, 'endpoints stream ended');
        }
        resolve(received);
      };
      call.on('data', (message: EndpointsMessage__Output) => {
        received = true;
        pending ??= { complete: message.complete, updated: [], removed: [] };
        for (const wire of message.services) pending.updated.push(serviceEndpointsFromWire(wire));
        pending.removed.push(...message.removedServiceIds);
        if (message.more) return;
        const set = pending;
        pending = undefined;
        if (set.complete) {
          this.table.reset(set.updated, message.appliedIndex);
          this.logger.debug({ manager, services: this.table.size }, 'endpoint table received');
        } else {
          this.table.apply(set.updated, set.removed, message.appliedIndex);
        }
      });
      call.on('error', (err) => finish('error', err));
      call.on('end', () => finish('end'));
    });
  }
}
