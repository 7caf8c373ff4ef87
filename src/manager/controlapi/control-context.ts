// What every Control API operation works with: the manager's store, the cluster operations the
// daemon provides, a logger and a clock (for timestamps the manager writes itself).
import type { Logger } from 'pino';
import type { MemoryStore } from '../../store';
import type { ClusterOps, LogSource } from './cluster-ops';

export interface ControlContext {
  readonly store: MemoryStore;
  readonly ops: ClusterOps;
  readonly logger: Logger;
  readonly clock: () => number;
  readonly logSource?: LogSource;
}

export interface CallOptions {
  signal?: AbortSignal;
}

/** Waits for a Raft read barrier when the caller asked for a linearizable read. */
export async function readBarrier(
  ctx: ControlContext,
  linearizable: boolean,
  options: CallOptions,
): Promise<void> {
  if (linearizable) await ctx.ops.readBarrier({ signal: options.signal });
}
