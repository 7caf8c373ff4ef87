// The one entry point the manager calls when its node becomes the Raft leader: starts every
// leader-only loop over the replicated store, and returns a handle whose stop() ends them all when
// leadership is lost. Start order: allocator (rebuilds the published-port book before anyone relies
// on it), scheduler (has its view of nodes and tasks before new tasks arrive), node-failure handling,
// orchestrator (creates and shuts down tasks), task reaper. stop() stops them in reverse order, each
// waiting for its pass in flight; once it resolves none of them proposes anything more.

import type { Logger } from 'pino';
import { silentLogger } from '../../common/logger';
import type { MemoryStore } from '../../store';
import { AllocatorLoop } from '../allocator/allocator-loop';
import type { NetworkAllocator } from '../allocator/network-hooks';
import type { PortRange } from '../allocator/port-allocator';
import type { SchedulerOptions } from '../scheduler/scheduler';
import { type LoopClock, systemLoopClock } from './loop-clock';
import { NodeFailureLoop } from './node-failure-loop';
import { OrchestratorLoop } from './orchestrator-loop';
import type { ChunkLimits } from './pass-budget';
import { SchedulerLoop } from './scheduler-loop';
import type { ManagedLoop } from './store-loop';
import { TaskReaper } from './task-reaper';

export interface LeaderLoopsOptions {
  /** Least gap between two passes of a loop (a change after an idle period runs at once). Default 50 ms. */
  readonly debounceMs?: number;
  /** Back-off before a failed pass is retried. Default 500 ms. */
  readonly retryDelayMs?: number;
  /** Node down this long: its unfinished tasks are declared orphaned. Default 24 h. */
  readonly orphanAfterMs?: number;
  /** Task IDs (deterministic tests). Default random. */
  readonly newTaskId?: () => string;
  /** Virtual IPs and network attachments (the networks work). Default none. */
  readonly networks?: NetworkAllocator;
  /** Published ports the cluster picks. Default 30000–32767. */
  readonly dynamicPortRange?: PortRange;
  readonly scheduler?: SchedulerOptions;
  /** How much work the orchestrator, scheduler and node-failure passes do between yields. */
  readonly chunkLimits?: ChunkLimits;
}

export interface StartLeaderLoopsParams {
  readonly store: MemoryStore;
  readonly logger?: Logger;
  readonly clock?: LoopClock;
  readonly options?: LeaderLoopsOptions;
}

export interface LeaderLoops {
  readonly allocator: AllocatorLoop;
  readonly scheduler: SchedulerLoop;
  readonly nodeFailures: NodeFailureLoop;
  readonly orchestrator: OrchestratorLoop;
  readonly taskReaper: TaskReaper;
  /** Whether any loop has a pass running or due (tests wait for this to be false). */
  readonly isBusy: boolean;
  /** Stops every loop; resolves when none can write any more. Idempotent. */
  stop(): Promise<void>;
}

export function startLeaderLoops(params: StartLeaderLoopsParams): LeaderLoops {
  const options = params.options ?? {};
  const common = {
    store: params.store,
    logger: (params.logger ?? silentLogger()).child({ component: 'leader-loops' }),
    clock: params.clock ?? systemLoopClock,
    debounceMs: options.debounceMs,
    retryDelayMs: options.retryDelayMs,
    chunkLimits: options.chunkLimits,
  };
  const allocator = new AllocatorLoop({
    ...common,
    networks: options.networks,
    dynamicPortRange: options.dynamicPortRange,
  });
  const scheduler = new SchedulerLoop({ ...common, scheduler: options.scheduler });
  const nodeFailures = new NodeFailureLoop({ ...common, orphanAfterMs: options.orphanAfterMs });
  const orchestrator = new OrchestratorLoop({ ...common, newTaskId: options.newTaskId });
  const taskReaper = new TaskReaper(common);
  const ordered: ManagedLoop[] = [allocator, scheduler, nodeFailures, orchestrator, taskReaper];
  const started: ManagedLoop[] = [];
  try {
    for (const loop of ordered) {
      loop.start();
      started.push(loop);
    }
  } catch (err) {
    for (const loop of started.reverse()) void loop.stop();
    throw err;
  }
  common.logger.info('leader loops started');
  let stopping: Promise<void> | undefined;
  return {
    allocator,
    scheduler,
    nodeFailures,
    orchestrator,
    taskReaper,
    get isBusy() {
      return ordered.some((loop) => loop.isBusy);
    },
    stop() {
      stopping ??= (async () => {
        for (const loop of [...ordered].reverse()) await loop.stop();
        common.logger.info('leader loops stopped');
      })();
      return stopping;
    },
  };
}
