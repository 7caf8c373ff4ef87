// Validation of a whole ServiceSpec at create/update time (Control API) and before sending (CLI).
// It throws the first problem as a SpecError whose field is the spec path
// (`placement.constraints[0]`, `resources.reservations.memoryBytes`), so a rejected request writes
// nothing and the user reads one line. It never fills in defaults: that is the caller's choice.

import type { Resources__Output } from '../../api/gen/types/orch/objects/Resources';
import type { ServiceSpec__Output } from '../../api/gen/types/orch/objects/ServiceSpec';
import { parseConstraints } from './spec-constraint';
import { formatNanoCpus } from './spec-cpu';
import { quote, SpecError } from './spec-error';
import { formatMemoryBytes } from './spec-memory';
import { parseSpreadPreferences } from './spec-preference';

/** A DNS label: task names are `<service>.<slot>`, so a service name has no dots. */
const SERVICE_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9])?$/;
/** Docker refuses memory limits below this: the container would not start. */
export const MIN_MEMORY_LIMIT_BYTES = 6 * 1024 * 1024;
const RESTART_CONDITIONS = [
  'RESTART_CONDITION_ANY',
  'RESTART_CONDITION_ON_FAILURE',
  'RESTART_CONDITION_NONE',
];

type DeepPartialSpec = Partial<ServiceSpec__Output>;

/** Throws a SpecError naming the first invalid field of `spec`; returns normally when it is valid. */
export function validateServiceSpec(spec: DeepPartialSpec): void {
  validateName(spec.name);
  if (!spec.container?.image?.trim()) throw new SpecError('container.image', 'an image is required');
  validateNonNegativeInteger('container.stopGracePeriodMs', spec.container.stopGracePeriodMs ?? 0);
  validateMode(spec);
  validateResources(spec);
  validatePlacement(spec);
  validateRestartPolicy(spec);
  validateEndpoint(spec);
  validateHealthcheck(spec);
  validateUpdateConfig('updateConfig', spec.updateConfig);
  validateUpdateConfig('rollbackConfig', spec.rollbackConfig);
}

export function validateServiceName(name: string | undefined): void {
  validateName(name);
}

function validateName(name: string | undefined): void {
  if (!name) throw new SpecError('name', 'a service name is required');
  if (!SERVICE_NAME.test(name)) {
    throw new SpecError(
      'name',
      `invalid service name ${quote(name)}: use 1 to 63 letters, digits, "-" or "_", starting and ending with a letter or digit`,
    );
  }
}

function validateNonNegativeInteger(field: string, value: unknown): void {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new SpecError(field, `must be a whole number of at least 0, got ${quote(value)}`);
  }
}

function validateMode(spec: DeepPartialSpec): void {
  const set = (['replicated', 'global', 'replicatedJob', 'globalJob'] as const).filter((m) => spec[m]);
  if (set.length > 1) throw new SpecError('mode', `a service has one mode, got ${set.join(' and ')}`);
  const mode = spec.mode ?? set[0];
  if (!mode || (spec.mode && !spec[spec.mode])) {
    throw new SpecError('mode', 'set replicated (with replicas), global, replicatedJob or globalJob');
  }
  if (mode !== 'replicated' && (spec.placement?.maxReplicasPerNode ?? 0) > 0 && mode !== 'replicatedJob') {
    throw new SpecError('placement.maxReplicasPerNode', 'only applies to replicated services');
  }
  if (mode === 'replicated') validateNonNegativeInteger('replicated.replicas', spec.replicated!.replicas);
  if (mode === 'replicatedJob') {
    validateNonNegativeInteger('replicatedJob.maxConcurrent', spec.replicatedJob!.maxConcurrent);
    validateNonNegativeInteger('replicatedJob.totalCompletions', spec.replicatedJob!.totalCompletions);
  }
}

function validateResources(spec: DeepPartialSpec): void {
  const limits = spec.resources?.limits;
  const reservations = spec.resources?.reservations;
  for (const [name, resources] of [
    ['limits', limits],
    ['reservations', reservations],
  ] as const) {
    if (!resources) continue;
    validateNonNegativeInteger(`resources.${name}.nanoCpus`, resources.nanoCpus);
    validateNonNegativeInteger(`resources.${name}.memoryBytes`, resources.memoryBytes);
    validateNonNegativeInteger(`resources.${name}.pids`, resources.pids);
  }
  if (limits && limits.memoryBytes > 0 && limits.memoryBytes < MIN_MEMORY_LIMIT_BYTES) {
    throw new SpecError(
      'resources.limits.memoryBytes',
      `${formatMemoryBytes(limits.memoryBytes)} is below the minimum memory limit of ${formatMemoryBytes(MIN_MEMORY_LIMIT_BYTES)}`,
    );
  }
  if (limits && reservations) validateReservationsWithinLimits(limits, reservations);
}

