// Swarm's defaults for what a service spec leaves out, filled in by the Control API before the spec
// is validated and stored, so every manager, the orchestrator and `service inspect` see the same
// complete spec: one replica, restart on any exit after 5 s, a 10 s stop grace period, pull when
// missing, and rolling updates one task at a time that pause on failure.
import type { ServiceSpec__Output } from '../../api/gen/types/orch/objects/ServiceSpec';
import type { UpdateConfig__Output } from '../../api/gen/types/orch/objects/UpdateConfig';
import { DEFAULT_RESTART_DELAY_MS } from '../spec';

export const DEFAULT_STOP_GRACE_PERIOD_MS = 10_000;
export const DEFAULT_UPDATE_MONITOR_MS = 5_000;

const MODES = ['replicated', 'global', 'replicatedJob', 'globalJob'] as const;

export function defaultUpdateConfig(): UpdateConfig__Output {
  return {
    parallelism: 1,
    delayMs: 0,
    failureAction: 'UPDATE_FAILURE_ACTION_PAUSE',
    monitorMs: DEFAULT_UPDATE_MONITOR_MS,
    maxFailureRatio: 0,
    order: 'UPDATE_ORDER_STOP_FIRST',
  };
}

/**
 * The spec with Swarm's defaults in place of absent parts. A stop grace period of 0 means "not set"
 * (proto3 cannot tell them apart), as does an absent restart policy or update config.
 */
export function withServiceDefaults(spec: ServiceSpec__Output): ServiceSpec__Output {
  const modes = MODES.filter((m) => spec[m] != null);
  const container = spec.container && {
    ...spec.container,
    stopGracePeriodMs: spec.container.stopGracePeriodMs || DEFAULT_STOP_GRACE_PERIOD_MS,
  };
  return {
    ...spec,
    ...(modes.length === 0
      ? { mode: 'replicated' as const, replicated: { replicas: 1 } }
      : { mode: spec.mode ?? modes[0] }),
    container,
    restartPolicy: spec.restartPolicy ?? {
      condition: 'RESTART_CONDITION_ANY',
      delayMs: DEFAULT_RESTART_DELAY_MS,
      maxAttempts: 0,
      windowMs: 0,
    },
    updateConfig: spec.updateConfig ?? defaultUpdateConfig(),
    rollbackConfig: spec.rollbackConfig ?? defaultUpdateConfig(),
  };
}
