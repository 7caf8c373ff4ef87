// Flags shared by the cluster commands (init, join, daemon, leave, join-token, info): the data dir
// (--data-dir, else ORCH_DATA_DIR), addresses, durations with a day unit (`90d`) and the daemon
// settings (executor, routing mesh, metrics, node hostname), each turned into a one-line UserError naming the flag
// when it is wrong.
import type { Command } from 'commander';
import {
  AddressError,
  DEFAULT_NODE_PORT,
  formatHostPort,
  parseHostPort,
} from '../../manager/manager-addresses';
import { parseDurationMs } from '../../manager/spec';
import { resolveDataDir } from '../../node/data-dir';
import type {
  DaemonSettings,
  ExecutorKind,
  MeshFastPathMode,
  MeshLoadBalancing,
} from '../../node/node-state';
import { UserError } from '../errors';

const DAY_MS = 24 * 3600 * 1000;

export function addDataDirOption(command: Command): Command {
  return command.option(
    '--data-dir <dir>',
    'the node data directory (default: $ORCH_DATA_DIR, /var/lib/orch or ~/.orch)',
  );
}

export function dataDirFrom(options: { dataDir?: string }): string {
  return resolveDataDir(options.dataDir);
}

/** Go-style durations (`5s`, `1m30s`) plus whole or fractional days (`90d`, `1.5d`, `1d12h`). */
export function parseDurationFlag(value: string, flag: string): number {
  const text = value.trim();
  const days = /^(\d+(?:\.\d+)?)d(.*)$/.exec(text);
  try {
    if (days) {
      const rest = days[2] === '' ? 0 : parseDurationMs(days[2]!, flag);
      return Math.round(Number(days[1]) * DAY_MS) + rest;
    }
    return parseDurationMs(text, flag);
  } catch (err) {
    throw new UserError(
      `${flag}: invalid duration ${JSON.stringify(value)}: expected e.g. 90d, 12h, 5s or 500ms`,
      1,
      {
        cause: err,
      },
    );
  }
}

/** A positive duration flag. */
export function parsePositiveDurationFlag(value: string, flag: string): number {
  const ms = parseDurationFlag(value, flag);
  if (ms <= 0) throw new UserError(`${flag}: must be more than 0`);
  return ms;
}

/** host:port (default port 4242) as a normalised string, or a UserError naming the flag. */
export function parseAddressFlag(value: string, flag: string): string {
  try {
    return formatHostPort(parseHostPort(value, flag, DEFAULT_NODE_PORT));
  } catch (err) {
    if (err instanceof AddressError) throw new UserError(err.message, 1, { cause: err });
    throw err;
  }
}

/** True for 0.0.0.0 / :: (every interface). */
export function isUnspecifiedHost(addr: string): boolean {
  const { host } = parseHostPort(addr, 'address');
  return host === '0.0.0.0' || host === '::' || host === '[::]';
}

/**
 * The addresses a node uses: it listens on exactly what it is given, and advertises the listen
 * address unless told otherwise. Listening on every interface needs an explicit advertise address.
 */
export function resolveNodeAddresses(options: { listenAddr?: string; advertiseAddr?: string }): {
  listenAddr: string;
  advertiseAddr: string;
} {
  const advertise = options.advertiseAddr
    ? parseAddressFlag(options.advertiseAddr, '--advertise-addr')
    : undefined;
  const listen = options.listenAddr
    ? parseAddressFlag(options.listenAddr, '--listen-addr')
    : (advertise ?? `127.0.0.1:${DEFAULT_NODE_PORT}`);
  if (!advertise && isUnspecifiedHost(listen)) {
    throw new UserError(
      `--advertise-addr is required when listening on all interfaces (--listen-addr ${listen})`,
    );
  }
  return { listenAddr: listen, advertiseAddr: advertise ?? listen };
}

/** The daemon settings flags as commander hands them (init, join and daemon share them). */
export interface DaemonSettingsOptions {
  executor?: string;
  meshAddr?: string;
  meshLb?: string;
  meshFastPath?: string;
  meshWorkers?: string;
  metricsAddr?: string;
  hostname?: string;
}