function validateReservationsWithinLimits(limits: Resources__Output, reservations: Resources__Output): void {
  if (limits.nanoCpus > 0 && reservations.nanoCpus > limits.nanoCpus) {
    throw new SpecError(
      'resources.reservations.nanoCpus',
      `reservation of ${formatNanoCpus(reservations.nanoCpus)} CPUs exceeds the limit of ${formatNanoCpus(limits.nanoCpus)}`,
    );
  }
  if (limits.memoryBytes > 0 && reservations.memoryBytes > limits.memoryBytes) {
    throw new SpecError(
      'resources.reservations.memoryBytes',
      `reservation of ${formatMemoryBytes(reservations.memoryBytes)} exceeds the limit of ${formatMemoryBytes(limits.memoryBytes)}`,
    );
  }
}

function validatePlacement(spec: DeepPartialSpec): void {
  const placement = spec.placement;
  if (!placement) return;
  parseConstraints(placement.constraints ?? [], 'placement.constraints');
  parseSpreadPreferences(placement.spreadPreferences ?? [], 'placement.spreadPreferences');
  validateNonNegativeInteger('placement.maxReplicasPerNode', placement.maxReplicasPerNode ?? 0);
}

function validateRestartPolicy(spec: DeepPartialSpec): void {
  const policy = spec.restartPolicy;
  if (!policy) return;
  if (!RESTART_CONDITIONS.includes(policy.condition)) {
    throw new SpecError(
      'restartPolicy.condition',
      `invalid condition ${quote(policy.condition)}: expected none, on-failure or any`,
    );
  }
  validateNonNegativeInteger('restartPolicy.delayMs', policy.delayMs);
  validateNonNegativeInteger('restartPolicy.maxAttempts', policy.maxAttempts);
  validateNonNegativeInteger('restartPolicy.windowMs', policy.windowMs);
}

function validateEndpoint(spec: DeepPartialSpec): void {
  const seen = new Map<string, number>();
  (spec.endpoint?.ports ?? []).forEach((port, i) => {
    const field = `endpoint.ports[${i}]`;
    if (!Number.isInteger(port.targetPort) || port.targetPort < 1 || port.targetPort > 65535) {
      throw new SpecError(
        `${field}.targetPort`,
        `must be a port between 1 and 65535, got ${quote(port.targetPort)}`,
      );
    }
    if (!Number.isInteger(port.publishedPort) || port.publishedPort < 0 || port.publishedPort > 65535) {
      throw new SpecError(
        `${field}.publishedPort`,
        `must be a port between 1 and 65535 (or 0 to have one assigned), got ${quote(port.publishedPort)}`,
      );
    }
    if (port.publishedPort === 0) return;
    const key = `${port.publishedPort}/${port.protocol === 'PORT_PROTOCOL_UDP' ? 'udp' : 'tcp'}`;
    const earlier = seen.get(key);
    if (earlier !== undefined) {
      throw new SpecError(
        `${field}.publishedPort`,
        `port ${key} is already published by endpoint.ports[${earlier}]`,
      );
    }
    seen.set(key, i);
  });
}

function validateHealthcheck(spec: DeepPartialSpec): void {
  const health = spec.container?.healthcheck;
  if (!health) return;
  const test = health.test ?? [];
  if (test.length > 0 && !['NONE', 'CMD', 'CMD-SHELL'].includes(test[0]!)) {
    throw new SpecError(
      'container.healthcheck.test',
      `must start with NONE, CMD or CMD-SHELL, got ${quote(test[0])}`,
    );
  }
  for (const name of ['intervalMs', 'timeoutMs', 'retries', 'startPeriodMs'] as const) {
    validateNonNegativeInteger(`container.healthcheck.${name}`, health[name] ?? 0);
  }
}

function validateUpdateConfig(
  field: 'updateConfig' | 'rollbackConfig',
  config: DeepPartialSpec['updateConfig'],
): void {
  if (!config) return;
  validateNonNegativeInteger(`${field}.parallelism`, config.parallelism);
  validateNonNegativeInteger(`${field}.delayMs`, config.delayMs);
  validateNonNegativeInteger(`${field}.monitorMs`, config.monitorMs);
  const ratio = config.maxFailureRatio;
  if (typeof ratio !== 'number' || !(ratio >= 0 && ratio <= 1)) {
    throw new SpecError(`${field}.maxFailureRatio`, `must be between 0 and 1, got ${quote(ratio)}`);
  }
}
