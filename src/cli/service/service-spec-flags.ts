// `service create` and `service update` flags → a ServiceSpec. Values go through the shared spec
// parsers (src/manager/spec) with the flag as the field, so a wrong value names the flag and the
// accepted form; the Control API validates the whole spec again and fills in Swarm's defaults.
import type { Command } from 'commander';
import type { ServiceSpec } from '../../api/gen/types/orch/objects/ServiceSpec';
import {
  parseConstraint,
  parseCount,
  parseDurationMs,
  parseMemoryBytes,
  parseNanoCpus,
  parseRestartCondition,
  parseSpreadPreference,
  SpecError,
} from '../../manager/spec';
import { collect, parseChoice, parseLabels } from '../flags';
import { parseNetworkFlag } from '../network/network-flag';
import { parseEnv, parseMount, parsePublish, readEnvFiles } from './service-flag-parsers';

/** A spec being built or edited (the generated input shape: what the Control API accepts). */
export type SpecDraft = ServiceSpec;

/** Flags both `create` and `update` take, with the same meaning. */
export interface CommonSpecOptions {
  replicas?: string;
  maxReplicas?: string;
  replicasMaxPerNode?: string;
  reserveCpu?: string;
  reserveMemory?: string;
  limitCpu?: string;
  limitMemory?: string;
  limitPids?: string;
  restartCondition?: string;
  restartDelay?: string;
  restartMaxAttempts?: string;
  restartWindow?: string;
  workdir?: string;
  user?: string;
  hostname?: string;
  stopSignal?: string;
  stopGracePeriod?: string;
  pull?: string;
  entrypoint?: string;
  tty?: boolean;
  updateParallelism?: string;
  updateDelay?: string;
  updateFailureAction?: string;
  updateOrder?: string;
  updateMonitor?: string;
  updateMaxFailureRatio?: string;
  healthCmd?: string;
  healthInterval?: string;
  healthTimeout?: string;
  healthRetries?: string;
  healthStartPeriod?: string;
  /** false with --no-healthcheck (commander's negatable flag). */
  healthcheck?: boolean;
  endpointMode?: string;
}

export interface CreateSpecOptions extends CommonSpecOptions {
  name?: string;
  mode?: string;
  constraint?: string[];
  placementPref?: string[];
  env?: string[];
  envFile?: string[];
  label?: string[];
  containerLabel?: string[];
  mount?: string[];
  publish?: string[];
  network?: string[];
}

export function addCommonSpecOptions(command: Command): Command {
  return command
    .option('--replicas <n>', 'number of tasks')
    .option('--max-replicas <n>', 'maximum number of tasks per node (0 = unlimited)')
    .option('--replicas-max-per-node <n>', 'same as --max-replicas (docker spelling)')
    .option('--reserve-cpu <cpus>', 'reserve CPUs, e.g. 0.5')
    .option('--reserve-memory <bytes>', 'reserve memory, e.g. 512M')
    .option('--limit-cpu <cpus>', 'limit CPUs')
    .option('--limit-memory <bytes>', 'limit memory')
    .option('--limit-pids <n>', 'limit the number of processes (0 = unlimited)')
    .option('--restart-condition <condition>', 'restart when condition is met (none, on-failure, any)')
    .option('--restart-delay <duration>', 'delay between restart attempts (ns|us|ms|s|m|h)')
    .option('--restart-max-attempts <n>', 'maximum number of restarts before giving up')
    .option('--restart-window <duration>', 'window used to evaluate the restart policy')
    .option('-w, --workdir <dir>', 'working directory inside the container')
    .option('-u, --user <user>', 'username or UID (format: <name|uid>[:<group|gid>])')
    .option('--hostname <name>', 'container hostname')
    .option('--stop-signal <signal>', 'signal to stop the container')
    .option('--stop-grace-period <duration>', 'time to wait before force killing a container')
    .option('--pull <policy>', 'when to pull the image (missing, always, never)')
    .option('--entrypoint <command>', 'overwrite the default ENTRYPOINT of the image')
    .option('-t, --tty', 'allocate a pseudo-TTY')
    .option(
      '--update-parallelism <n>',
      'maximum number of tasks updated simultaneously (0 to update all at once)',
    )
    .option('--update-delay <duration>', 'delay between updates')
    .option('--update-failure-action <action>', 'action on update failure (pause, continue, rollback)')
    .option('--update-order <order>', 'update order (start-first, stop-first)')
    .option('--update-monitor <duration>', 'duration after each task update to monitor for failure')
    .option('--update-max-failure-ratio <ratio>', 'failure rate to tolerate during an update')
    .option('--health-cmd <command>', 'command to run to check health (run by the shell)')
    .option('--health-interval <duration>', 'time between running the check')
    .option('--health-timeout <duration>', 'maximum time to allow one check to run')
    .option('--health-retries <n>', 'consecutive failures needed to report unhealthy')
    .option('--health-start-period <duration>', 'start period during which failures do not count')
    .option('--no-healthcheck', 'disable any container-specified HEALTHCHECK')
    .option('--endpoint-mode <mode>', 'endpoint mode (vip or dnsrr)');
}

