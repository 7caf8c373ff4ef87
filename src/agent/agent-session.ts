// One session of the agent with one manager's dispatcher: opens the Session stream, keeps it alive
// with heartbeats at the period the dispatcher asks for, follows the assignments stream, and hands
// what arrives to the agent. Any failure (a stream that ends, a heartbeat refused or unanswered)
// ends the whole session with that error; the agent then opens another, with another manager if
// this one is gone. A session never retries anything itself.
import type * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { NodeDescription } from '../api/gen/types/orch/objects/NodeDescription';
import { DispatcherError, dispatcherErrorOf } from '../manager/dispatcher/dispatcher-errors';
import type {
  AssignmentsMessage__Output,
  DispatcherClient,
  LogSubscription__Output,
  SessionMessage__Output,
} from '../manager/dispatcher/dispatcher-grpc';
import type { TaskStatusReport } from './status-reporter';

export interface AgentSessionHandlers {
  /** The session is open (first session message received). */
  onOpen(message: SessionMessage__Output): void;
  /** Every session message, the first included (managers list, log subscriptions). */
  onSessionMessage(message: SessionMessage__Output): void;
  onAssignments(message: AssignmentsMessage__Output): void;
}

export interface AgentSessionOptions {
  client: DispatcherClient;
  description: NodeDescription;
  addr?: string;
  handlers: AgentSessionHandlers;
  logger: Logger;
  /** How long to wait for the first session message before giving up on this manager. */
  openTimeoutMs?: number;
}

/** The session ended because the agent closed it. */
export class SessionClosedError extends DispatcherError {
  override name = 'SessionClosedError';
  constructor() {
    super('session closed');
  }
}

export class AgentSession {
  sessionId = '';
  private heartbeatPeriodMs = 5_000;
  private readonly calls: grpc.ClientReadableStream<unknown>[] = [];
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private finish: ((err: Error) => void) | undefined;
  private ended = false;

  constructor(private readonly options: AgentSessionOptions) {}

  /** Runs the session; always rejects, with why it ended. */
  run(): Promise<never> {
    return new Promise<never>((_resolve, reject) => {
      this.finish = (err) => {
        if (this.ended) return;
        this.ended = true;
        this.teardown();
        reject(err);
      };
      this.open();
    });
  }

  /** Ends the session (rejects run() with SessionClosedError). */
  close(): void {
    this.finish?.(new SessionClosedError());
  }

  get isOpen(): boolean {
    return this.sessionId !== '' && !this.ended;
  }

  /** Sends status reports on this session; rejects when the dispatcher does not take them. */
  updateTaskStatus(reports: TaskStatusReport[]): Promise<void> {
    return new Promise((resolve, reject) => {
      this.options.client.updateTaskStatus(
        { sessionId: this.sessionId, updates: reports },
        { deadline: Date.now() + Math.max(10_000, this.heartbeatPeriodMs * 2) },
        (err) => (err ? reject(dispatcherErrorOf(err)) : resolve()),
      );
    });
  }

  /** Opens a PublishLogs call for a log subscription. */
  publishLogs(callback: (err: grpc.ServiceError | null) => void): grpc.ClientWritableStream<unknown> {
    return this.options.client.publishLogs((err) => callback(err)) as grpc.ClientWritableStream<unknown>;
  }

  private fail(err: unknown): void {
    const error =
      err instanceof Error && 'code' in err
        ? dispatcherErrorOf(err as grpc.ServiceError)
        : err instanceof Error
          ? err
          : new Error(String(err));
    this.finish?.(error);
  }

  private open(): void {
    const { client, description, addr, handlers, logger } = this.options;
    const call = client.session({ description, addr: addr ?? '' });
    this.calls.push(call);
    const openTimer = setTimeout(
      () => this.fail(new DispatcherError('no session message from the dispatcher in time')),
      this.options.openTimeoutMs ?? 10_000,
    );
    openTimer.unref();
    call.on('data', (message: SessionMessage__Output) => {
      if (this.ended) return;
      if (message.heartbeatPeriodMs > 0) this.heartbeatPeriodMs = message.heartbeatPeriodMs;
      if (this.sessionId === '') {
        clearTimeout(openTimer);
        this.sessionId = message.sessionId;
        logger.info({ session: this.sessionId, heartbeatPeriodMs: this.heartbeatPeriodMs }, 'session opened');
        handlers.onOpen(message);
        this.scheduleHeartbeat();
        this.openAssignments();
      }
      handlers.onSessionMessage(message);
    });
    call.on('error', (err) => {
      clearTimeout(openTimer);
      this.fail(err);
    });
    call.on('end', () => {
      clearTimeout(openTimer);
      this.fail(new DispatcherError('the dispatcher ended the session'));
    });
  }

  private openAssignments(): void {
    const call = this.options.client.assignments({ sessionId: this.sessionId });
    this.calls.push(call);
    call.on('data', (message: AssignmentsMessage__Output) => {
      if (!this.ended) this.options.handlers.onAssignments(message);
    });
    call.on('error', (err) => this.fail(err));
    call.on('end', () => this.fail(new DispatcherError('the dispatcher ended the assignments stream')));
  }

  private scheduleHeartbeat(): void {
    if (this.ended) return;
    // Beat a little early: the dispatcher counts missed periods from its own clock.
    const delay = Math.max(1, Math.floor(this.heartbeatPeriodMs * 0.8));
    this.heartbeatTimer = setTimeout(() => this.heartbeat(), delay);
    this.heartbeatTimer.unref();
  }

  private heartbeat(): void {
    this.options.client.heartbeat(
      { sessionId: this.sessionId },
      // As long as the dispatcher's own grace: a slow answer is not a dead manager.
      { deadline: Date.now() + this.heartbeatPeriodMs * 3 },
      (err, response) => {
        if (this.ended) return;
        if (err) return this.fail(err);
        if (response && response.periodMs > 0) this.heartbeatPeriodMs = response.periodMs;
        this.scheduleHeartbeat();
      },
    );
  }

  private teardown(): void {
    if (this.heartbeatTimer) clearTimeout(this.heartbeatTimer);
    for (const call of this.calls) {
      call.removeAllListeners('data');
      call.on('error', () => {}); // the cancellation below reports as an error
      call.cancel();
    }
  }
}

/** Types the handlers need without pulling in grpc-js at their call sites. */
export type { LogSubscription__Output };
