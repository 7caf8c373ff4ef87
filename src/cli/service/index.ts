// `orch service …`: create, inspect, list, scale, update, remove services, list their tasks and
// read their logs, shaped like `docker service …`. Entry: registerServiceCommands(program).
import type { Command } from 'commander';
import { addDataDirOption, type CliContext, defaultCliContext } from '../flags';
import { registerServiceLogsCommand } from './service-logs';
import { registerServiceReadCommands } from './service-read';
import { registerServiceWriteCommands } from './service-write';

export function registerServiceCommands(program: Command, ctx: CliContext = defaultCliContext()): Command {
  const service = program.command('service').description('Manage services');
  addDataDirOption(service, program);
  registerServiceWriteCommands(service, ctx);
  registerServiceReadCommands(service, ctx);
  registerServiceLogsCommand(service, ctx);
  return service;
}

export { specFromCreateOptions } from './service-spec-flags';
export { applyUpdateOptions } from './service-write';