/**
 * Adds --executor, --mesh-addr, --mesh-lb, --mesh-fast-path, --mesh-workers, --metrics-addr and
 * --hostname.
 */
export function addDaemonSettingsOptions(command: Command): Command {
  return command
    .option('--executor <kind>', 'what runs the tasks: docker (the real engine) or hollow (simulated)')
    .option(
      '--mesh-addr <ip>',
      'address the routing mesh listens on and binds task ports to (default: the advertise host)',
    )
    .option('--mesh-lb <mode>', 'routing mesh load balancing: round-robin (default) or least-connections')
    .option(
      '--mesh-fast-path <auto|on|off>',
      'route round-robin services in the kernel (nftables): auto (default: when root and nft allow), on (required), off',
    )
    .option(
      '--mesh-workers <n|auto>',
      "processes serving the routing mesh's TCP ports: auto (default, one per core), or a number (0: the daemon itself)",
    )
    .option(
      '--metrics-addr <host:port>',
      'serve Prometheus metrics on http://host:port/metrics (default: off)',
    )
    .option(
      '--hostname <name>',
      "the node's name in the cluster (default: the machine's hostname; '' goes back to it)",
    );
}

const EXECUTORS: readonly ExecutorKind[] = ['docker', 'hollow'];
const MESH_LBS: readonly MeshLoadBalancing[] = ['round-robin', 'least-connections'];

/** The executor named by `--executor`, else ORCH_EXECUTOR (kept as a fallback), else undefined. */
export function parseExecutorFlag(
  value: string | undefined,
  env = process.env.ORCH_EXECUTOR,
): ExecutorKind | undefined {
  if (value !== undefined) {
    if (!EXECUTORS.includes(value as ExecutorKind)) {
      throw new UserError(
        `--executor: ${JSON.stringify(value)} is not an executor: expected docker or hollow`,
      );
    }
    return value as ExecutorKind;
  }
  if (env === undefined || env === '') return undefined;
  if (!EXECUTORS.includes(env as ExecutorKind)) {
    throw new UserError(
      `ORCH_EXECUTOR=${env} is not an executor: expected docker or hollow (or use --executor)`,
    );
  }
  return env as ExecutorKind;
}

/** --mesh-addr: one IP address or host name, no port, not a wildcard (the mesh binds exactly it). */
export function parseMeshAddrFlag(value: string): string {
  const text = value.trim();
  const host = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  const ipv4 = /^\d{1,3}(\.\d{1,3}){3}$/.test(host) && host.split('.').every((part) => Number(part) <= 255);
  const ipv6 = (host.match(/:/g) ?? []).length >= 2 && /^[0-9a-fA-F:.]+$/.test(host);
  const name =
    /^[a-zA-Z0-9]([a-zA-Z0-9-]{0,62})(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,62}))*$/.test(host) &&
    !/^[\d.]+$/.test(host);
  if (!ipv4 && !ipv6 && !name) {
    throw new UserError(
      `--mesh-addr: ${JSON.stringify(value)} is not an address: expected an IP address or host name without a port, e.g. 127.0.0.2`,
    );
  }
  if (host === '0.0.0.0' || host === '::') {
    throw new UserError(
      `--mesh-addr: ${host} is every interface; give the one address the mesh should listen on`,
    );
  }
  return host;
}

/** --mesh-lb: round-robin or least-connections. */
export function parseMeshLbFlag(value: string): MeshLoadBalancing {
  if (!MESH_LBS.includes(value as MeshLoadBalancing)) {
    throw new UserError(`--mesh-lb: ${JSON.stringify(value)} is not one of round-robin, least-connections`);
  }
  return value as MeshLoadBalancing;
}

/** The most --mesh-workers accepts: more processes than this only cost memory. */
export const MAX_MESH_WORKERS = 64;

