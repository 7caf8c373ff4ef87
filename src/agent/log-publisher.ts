// Publishes task logs when a manager asks: a log subscription arrives on the session stream, the
// agent reads the logs of the named tasks it runs through their controllers and sends the lines
// back with one PublishLogs call per subscription, then says it is done (close). A subscription the
// manager cancels, or the end of the session, stops the reading.
import { once } from 'node:events';
import type * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type {
  LogMessage,
  LogSubscription__Output,
  PublishLogsMessage,
} from '../manager/dispatcher/dispatcher-grpc';
import type { AgentSession } from './agent-session';
import type { TaskRunner } from './task-runner';

/** Lines per PublishLogs message. */
const LINES_PER_MESSAGE = 128;

export class LogPublisher {
  private readonly active = new Map<string, AbortController>();

  constructor(
    private readonly nodeId: string,
    private readonly runnerOf: (taskId: string) => TaskRunner | undefined,
    private readonly logger: Logger,
  ) {}

  /** Starts (or, with `close`, cancels) publishing for a subscription on `session`. */
  handle(subscription: LogSubscription__Output, session: AgentSession): void {
    if (subscription.close) {
      this.active.get(subscription.id)?.abort();
      return;
    }
    if (this.active.has(subscription.id)) return;
    const abort = new AbortController();
    this.active.set(subscription.id, abort);
    void this.publish(subscription, session, abort.signal).finally(() => this.active.delete(subscription.id));
  }

  /** Stops every subscription (the session ended). */
  closeAll(): void {
    for (const abort of this.active.values()) abort.abort();
    this.active.clear();
  }

  private async publish(
    subscription: LogSubscription__Output,
    session: AgentSession,
    signal: AbortSignal,
  ): Promise<void> {
    const sessionId = session.sessionId;
    const call = session.publishLogs((err) => {
      if (err && !signal.aborted)
        this.logger.debug({ err, subscription: subscription.id }, 'log publishing ended with an error');
    }) as grpc.ClientWritableStream<PublishLogsMessage>;
    call.on('error', () => {});
    const write = async (message: PublishLogsMessage) => {
      if (!call.write(message)) await once(call, 'drain', { signal });
    };
    const errors: string[] = [];
    const readTask = async (taskId: string) => {
      const runner = this.runnerOf(taskId);
      if (runner === undefined) return;
      let batch: LogMessage[] = [];
      const flush = async () => {
        if (batch.length === 0) return;
        const messages = batch;
        batch = [];
        await write({ sessionId, subscriptionId: subscription.id, messages });
      };
      try {
        for await (const entry of runner.controller.logs({
          follow: subscription.follow,
          tail: subscription.tail >= 0 ? subscription.tail : undefined,
          since: subscription.sinceMs > 0 ? new Date(subscription.sinceMs) : undefined,
          timestamps: subscription.timestamps,
          signal,
        })) {
          batch.push({
            taskId,
            serviceId: runner.serviceId,
            nodeId: this.nodeId,
            stream: entry.stream === 'stderr' ? 'LOG_STREAM_STDERR' : 'LOG_STREAM_STDOUT',
            line: entry.line,
            timeMs: entry.time?.getTime() ?? 0,
          });
          if (batch.length >= LINES_PER_MESSAGE || subscription.follow) await flush();
        }
        await flush();
      } catch (err) {
        if (!signal.aborted) errors.push(`${taskId}: ${(err as Error).message}`);
      }
    };
    try {
      await Promise.all(subscription.taskIds.map(readTask));
      if (!signal.aborted || session.isOpen) {
        call.write({ sessionId, subscriptionId: subscription.id, close: true, error: errors.join('; ') });
      }
    } catch (err) {
      this.logger.debug({ err, subscription: subscription.id }, 'log publishing stopped');
    } finally {
      call.end();
    }
  }
}
