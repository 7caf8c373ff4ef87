// Entry of the service-spec parsers and validators shared by the CLI, compose loading and the
// Control API. Everything here is pure and throws SpecError with a one-line message naming the
// field or flag.

export {
  type Constraint,
  type ConstraintOperator,
  constraintHolds,
  constraintLabel,
  formatConstraint,
  parseConstraint,
  parseConstraints,
} from './spec-constraint';
export { parseCount, parseScaleArgument } from './spec-count';
export { formatNanoCpus, NANO_CPUS_PER_CPU, parseNanoCpus } from './spec-cpu';
export { formatDurationMs, parseDurationMs } from './spec-duration';
export { SpecError } from './spec-error';
export { formatMemoryBytes, parseMemoryBytes } from './spec-memory';
export { parseSpreadPreference, parseSpreadPreferences, type SpreadPreference } from './spec-preference';
export {
  DEFAULT_RESTART_DELAY_MS,
  formatRestartCondition,
  parseRestartCondition,
} from './spec-restart';
export { MIN_MEMORY_LIMIT_BYTES, validateServiceName, validateServiceSpec } from './validate-service-spec';
