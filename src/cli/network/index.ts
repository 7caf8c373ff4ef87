// `orch network …`: create, list, inspect and remove the cluster's networks, shaped like
// `docker network …` on a swarm manager (same columns and flags; SCOPE is always swarm). Services
// attached to a network with `--network NAME` reach each other by service name (docs/networking.md).
import type { Command } from 'commander';
import type { Network__Output } from '../../api/gen/types/orch/objects/Network';
import {
  action,
  addDataDirOption,
  addListOptions,
  type CliContext,
  collect,
  defaultCliContext,
  forEachArgument,
  type ListOptions,
  parseLabels,
  parseListOptions,
  withClient,
} from '../flags';
import { formatInspect, formatJsonLines, formatTable, shortId } from '../output';

const NETWORK_LS_HEADERS = ['NETWORK ID', 'NAME', 'DRIVER', 'SCOPE'];

export function registerNetworkCommands(program: Command, ctx: CliContext = defaultCliContext()): Command {
  const network = program.command('network').description('Manage networks');

  network
    .command('create')
    .description('Create a network')
    .argument('<name>')
    .option(
      '-d, --driver <driver>',
      'driver to manage the network (bridge or overlay: both are orch networks)',
      'bridge',
    )
    .option(
      '--subnet <cidr>',
      'IPv4 subnet for the virtual IPs of attached services (default: a /24 of 10.200.0.0/16)',
    )
    .option('--label <key=value>', 'set metadata on a network', collect)
    .option('--attachable', 'enable manual container attachment')
    .action(
      action(
        async (
          name: string,
          opts: { driver: string; subnet?: string; label?: string[]; attachable?: boolean },
          cmd: Command,
        ) => {
          const labels = parseLabels(opts.label, '--label');
          await withClient(ctx, cmd, async (client) => {
            const created = await client.createNetwork({
              name,
              driver: opts.driver,
              labels,
              attachable: !!opts.attachable,
              ipam: opts.subnet === undefined ? [] : [{ subnet: opts.subnet }],
            });
            ctx.out(`${created.meta?.id}\n`);
          });
        },
      ),
    );

  addListOptions(
    network.command('ls').alias('list').description('List networks'),
    'id=PREFIX, name=PREFIX, driver=DRIVER, label=KEY[=VALUE]',
    'only display network IDs',
  )
    .option('--no-trunc', 'do not truncate the output')
    .action(
      action(async (opts: ListOptions & { trunc: boolean }, cmd: Command) => {
        const { format, filters } = parseListOptions(opts, ['id', 'name', 'driver', 'label']);
        await withClient(ctx, cmd, async (client) => {
          const networks = await client.listNetworks({
            filters: {
              ids: filters.get('id') ?? [],
              names: filters.get('name') ?? [],
              drivers: filters.get('driver') ?? [],
              labels: parseLabels(filters.get('label'), '--filter label'),
            },
          });
          const id = (n: Network__Output) => (opts.trunc ? shortId(n.meta?.id ?? '') : (n.meta?.id ?? ''));
          if (opts.quiet) return ctx.out(networks.map((n) => `${id(n)}\n`).join(''));
          if (format === 'json') {
            return ctx.out(
              formatJsonLines(
                networks.map((n) => ({
                  ID: id(n),
                  Name: n.spec?.name ?? '',
                  Driver: n.spec?.driver ?? '',
                  Scope: 'swarm',
                  Subnet: n.ipam[0]?.subnet ?? '',
                  Labels: n.spec?.labels ?? {},
                })),
              ),
            );
          }
          ctx.out(
            formatTable(
              NETWORK_LS_HEADERS,
              networks.map((n) => [id(n), n.spec?.name ?? '', n.spec?.driver ?? '', 'swarm']),
            ),
          );
        });
      }),
    );

  network
    .command('inspect')
    .description('Display detailed information on one or more networks')
    .argument('<network...>', 'network name, ID or unique ID prefix')
    .action(
      action(async (refs: string[], _opts: unknown, cmd: Command) => {
        await withClient(ctx, cmd, async (client) => {
          const found: Network__Output[] = [];
          for (const ref of refs) found.push(await client.getNetwork(ref));
          ctx.out(formatInspect(found));
        });
      }),
    );

  network
    .command('rm')
    .alias('remove')
    .description('Remove one or more networks')
    .argument('<network...>')
    .action(
      action(async (refs: string[], _opts: unknown, cmd: Command) => {
        await withClient(ctx, cmd, (client) =>
          forEachArgument(ctx, refs, async (ref) => {
            await client.removeNetwork(ref);
            ctx.out(`${ref}\n`);
          }),
        );
      }),
    );

  addDataDirOption(network);
  return network;
}
