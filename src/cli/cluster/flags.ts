// Flags shared by the cluster commands (init, join, daemon, leave, join-token, info): the data dir
// (--data-dir, else ORCH_DATA_DIR), addresses and durations with a day unit (`90d`), each turned
// into a one-line UserError naming the flag when it is wrong.
import type { Command } from 'commander';
import {
  AddressError,
  DEFAULT_NODE_PORT,
  formatHostPort,
  parseHostPort,
} from '../../manager/manager-addresses';
import { parseDurationMs } from '../../manager/spec';
import { resolveDataDir } from '../../node/data-dir';
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
