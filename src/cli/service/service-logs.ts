// `service logs SERVICE|TASK`: the log lines of a service's tasks (or one task) from the Control
// API's log stream, each prefixed like docker's `web.1.abcdef123456@node1    | `.
import type { Command } from 'commander';
import type { LogMessage__Output } from '../../api/gen/types/orch/control/LogMessage';
import type { ServiceLogsRequest } from '../../api/gen/types/orch/control/ServiceLogsRequest';
import { parseCount } from '../../manager/spec';
import { type ControlApiClient, ControlCallError } from '../control-client';
import { UserError } from '../errors';
import { action, type CliContext, interruptibleWait, withClient } from '../flags';
import { shortId } from '../output';
import { parseSince } from './service-flag-parsers';
import { taskTableNames } from './task-table';

interface LogsOptions {
  follow?: boolean;
  tail: string;
  since?: string;
  timestamps?: boolean;
  trunc: boolean;
  taskIds: boolean;
}

export function registerServiceLogsCommand(service: Command, ctx: CliContext): void {
  service
    .command('logs')
    .description('Fetch the logs of a service or task')
    .argument('<service|task>')
    .option('-f, --follow', 'follow log output')
    .option(
      '-n, --tail <lines>',
      "number of lines to show from the end of the logs ('all' for everything)",
      'all',
    )
    .option(
      '--since <time>',
      'show logs since a time (e.g. 2024-01-02T13:23:37Z) or for a duration (e.g. 42m)',
    )
    .option('-t, --timestamps', 'show timestamps')
    .option('--no-trunc', 'do not truncate output')
    .option('--no-task-ids', 'do not include task IDs in output')
    .action(
      action(async (ref: string, opts: LogsOptions, cmd: Command) => {
        const tail = opts.tail.trim().toLowerCase() === 'all' ? -1 : parseCount(opts.tail, '--tail');
        const sinceMs = opts.since === undefined ? 0 : parseSince(opts.since, ctx.now());
        await withClient(ctx, cmd, async (client) => {
          const target = await resolveTarget(client, ref);
          const request: ServiceLogsRequest = {
            ...target,
            follow: !!opts.follow,
            tail,
            sinceMs,
            timestamps: !!opts.timestamps,
          };
          const { services, nodeNames } = await taskTableNames(client);
          const prefix = (m: LogMessage__Output) => {
            const name = `${services.get(m.serviceId) ?? m.serviceId}.${m.slot > 0 ? m.slot : m.nodeId}`;
            const task = opts.taskIds ? `.${opts.trunc ? shortId(m.taskId) : m.taskId}` : '';
            return `${name}${task}@${nodeNames.get(m.nodeId) ?? m.nodeId}`;
          };
          let width = 0;
          const wait = interruptibleWait(ctx);
          try {
            for await (const batch of client.serviceLogs(request, { signal: wait.signal })) {
              for (const m of batch) {
                const p = prefix(m);
                width = Math.max(width, p.length);
                const time = opts.timestamps ? `${new Date(m.timestampMs).toISOString()} ` : '';
                const line = `${time}${p.padEnd(width)}    | ${m.data.toString('utf8')}\n`;
                if (m.stream === 'LOG_STREAM_STDERR') ctx.err(line);
                else ctx.out(line);
              }
            }
          } finally {
            wait.done();
          }
        });
      }),
    );
}

/** A service (by ID, name or prefix) or else a task (by ID or prefix), as docker resolves it. */
async function resolveTarget(
  client: ControlApiClient,
  ref: string,
): Promise<Pick<ServiceLogsRequest, 'serviceIds' | 'taskIds'>> {
  try {
    return { serviceIds: [(await client.getService(ref)).meta!.id] };
  } catch (err) {
    if (!(err instanceof ControlCallError) || err.errorName !== 'NoSuchObjectError') throw err;
  }
  try {
    return { taskIds: [(await client.getTask(ref)).meta!.id] };
  } catch (err) {
    if (err instanceof ControlCallError && err.errorName === 'NoSuchObjectError') {
      throw new UserError(`no such service or task: ${ref}`, 1, { cause: err });
    }
    throw err;
  }
}
