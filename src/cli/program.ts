// Builds the `orch` command tree. One file or folder per noun; this file only wires them together.
import { Command, CommanderError } from 'commander';
import { VERSION } from '../version';
import { registerDaemonCommand } from './daemon';
import { NotImplementedError, UserError } from './errors';
import { registerInfoCommand } from './info';
import { registerInitCommand } from './init';
import { registerJoinCommand } from './join';
import { registerJoinTokenCommand } from './join-token';
import { registerLeaveCommand } from './leave';
import { registerNetworkCommands } from './network';
import { registerNodeCommands } from './node';
import { registerServiceCommands } from './service';

/** Cluster membership commands, in the order `orch --help` lists them. */
const CLUSTER_COMMANDS: ReadonlyArray<(program: Command) => void> = [
  registerInitCommand,
  registerJoinCommand,
  registerJoinTokenCommand,
  registerLeaveCommand,
  registerDaemonCommand,
  registerInfoCommand,
];

/** Command groups not built yet, with the line `orch --help` shows for each. */
const GROUPS: ReadonlyArray<readonly [name: string, summary: string]> = [
  ['stack', 'Deploy and manage stacks from compose files'],
  ['secret', 'Manage secrets'],
  ['config', 'Manage configs'],
];

export function buildProgram(): Command {
  const program = new Command('orch')
    .description('orch: a container orchestrator in the spirit of Docker Swarm mode')
    .version(VERSION, '-v, --version', 'print the version')
    .showHelpAfterError('(run with --help for usage)')
    // Options after a subcommand belong to it: `orch service create IMAGE sh -v` passes -v to the task.
    .enablePositionalOptions();

  for (const register of CLUSTER_COMMANDS) register(program);
  registerNodeCommands(program);
  registerServiceCommands(program);
  registerNetworkCommands(program);
  for (const [name, summary] of GROUPS) {
    program
      .command(name)
      .description(summary)
      .helpOption('-h, --help', `show help for 'orch ${name}'`)
      .allowUnknownOption()
      .allowExcessArguments()
      .action(() => {
        throw new NotImplementedError(name);
      });
  }
  return program;
}

/**
 * Ends the process quietly with exit 0 when whoever reads `stream` went away (EPIPE), as docker and
 * coreutils do: `orch service logs -f web | head` stops when head has its lines. Any other write
 * error stays fatal, as it would be without a listener.
 */
export function exitQuietlyOnBrokenPipe(
  stream: NodeJS.EventEmitter,
  exit: (code: number) => void = (code) => process.exit(code),
): void {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    exit(0);
  });
}

/** Runs the CLI and returns the process exit code; user errors print one line, never a stack. */
export async function runCli(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  program.exitOverride();
  program.configureOutput({ writeErr: (s) => process.stderr.write(s) });
  try {
    await program.parseAsync(argv as string[]);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version are "errors" to commander; they have already been printed.
      return err.code === 'commander.helpDisplayed' || err.code === 'commander.version'
        ? 0
        : err.exitCode || 2;
    }
    if (err instanceof UserError) {
      process.stderr.write(`orch: ${err.message}\n`);
      return err.exitCode;
    }
    throw err;
  }
}
