// Joining many hollow nodes to a real cluster, each exactly as `orch join` joins one (worker token,
// root CA pinned by the token's digest, a fresh ECDSA P-256 key and CSR, a certificate from the
// cluster CA), but fit for a thousand joins against a loaded cluster: joins are spread over the
// managers, and a join that fails for a transient reason (no leader during an election, a manager
// busy past the deadline, a proposal lost with its leader) is tried again, through the next
// manager, after a capped exponential back-off. A refusal (bad token, CA mismatch, invalid request)
// is final. Feeds startHollowNodes' `join` option; it never starts agents itself.
//
// A join whose outcome is unknown (the CA wrote the Node, then the answer was lost) leaves that
// Node behind when retried, as a retried `orch join` would: `joinStats().retries` counts them.
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { silentLogger } from '../common/logger';
import { joinCluster } from '../manager/ca/ca-client';
import { CARequestError } from '../manager/ca/ca-errors';
import type { NodeTLSMaterial } from '../manager/ca/node-certificate-provider';
import { Backoff, type BackoffOptions, sleep } from './backoff';

/** gRPC codes worth another attempt: the cluster may answer once a leader is back or load drops. */
const TRANSIENT_CODES: ReadonlySet<number> = new Set([
  grpc.status.UNAVAILABLE,
  grpc.status.DEADLINE_EXCEEDED,
  grpc.status.INTERNAL,
  grpc.status.ABORTED,
  grpc.status.RESOURCE_EXHAUSTED,
]);

export interface HollowJoinerOptions {
  /** Manager addresses (host:port); join i starts at manager i mod n. */
  managers: readonly string[];
  /** A worker (or manager) join token. */
  token: string;
  /** The address node i puts in its certificate request (default 127.0.0.1:20000+i, nominal). */
  advertiseAddr?: (index: number) => string;
  /** Attempts per node before giving up (default 8). */
  maxAttempts?: number;
  /** Back-off between attempts (default 200 ms doubling up to 5 s, jittered). */
  backoff?: BackoffOptions;
  /** Deadline of each CA call (default 20 s). */
  callTimeoutMs?: number;
  logger?: Logger;
}

export interface HollowJoinStats {
  joined: number;
  /** Attempts that failed transiently and were tried again. */
  retries: number;
}

/** The final failure of one node's join, with the last attempt's error as cause. */
export class HollowJoinError extends Error {
  override name = 'HollowJoinError';
  constructor(
    readonly index: number,
    readonly attempts: number,
    options?: { cause?: unknown },
  ) {
    const reason = options?.cause instanceof Error ? options.cause.message : String(options?.cause);
    super(`hollow node ${index} could not join after ${attempts} attempt(s): ${reason}`, options);
  }
}

/** True for errors a later attempt may not meet (see TRANSIENT_CODES). */
export function isTransientJoinError(err: unknown): boolean {
  return err instanceof CARequestError && TRANSIENT_CODES.has(err.code);
}

export class HollowJoiner {
  private readonly logger: Logger;
  private readonly stats: HollowJoinStats = { joined: 0, retries: 0 };

  constructor(private readonly options: HollowJoinerOptions) {
    if (options.managers.length === 0) throw new Error('HollowJoiner: no manager address');
    this.logger = (options.logger ?? silentLogger()).child({ module: 'hollow-join' });
  }

  /** Joins node `index`; resolves with its TLS material, or rejects with HollowJoinError. */
  async join(index: number, signal?: AbortSignal): Promise<NodeTLSMaterial> {
    const { managers } = this.options;
    const maxAttempts = this.options.maxAttempts ?? 8;
    const backoff = new Backoff({ initialMs: 200, maxMs: 5_000, ...this.options.backoff });
    for (let attempt = 1; ; attempt++) {
      signal?.throwIfAborted();
      const managerAddr = managers[(index + attempt - 1) % managers.length]!;
      try {
        const material = await joinCluster({
          managerAddr,
          token: this.options.token,
          advertiseAddr: this.options.advertiseAddr?.(index) ?? `127.0.0.1:${20_000 + (index % 40_000)}`,
          timeoutMs: this.options.callTimeoutMs,
          signal,
        });
        this.stats.joined++;
        return material;
      } catch (err) {
        if (signal?.aborted) throw signal.reason;
        if (!isTransientJoinError(err) || attempt >= maxAttempts)
          throw new HollowJoinError(index, attempt, { cause: err });
        this.stats.retries++;
        const delayMs = backoff.next();
        this.logger.warn(
          { index, manager: managerAddr, attempt, delayMs, err: (err as Error).message },
          'hollow join failed transiently; retrying',
        );
        await sleep(delayMs, signal);
        signal?.throwIfAborted();
      }
    }
  }

  joinStats(): HollowJoinStats {
    return { ...this.stats };
  }
}
