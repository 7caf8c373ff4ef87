// Proposals from any manager: the store's Proposer on every manager. The leader proposes to its own
// Raft; a follower forwards the encoded entry to the leader over the managers' mTLS gRPC
// (orch.manager.Forwarding/Propose, manager-only by the authorization rules) and the entry then
// applies on every manager, this one included, which is what settles the store's update here. So
// every manager accepts writes; a Control API on a follower needs no forwarding of its own.
// With no leader for longer than `noLeaderTimeoutMs` a proposal fails with QuorumLostError instead
// of hanging.
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import {
  AbortError,
  LeadershipLostError,
  NotLeaderError,
  type RaftNode,
  RaftStoppedError,
} from '../../raft/runtime';
import type { ForwardingClient, ForwardingHandlers } from '../api/gen/types/orch/manager/Forwarding';
import { protos } from '../api/grpc';
import type { ProposeOptions, Proposer } from '../store';
import { FORWARDING_SERVICE_NAME } from './ca/authorization';
import { ManagerStoppedError } from './manager-errors';
import { callUnary, RemoteCallError, unaryHandler } from './manager-json-rpc';
import { sleep } from './manager-loops';

export type { ForwardingClient, ForwardingHandlers };

export { FORWARDING_SERVICE_NAME };

/** The service definition, for declaring it on a server. */
export function forwardingServiceDefinition(): grpc.ServiceDefinition {
  return protos().orch.manager.Forwarding.service;
}

/** A typed Forwarding client over an existing client's channel (the channel stays the caller's). */
function forwardingClientOn(client: grpc.Client): ForwardingClient {
  const Forwarding = protos().orch.manager.Forwarding;
  return new Forwarding(client.getChannel().getTarget(), grpc.credentials.createInsecure(), {
    channelOverride: client.getChannel(),
  });
}

/** The server side, on every manager: only the leader accepts (others answer FAILED_PRECONDITION). */
export function createForwardingHandlers(raft: () => RaftNode | undefined): ForwardingHandlers {
  return {
    Propose: unaryHandler(async (request, call) => {
      const node = raft();
      if (!node) throw new ManagerStoppedError();
      if (request.data.length === 0) throw new TypeError('Propose needs the encoded entry in data');
      const controller = new AbortController();
      call.on('cancelled', () => controller.abort());
      const { index } = await node.propose(request.data, { signal: controller.signal });
      return { index };
    }, codeOfError),
  };
}

function codeOfError(err: Error): grpc.status {
  return err instanceof NotLeaderError ||
    err instanceof ManagerStoppedError ||
    err instanceof RaftStoppedError
    ? grpc.status.FAILED_PRECONDITION
    : err instanceof LeadershipLostError
      ? grpc.status.ABORTED
      : grpc.status.UNKNOWN;
}

export interface ForwardingProposerOptions {
  /** The local Raft member; undefined once stopped. */
  raft: () => RaftNode | undefined;
  /** The leader's node address (host:port of its gRPC server), when a leader is known. */
  leaderNodeAddress: () => string | undefined;
  /** A client to another manager's node address (cached by the caller). */
  clientFor: (nodeAddr: string) => grpc.Client;
  /** How long a proposal waits for a leader before failing with `quorumLost()`. */
  noLeaderTimeoutMs: number;
  /** The error to fail with when no leader appears (it says how many managers are unreachable). */
  quorumLost: () => Promise<Error>;
  logger: Logger;
}

const RETRY_DELAY_MS = 50;

export class ForwardingProposer implements Proposer {
  /** Typed clients over the caller's cached clients, one per client. */
  private readonly typedClients = new WeakMap<grpc.Client, ForwardingClient>();

  constructor(private readonly options: ForwardingProposerOptions) {}

  private forwardingClient(nodeAddr: string): ForwardingClient {
    const client = this.options.clientFor(nodeAddr);
    let typed = this.typedClients.get(client);
    if (!typed) {
      typed = forwardingClientOn(client);
      this.typedClients.set(client, typed);
    }
    return typed;
  }

  async propose(data: Uint8Array, options: ProposeOptions = {}): Promise<{ index: number }> {
    const { signal } = options;
    const deadline = Date.now() + this.options.noLeaderTimeoutMs;
    for (;;) {
      if (signal?.aborted) throw new AbortError({ cause: signal.reason });
      const raft = this.options.raft();
      if (!raft) throw new ManagerStoppedError();
      if (raft.isLeader) {
        try {
          return await raft.propose(data, { signal });
        } catch (err) {
          // Not yet appended anywhere: safe to try again at the new leader.
          if (!(err instanceof NotLeaderError)) throw err;
        }
      } else {
        const leaderAddr = this.options.leaderNodeAddress();
        if (leaderAddr !== undefined) {
          try {
            const client = this.forwardingClient(leaderAddr);
            const { index } = await callUnary<{ index: number }>(
              (callOptions, callback) => client.propose({ data }, callOptions, callback),
              { signal, timeoutMs: Math.max(this.options.noLeaderTimeoutMs, 5_000) },
            );
            return { index };
          } catch (err) {
            if (!isRetryable(err)) throw translate(err);
            this.options.logger.debug({ leaderAddr, err: (err as Error).message }, 'forwarding retried');
          }
        }
      }
      if (Date.now() >= deadline) throw await this.options.quorumLost();
      await sleep(RETRY_DELAY_MS, signal);
    }
  }
}

/** The leader refused before proposing (no longer leader) or could not be reached at all. */
function isRetryable(err: unknown): boolean {
  return (
    err instanceof RemoteCallError &&
    (err.code === grpc.status.FAILED_PRECONDITION || err.code === grpc.status.UNAVAILABLE)
  );
}

function translate(err: unknown): unknown {
  if (err instanceof RemoteCallError && err.code === grpc.status.ABORTED) {
    return new LeadershipLostError(0, `the leader lost leadership while proposing: ${err.message}`);
  }
  return err;
}