export function addCreateSpecOptions(command: Command): Command {
  return addCommonSpecOptions(
    command
      .option('--name <name>', 'service name')
      .option('--mode <mode>', 'service mode (replicated, global, replicated-job, global-job)', 'replicated')
      .option('--constraint <expr>', 'placement constraint, e.g. node.labels.zone==east', collect)
      .option('--placement-pref <pref>', 'placement preference, e.g. spread=node.labels.zone', collect)
      .option('-e, --env <KEY=VALUE>', 'set environment variables', collect)
      .option('--env-file <file>', 'read in a file of environment variables', collect)
      .option('-l, --label <KEY=VALUE>', 'service labels', collect)
      .option('--container-label <KEY=VALUE>', 'container labels', collect)
      .option('--mount <mount>', 'attach a filesystem mount to the service', collect)
      .option(
        '-p, --publish <port>',
        'publish a port as a node port (8080:80 or published=8080,target=80)',
        collect,
      )
      .option(
        '--network <network>',
        'attach the service to a network (NAME or name=NAME,alias=ALIAS)',
        collect,
      ),
  );
}

/** The spec `service create` sends for IMAGE [COMMAND...] and the flags. */
export function specFromCreateOptions(
  image: string,
  args: readonly string[],
  o: CreateSpecOptions,
): SpecDraft {
  const mode = parseChoice(o.mode ?? 'replicated', '--mode', [
    'replicated',
    'global',
    'replicated-job',
    'global-job',
  ] as const);
  const ports = (o.publish ?? []).map((p) => parsePublish(p));
  const spec: SpecDraft = {
    name: o.name ?? '',
    labels: parseLabels(o.label, '--label'),
    container: {
      image,
      args: [...args],
      env: [...readEnvFiles(o.envFile ?? []), ...parseEnv(o.env ?? [])],
      labels: parseLabels(o.containerLabel, '--container-label'),
      mounts: (o.mount ?? []).map((m) => parseMount(m)),
    },
    placement: {
      constraints: (o.constraint ?? []).map((c) => {
        parseConstraint(c, '--constraint');
        return c.trim();
      }),
      spreadPreferences: (o.placementPref ?? []).map(
        (p) => parseSpreadPreference(p, '--placement-pref').descriptor,
      ),
    },
    ...(ports.length > 0 ? { endpoint: { mode: 'RESOLUTION_MODE_VIP', ports } } : {}),
    networks: (o.network ?? []).map((value) => parseNetworkFlag(value)),
  };
  if (mode === 'replicated') {
    spec.mode = 'replicated';
    spec.replicated = { replicas: o.replicas === undefined ? 1 : parseCount(o.replicas, '--replicas') };
  } else if (mode === 'replicated-job') {
    const n = o.replicas === undefined ? 1 : parseCount(o.replicas, '--replicas');
    spec.mode = 'replicatedJob';
    spec.replicatedJob = { maxConcurrent: n, totalCompletions: n };
  } else {
    if (o.replicas !== undefined) {
      throw new SpecError(
        '--replicas',
        `replicas can only be used with replicated or replicated-job mode, not ${mode}`,
      );
    }
    spec.mode = mode === 'global' ? 'global' : 'globalJob';
    if (mode === 'global') spec.global = {};
    else spec.globalJob = {};
  }
  applyCommonOptions(spec, o, { replicasHandled: true });
  return spec;
}

