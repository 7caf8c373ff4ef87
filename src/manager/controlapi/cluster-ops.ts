// What the Control API needs from the rest of the manager, as small interfaces the daemon implements
// and tests fake: Raft reads and membership, the CA's join tokens, who the leader is and how to reach
// it, and where task logs come from. The Control API itself only reads and writes the store.
import type { Metadata } from '@grpc/grpc-js';
import type { Info } from '../../api/gen/types/orch/control/Info';
import type { JoinTokens } from '../../api/gen/types/orch/control/JoinTokens';
import type { LogMessage } from '../../api/gen/types/orch/control/LogMessage';
import type { Task } from '../../store';

export interface OpOptions {
  signal?: AbortSignal;
}

/**
 * Cluster operations that need Raft membership or the CA. Promotion and demotion are not here: like
 * Swarm, the Control API records them as the node's `spec.desiredRole` and the manager's role
 * reconciler moves Raft membership and `node.role` to match.
 */
export interface ClusterOps {
  /**
   * Resolves once the local store has applied everything the cluster had committed when it was
   * called (Raft ReadIndex), so a read that follows is linearizable. Rejects with the Raft error
   * when no leader confirms it (NotLeaderError, QuorumLostError, aborted).
   */
  readBarrier(options?: OpOptions): Promise<void>;
  /** Takes a manager out of the Raft membership (`node rm --force` of a manager). */
  removeMember(nodeId: string, options?: OpOptions): Promise<void>;
  /** The current join tokens, after rotating the ones asked for. */
  joinTokens(rotate: { worker: boolean; manager: boolean }, options?: OpOptions): Promise<JoinTokens>;
  /** What this node knows about itself and the cluster (no secrets). */
  info(options?: OpOptions): Promise<Info>;
}

/** The Control methods that change the cluster: on a follower they go to the leader. */
export const CONTROL_WRITE_METHODS = [
  'UpdateNode',
  'RemoveNode',
  'PromoteNode',
  'DemoteNode',
  'CreateService',
  'UpdateService',
  'RemoveService',
  'ScaleService',
  'CreateNetwork',
  'RemoveNetwork',
  'GetJoinTokens',
] as const;

export type ControlWriteMethod = (typeof CONTROL_WRITE_METHODS)[number];

/** Metadata key a forwarding manager sets, so a request is forwarded at most once. */
export const FORWARDED_METADATA_KEY = 'orch-forwarded-by';

export interface ForwardOptions {
  signal: AbortSignal;
  /** Send these with the call (they mark it as forwarded). */
  metadata: Metadata;
  /** The original caller's deadline, when it had one. */
  deadline?: Date;
}

/**
 * How a follower hands a write to the leader. The daemon implements it with a Control client to the
 * leader over mutual TLS. `forward` resolves with the leader's response, rejects with the leader's
 * gRPC status error unchanged (it is passed on to the caller as is), or rejects with NoLeaderError
 * when no leader is known or reachable.
 */
export interface LeaderForwarder {
  isLeader(): boolean;
  /** This manager's node ID, sent in the forwarding mark for the leader's logs. */
  readonly nodeId: string;
  forward(method: ControlWriteMethod, request: unknown, options: ForwardOptions): Promise<unknown>;
}

/** Which logs `ServiceLogs` wants, with every reference already resolved. */
export interface LogSelection {
  /** Services whose tasks (present and, with follow, future ones) are wanted. */
  serviceIds: readonly string[];
  /** Tasks wanted on their own (`service logs TASK`). */
  taskIds: readonly string[];
  /** The tasks known now for the selection (services' tasks and the named tasks). */
  tasks: readonly Task[];
  follow: boolean;
  /** Last lines per task; negative: all. */
  tail: number;
  /** Only lines at or after this time; 0: from the start. */
  sinceMs: number;
}

/**
 * Where task logs come from (the dispatcher collects them from the agents). It yields batches of
 * lines in order per task; without `follow` it ends when what exists has been sent, with `follow` it
 * runs until `signal` aborts. It must stop reading and release everything when `signal` aborts.
 */
export interface LogSource {
  logs(selection: LogSelection, options: { signal: AbortSignal }): AsyncIterable<readonly LogMessage[]>;
}
