// `orch service …`: create, inspect, list, scale, update, remove services, list their tasks and
// read their logs, shaped like `docker service …`. Entry: registerServiceCommands(program).
import type { Command } from 'commander';
import { addDataDirOption, type CliContext, defaultCliContext } from '../flags';
import { registerServiceLogsCommand } from './service-logs';
import { registerServiceReadCommands } from './service-read';
import { registerServiceWriteCommands } from './service-write';

export function registerServiceCommands(program: Command, ctx: CliContext = defaultCliContext()): Command {
  // Positional parsing, so that `create IMAGE CMD ARGS...` passes flags after IMAGE to the command.
  const service = program.command('service').description('Manage services').enablePositionalOptions();
  registerServiceWriteCommands(service, ctx);
  registerServiceReadCommands(service, ctx);
  registerServiceLogsCommand(service, ctx);
  addDataDirOption(service);
  return service;
}

export { specFromCreateOptions } from './service-spec-flags';
export { applyUpdateOptions } from './service-write';