/** Applies the flags `create` and `update` share to `spec` (in place). */
export function applyCommonOptions(
  spec: SpecDraft,
  o: CommonSpecOptions,
  { replicasHandled = false } = {},
): void {
  const c = spec.container!;
  if (!replicasHandled && o.replicas !== undefined) {
    const n = parseCount(o.replicas, '--replicas');
    if (spec.mode === 'replicated') spec.replicated = { replicas: n };
    else if (spec.mode === 'replicatedJob') spec.replicatedJob = { ...spec.replicatedJob!, maxConcurrent: n };
    else
      throw new SpecError('--replicas', 'replicas can only be used with replicated or replicated-job mode');
  }
  const maxReplicas = o.maxReplicas ?? o.replicasMaxPerNode;
  if (maxReplicas !== undefined) {
    const flag = o.maxReplicas !== undefined ? '--max-replicas' : '--replicas-max-per-node';
    spec.placement = {
      ...(spec.placement ?? { constraints: [], spreadPreferences: [] }),
      maxReplicasPerNode: parseCount(maxReplicas, flag),
    };
  }
  const resources = spec.resources ?? {
    limits: { nanoCpus: 0, memoryBytes: 0, pids: 0 },
    reservations: { nanoCpus: 0, memoryBytes: 0, pids: 0 },
  };
  const limits = { ...(resources.limits ?? { nanoCpus: 0, memoryBytes: 0, pids: 0 }) };
  const reservations = { ...(resources.reservations ?? { nanoCpus: 0, memoryBytes: 0, pids: 0 }) };
  if (o.reserveCpu !== undefined) reservations.nanoCpus = parseNanoCpus(o.reserveCpu, '--reserve-cpu');
  if (o.reserveMemory !== undefined)
    reservations.memoryBytes = parseMemoryBytes(o.reserveMemory, '--reserve-memory');
  if (o.limitCpu !== undefined) limits.nanoCpus = parseNanoCpus(o.limitCpu, '--limit-cpu');
  if (o.limitMemory !== undefined) limits.memoryBytes = parseMemoryBytes(o.limitMemory, '--limit-memory');
  if (o.limitPids !== undefined) limits.pids = parseCount(o.limitPids, '--limit-pids');
  if ([o.reserveCpu, o.reserveMemory, o.limitCpu, o.limitMemory, o.limitPids].some((v) => v !== undefined)) {
    spec.resources = { limits, reservations };
  }
  if (
    [o.restartCondition, o.restartDelay, o.restartMaxAttempts, o.restartWindow].some((v) => v !== undefined)
  ) {
    const policy = {
      ...(spec.restartPolicy ?? {
        condition: 'RESTART_CONDITION_ANY',
        delayMs: 5_000,
        maxAttempts: 0,
        windowMs: 0,
      }),
    };
    if (o.restartCondition !== undefined)
      policy.condition = parseRestartCondition(o.restartCondition, '--restart-condition');
    if (o.restartDelay !== undefined) policy.delayMs = parseDurationMs(o.restartDelay, '--restart-delay');
    if (o.restartMaxAttempts !== undefined)
      policy.maxAttempts = parseCount(o.restartMaxAttempts, '--restart-max-attempts');
    if (o.restartWindow !== undefined) policy.windowMs = parseDurationMs(o.restartWindow, '--restart-window');
    spec.restartPolicy = policy as SpecDraft['restartPolicy'];
  }
  if (o.workdir !== undefined) c.workdir = o.workdir;
  if (o.user !== undefined) c.user = o.user;
  if (o.hostname !== undefined) c.hostname = o.hostname;
  if (o.stopSignal !== undefined) c.stopSignal = o.stopSignal;
  if (o.stopGracePeriod !== undefined)
    c.stopGracePeriodMs = parseDurationMs(o.stopGracePeriod, '--stop-grace-period');
  if (o.pull !== undefined) {
    const pull = parseChoice(o.pull, '--pull', ['missing', 'always', 'never'] as const);
    c.pullPolicy = `PULL_POLICY_${pull.toUpperCase()}` as typeof c.pullPolicy;
  }
  if (o.entrypoint !== undefined) c.command = o.entrypoint.trim() ? o.entrypoint.trim().split(/\s+/) : [];
  if (o.tty !== undefined) c.tty = o.tty;
  applyUpdateConfigOptions(spec, o);
  applyHealthOptions(spec, o);
  if (o.endpointMode !== undefined) {
    const mode = parseChoice(o.endpointMode, '--endpoint-mode', ['vip', 'dnsrr'] as const);
    spec.endpoint = {
      ...(spec.endpoint ?? { ports: [] }),
      mode: mode === 'dnsrr' ? 'RESOLUTION_MODE_DNSRR' : 'RESOLUTION_MODE_VIP',
    };
  }
}