/** --mesh-workers: auto, or a whole number 0-64. */
export function parseMeshWorkersFlag(value: string): number | 'auto' {
  const text = value.trim();
  if (text === 'auto') return 'auto';
  if (!/^\d+$/.test(text) || Number(text) > MAX_MESH_WORKERS) {
    throw new UserError(
      `--mesh-workers: ${JSON.stringify(value)} is not auto or a whole number 0-${MAX_MESH_WORKERS}`,
    );
  }
  return Number(text);
}

/** --mesh-fast-path: auto, on or off. */
export function parseMeshFastPathFlag(value: string): MeshFastPathMode {
  const text = value.trim();
  if (text !== 'auto' && text !== 'on' && text !== 'off') {
    throw new UserError(`--mesh-fast-path: ${JSON.stringify(value)} is not one of auto, on, off`);
  }
  return text;
}

/** --metrics-addr: host:port with an explicit port (0: any free port). */
export function parseMetricsAddrFlag(value: string): string {
  const text = value.trim();
  if (!/:\d{1,5}$/.test(text)) {
    throw new UserError(
      `--metrics-addr: ${JSON.stringify(value)} needs a port: expected host:port, e.g. 127.0.0.1:9323`,
    );
  }
  const port = Number(text.slice(text.lastIndexOf(':') + 1));
  if (port > 65535) throw new UserError(`--metrics-addr: port ${port} is out of range (0-65535)`);
  try {
    // Reuse the address grammar (brackets for IPv6); port 0 is allowed here.
    const { host } = parseHostPort(
      port === 0 ? `${text.slice(0, text.lastIndexOf(':'))}:1` : text,
      '--metrics-addr',
    );
    return formatHostPort({ host, port });
  } catch (err) {
    if (err instanceof AddressError) throw new UserError(err.message, 1, { cause: err });
    throw err;
  }
}

const HOSTNAME_PATTERN =
  /^[a-zA-Z0-9]([a-zA-Z0-9_-]{0,61}[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9_-]{0,61}[a-zA-Z0-9])?)*$/;

/** --hostname: a DNS host name (labels of letters, digits, '-' and '_', dot-separated; 253 at most). */
export function parseHostnameFlag(value: string): string {
  const name = value.trim();
  if (name.length > 253 || !HOSTNAME_PATTERN.test(name)) {
    throw new UserError(
      `--hostname: ${JSON.stringify(value)} is not a host name: expected letters, digits, '-', '_' and dots, e.g. worker-1`,
    );
  }
  return name;
}

/**
 * The settings the flags give, over `base` (what the node kept): only flags given change anything.
 * `executorEnv` is ORCH_EXECUTOR, used when neither the flag nor `base` names an executor.
 */
export function daemonSettingsFrom(
  options: DaemonSettingsOptions,
  base: DaemonSettings = {},
  executorEnv = process.env.ORCH_EXECUTOR,
): DaemonSettings {
  const settings: DaemonSettings = { ...base };
  const executor =
    options.executor !== undefined
      ? parseExecutorFlag(options.executor)
      : (base.executor ?? parseExecutorFlag(undefined, executorEnv));
  if (executor !== undefined) settings.executor = executor;
  if (options.meshAddr !== undefined) settings.meshAddr = parseMeshAddrFlag(options.meshAddr);
  if (options.meshLb !== undefined) settings.meshLb = parseMeshLbFlag(options.meshLb);
  if (options.meshFastPath !== undefined) settings.meshFastPath = parseMeshFastPathFlag(options.meshFastPath);
  if (options.meshWorkers !== undefined) settings.meshWorkers = parseMeshWorkersFlag(options.meshWorkers);
  if (options.metricsAddr === 'off') delete settings.metricsAddr;
  else if (options.metricsAddr !== undefined)
    settings.metricsAddr = parseMetricsAddrFlag(options.metricsAddr);
  if (options.hostname?.trim() === '') delete settings.hostname;
  else if (options.hostname !== undefined) settings.hostname = parseHostnameFlag(options.hostname);
  return settings;
}
