// Restart policy values as the CLI and compose files spell them (`none`, `on-failure`, `any`) and
// their stored enum, plus Swarm's defaults for fields a user leaves out.

import type { RestartCondition__Output } from '../../api/gen/types/orch/objects/RestartCondition';
import { quote, SpecError } from './spec-error';

const CONDITIONS: Record<string, RestartCondition__Output> = {
  none: 'RESTART_CONDITION_NONE',
  'on-failure': 'RESTART_CONDITION_ON_FAILURE',
  any: 'RESTART_CONDITION_ANY',
};

/** Swarm's default delay between a task stopping and its replacement starting, when unset. */
export const DEFAULT_RESTART_DELAY_MS = 5_000;

/** Parses `none`, `on-failure` or `any`; `field` names the flag or field in the error. */
export function parseRestartCondition(value: string, field = 'restart-condition'): RestartCondition__Output {
  const condition = CONDITIONS[value.trim().toLowerCase()];
  if (!condition)
    throw new SpecError(field, `invalid restart condition ${quote(value)}: expected none, on-failure or any`);
  return condition;
}

/** The CLI spelling of a stored condition: `RESTART_CONDITION_ON_FAILURE` → `on-failure`. */
export function formatRestartCondition(condition: RestartCondition__Output): string {
  return Object.entries(CONDITIONS).find(([, c]) => c === condition)?.[0] ?? 'any';
}