function applyUpdateConfigOptions(spec: SpecDraft, o: CommonSpecOptions): void {
  const given = [
    o.updateParallelism,
    o.updateDelay,
    o.updateFailureAction,
    o.updateOrder,
    o.updateMonitor,
    o.updateMaxFailureRatio,
  ];
  if (given.every((v) => v === undefined)) return;
  const config = {
    ...(spec.updateConfig ?? {
      parallelism: 1,
      delayMs: 0,
      failureAction: 'UPDATE_FAILURE_ACTION_PAUSE' as const,
      monitorMs: 5_000,
      maxFailureRatio: 0,
      order: 'UPDATE_ORDER_STOP_FIRST' as const,
    }),
  };
  if (o.updateParallelism !== undefined)
    config.parallelism = parseCount(o.updateParallelism, '--update-parallelism');
  if (o.updateDelay !== undefined) config.delayMs = parseDurationMs(o.updateDelay, '--update-delay');
  if (o.updateMonitor !== undefined) config.monitorMs = parseDurationMs(o.updateMonitor, '--update-monitor');
  if (o.updateFailureAction !== undefined) {
    const a = parseChoice(o.updateFailureAction, '--update-failure-action', [
      'pause',
      'continue',
      'rollback',
    ] as const);
    config.failureAction = `UPDATE_FAILURE_ACTION_${a.toUpperCase()}` as typeof config.failureAction;
  }
  if (o.updateOrder !== undefined) {
    const order = parseChoice(o.updateOrder, '--update-order', ['start-first', 'stop-first'] as const);
    config.order = order === 'start-first' ? 'UPDATE_ORDER_START_FIRST' : 'UPDATE_ORDER_STOP_FIRST';
  }
  if (o.updateMaxFailureRatio !== undefined) {
    const ratio = Number(o.updateMaxFailureRatio);
    if (!/^\d*\.?\d+$/.test(o.updateMaxFailureRatio.trim()) || ratio > 1) {
      throw new SpecError(
        '--update-max-failure-ratio',
        `invalid ratio ${JSON.stringify(o.updateMaxFailureRatio)}: expected a number between 0 and 1`,
      );
    }
    config.maxFailureRatio = ratio;
  }
  spec.updateConfig = config;
}

/** `--health-*` and `--no-healthcheck`, like docker's: the command runs through the shell (CMD-SHELL). */
function applyHealthOptions(spec: SpecDraft, o: CommonSpecOptions): void {
  const c = spec.container!;
  const given = [o.healthCmd, o.healthInterval, o.healthTimeout, o.healthRetries, o.healthStartPeriod];
  if (o.healthcheck === false) {
    if (given.some((v) => v !== undefined)) {
      throw new SpecError('--no-healthcheck', 'conflicts with the --health-* options');
    }
    c.healthcheck = { test: ['NONE'] };
    return;
  }
  if (given.every((v) => v === undefined)) return;
  const health = { ...(c.healthcheck ?? {}) };
  if (o.healthCmd !== undefined) health.test = o.healthCmd.trim() ? ['CMD-SHELL', o.healthCmd] : [];
  if (o.healthInterval !== undefined)
    health.intervalMs = parseDurationMs(o.healthInterval, '--health-interval');
  if (o.healthTimeout !== undefined) health.timeoutMs = parseDurationMs(o.healthTimeout, '--health-timeout');
  if (o.healthRetries !== undefined) health.retries = parseCount(o.healthRetries, '--health-retries');
  if (o.healthStartPeriod !== undefined) {
    health.startPeriodMs = parseDurationMs(o.healthStartPeriod, '--health-start-period');
  }
  c.healthcheck = health;
}
