// Publishes task logs when a manager asks: a log subscription arrives on the session stream, the
// agent reads the logs of the named tasks it runs through their controllers and sends the lines
// back with one PublishLogs call per subscription, then says it is done (close) once every task's
// log has ended. A following subscription may name more tasks later (a service's new tasks): they
// join the same call. A subscription the manager cancels, or the end of the session, stops it.
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

interface Publication {
  readonly id: string;
  readonly session: AgentSession;
  readonly call: grpc.ClientWritableStream<PublishLogsMessage>;
  readonly abort: AbortController;
  /** Tasks whose logs are being read. */
  readonly readers: Set<string>;
  readonly errors: string[];
  done: boolean;
}

export class LogPublisher {
  private readonly active = new Map<string, Publication>();

  constructor(
    private readonly nodeId: string,
    private readonly runnerOf: (taskId: string) => TaskRunner | undefined,
    private readonly logger: Logger,
  ) {}

  /** Starts publishing for a subscription on `session`, adds its new tasks, or (with `close`) cancels it. */
  handle(subscription: LogSubscription__Output, session: AgentSession): void {
    const existing = this.active.get(subscription.id);
    if (subscription.close) {
      existing?.abort.abort();
      return;
    }
    const publication = existing ?? this.open(subscription.id, session);
    for (const taskId of subscription.taskIds) {
      if (!publication.readers.has(taskId)) this.read(publication, subscription, taskId);
    }
    if (publication.readers.size === 0) void this.finish(publication);
  }

  /** Stops every subscription (the session ended). */
  closeAll(): void {
    for (const publication of this.active.values()) publication.abort.abort();
  }

  private open(id: string, session: AgentSession): Publication {
    const abort = new AbortController();
    const call = session.publishLogs((err) => {
      if (err && !abort.signal.aborted)
        this.logger.debug({ err, subscription: id }, 'log publishing ended with an error');
    }) as grpc.ClientWritableStream<PublishLogsMessage>;
    call.on('error', () => abort.abort());
    const publication: Publication = {
      id,
      session,
      call,
      abort,
      readers: new Set(),
      errors: [],
      done: false,
    };
    this.active.set(id, publication);
    abort.signal.addEventListener('abort', () => void this.finish(publication), { once: true });
    return publication;
  }

  private read(publication: Publication, subscription: LogSubscription__Output, taskId: string): void {
    const runner = this.runnerOf(taskId);
    if (runner === undefined) return;
    publication.readers.add(taskId);
    void this.readTask(publication, subscription, taskId, runner).finally(() => {
      publication.readers.delete(taskId);
      if (publication.readers.size === 0) void this.finish(publication);
    });
  }

  private async readTask(
    publication: Publication,
    subscription: LogSubscription__Output,
    taskId: string,
    runner: TaskRunner,
  ): Promise<void> {
    const { call, abort, session } = publication;
    const signal = abort.signal;
    let batch: LogMessage[] = [];
    const flush = async () => {
      if (batch.length === 0 || signal.aborted) return;
      const messages = batch;
      batch = [];
      const message = { sessionId: session.sessionId, subscriptionId: publication.id, messages };
      if (!call.write(message)) await once(call, 'drain', { signal });
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
      if (!signal.aborted) publication.errors.push(`${taskId}: ${(err as Error).message}`);
    }
  }

  /** Every task's log ended (or the subscription stopped): say so and end the call. */
  private async finish(publication: Publication): Promise<void> {
    if (publication.done) return;
    publication.done = true;
    if (this.active.get(publication.id) === publication) this.active.delete(publication.id);
    publication.abort.abort();
    try {
      if (publication.session.isOpen) {
        publication.call.write({
          sessionId: publication.session.sessionId,
          subscriptionId: publication.id,
          close: true,
          error: publication.errors.join('; '),
        });
      }
    } finally {
      publication.call.end();
    }
  }
}
