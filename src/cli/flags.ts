// What the `node` and `service` commands share: where they write (injectable, so tests run them
// in-process), how they reach the node (the data dir and the control client), repeatable flags,
// KEY=VALUE parsing, and turning spec errors into one-line user errors that name the flag.
import type { Command } from 'commander';
import { SpecError } from '../manager/spec';
import { ControlApiClient } from './control-client';
import { UserError } from './errors';

export interface CliContext {
  /** Writes to standard output / standard error. */
  out(text: string): void;
  err(text: string): void;
  /** Whether standard output is a terminal (progress redraws in place when it is). */
  isTTY: boolean;
  now(): number;
  /** Opens a Control API client for a data dir (undefined: ORCH_DATA_DIR or the default). */
  connect(dataDir: string | undefined): ControlApiClient;
  /** How often convergence progress polls the manager. */
  progressPollMs: number;
  /** How long tasks must stay running before a service counts as converged (docker: 5 s). */
  progressVerifyMs: number;
  /** How long a task may stay pending with a scheduler reason before convergence is given up. */
  progressPendingLimitMs: number;
  /** Ends long waits (progress, `logs -f`). */
  signal?: AbortSignal;
  /**
   * Calls `handler` on the user's interrupt (Ctrl-C) while a long wait runs, instead of the default
   * exit; returns the function that restores the default.
   */
  onInterrupt?(handler: () => void): () => void;
}

/** A signal for one long wait: aborted by `ctx.signal` or by the user's interrupt. Call `done()` after. */
export function interruptibleWait(ctx: CliContext): { signal: AbortSignal; done(): void } {
  const controller = new AbortController();
  const abort = () => controller.abort();
  ctx.signal?.addEventListener('abort', abort, { once: true });
  if (ctx.signal?.aborted) controller.abort();
  const restore = ctx.onInterrupt?.(abort);
  return {
    signal: controller.signal,
    done() {
      ctx.signal?.removeEventListener('abort', abort);
      restore?.();
    },
  };
}

export function defaultCliContext(): CliContext {
  return {
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
    isTTY: process.stdout.isTTY === true,
    now: Date.now,
    connect: (dataDir) => new ControlApiClient(dataDir === undefined ? {} : { dataDir }),
    progressPollMs: 500,
    progressVerifyMs: 5_000,
    progressPendingLimitMs: 10_000,
    onInterrupt(handler) {
      process.once('SIGINT', handler);
      return () => process.off('SIGINT', handler);
    },
  };
}

/**
 * Adds `--data-dir` to every subcommand of `group` unless an ancestor (the program) already has it.
 * It goes on the leaves so that `orch service ls --data-dir X` works even though the groups parse
 * positionally (`service create IMAGE CMD -f` must hand `-f` to the container command).
 */
export function addDataDirOption(group: Command): void {
  for (let c: Command | null = group.parent; c; c = c.parent) {
    if (c.options.some((o) => o.long === '--data-dir')) return;
  }
  for (const leaf of group.commands) {
    leaf.option(
      '--data-dir <dir>',
      "the local node's data dir (default: $ORCH_DATA_DIR, /var/lib/orch or ~/.orch)",
    );
  }
}

/** Runs `fn` with a client for the command's data dir and closes it afterwards. */
export async function withClient<R>(
  ctx: CliContext,
  command: Command,
  fn: (client: ControlApiClient) => Promise<R>,
): Promise<R> {
  const dataDir = command.optsWithGlobals<{ dataDir?: string }>().dataDir;
  const client = ctx.connect(dataDir);
  try {
    return await fn(client);
  } finally {
    client.close();
  }
}

/**
 * Wraps a command action so that spec errors (which name the flag) become user errors: one line,
 * exit code 1, no stack.
 */
export function action<A extends unknown[]>(
  fn: (...args: A) => Promise<void>,
): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (err) {
      if (err instanceof SpecError) throw new UserError(err.message, 1, { cause: err });
      throw err;
    }
  };
}

/** Commander reducer for a repeatable flag: `--label a=1 --label b=2`. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** `KEY=VALUE` (VALUE may be empty; `KEY` alone when `valueOptional`). */
export function parseKeyValue(text: string, flag: string, valueOptional = false): [string, string] {
  const eq = text.indexOf('=');
  const key = (eq < 0 ? text : text.slice(0, eq)).trim();
  if (!key || (eq < 0 && !valueOptional)) {
    throw new SpecError(flag, `invalid value ${JSON.stringify(text)}: expected KEY=VALUE`);
  }
  return [key, eq < 0 ? '' : text.slice(eq + 1)];
}

/** Labels from repeated `KEY=VALUE` flags (docker allows `KEY` alone for an empty value). */
export function parseLabels(values: readonly string[] | undefined, flag: string): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const value of values ?? []) {
    const [key, v] = parseKeyValue(value, flag, true);
    labels[key] = v;
  }
  return labels;
}

/** One of `choices` (case-insensitive), or a SpecError listing them. */
export function parseChoice<T extends string>(value: string, flag: string, choices: readonly T[]): T {
  const found = choices.find((c) => c === value.trim().toLowerCase());
  if (!found) {
    throw new SpecError(flag, `invalid value ${JSON.stringify(value)}: expected ${choices.join(', ')}`);
  }
  return found;
}

/** Docker's `-f key=value` filters, grouped by key, with the accepted keys checked. */
export function parseFilters(
  values: readonly string[] | undefined,
  accepted: readonly string[],
): Map<string, string[]> {
  const filters = new Map<string, string[]>();
  for (const value of values ?? []) {
    const [key, v] = parseKeyValue(value, '--filter');
    if (!accepted.includes(key)) {
      throw new SpecError(
        '--filter',
        `invalid filter ${JSON.stringify(key)}: expected one of ${accepted.join(', ')}`,
      );
    }
    filters.set(key, [...(filters.get(key) ?? []), v]);
  }
  return filters;
}

/** Runs `fn` for every argument, reports each failure on stderr, and fails at the end if any did (docker's `rm`). */
export async function forEachArgument(
  ctx: CliContext,
  args: readonly string[],
  fn: (arg: string) => Promise<void>,
): Promise<void> {
  const failures: string[] = [];
  for (const arg of args) {
    try {
      await fn(arg);
    } catch (err) {
      if (!(err instanceof UserError)) throw err;
      failures.push(err.message);
    }
  }
  if (failures.length === 1) throw new UserError(failures[0]!);
  if (failures.length > 1) {
    for (const failure of failures.slice(0, -1)) ctx.err(`orch: ${failure}\n`);
    throw new UserError(failures.at(-1)!);
  }
}

/** The options every `ls` takes, as docker's: `-q`, `-f KEY=VALUE...`, `--format table|json`. */
export interface ListOptions {
  quiet?: boolean;
  filter?: string[];
  format: string;
}

/** Adds the `ls` options; `filterHelp` names the filter keys the command accepts. */
export function addListOptions(
  command: Command,
  filterHelp: string,
  quietHelp = 'only display IDs',
): Command {
  return command
    .option('-q, --quiet', quietHelp)
    .option('-f, --filter <filter>', `filter output (${filterHelp})`, collect)
    .option('--format <format>', "'table' or 'json' (one JSON object per line)", 'table');
}

/** The output format and the filters of an `ls`, each checked (a wrong one names its flag). */
export function parseListOptions(
  opts: ListOptions,
  filterKeys: readonly string[],
): { format: 'table' | 'json'; filters: Map<string, string[]> } {
  return {
    format: parseChoice(opts.format, '--format', ['table', 'json'] as const),
    filters: parseFilters(opts.filter, filterKeys),
  };
}
