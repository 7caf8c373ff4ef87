// `orch node …`: list, inspect, update, promote, demote, remove and list the tasks of the cluster's
// nodes, shaped like `docker node …` (same columns, messages and flags). Every command talks to the
// local node's Control API; node references accept an ID, a unique ID prefix, a hostname or `self`.
import type { Command } from 'commander';
import type { Node__Output } from '../../api/gen/types/orch/objects/Node';
import type { NodeAvailability__Output } from '../../api/gen/types/orch/objects/NodeAvailability';
import { SpecError } from '../../manager/spec';
import type { ControlApiClient } from '../control-client';
import {
  action,
  addDataDirOption,
  addListOptions,
  type CliContext,
  collect,
  defaultCliContext,
  forEachArgument,
  type ListOptions,
  parseChoice,
  parseFilters,
  parseLabels,
  parseListOptions,
  withClient,
} from '../flags';
import { formatInspect, formatJsonLines, formatTable } from '../output';
import { desiredStateFilter, formatTaskTable, taskTableNames } from '../service/task-table';
import { formatNodePretty, managerStatus, nodeAvailability, nodeState } from './node-format';

const NODE_LS_HEADERS = ['ID', 'HOSTNAME', 'STATUS', 'AVAILABILITY', 'MANAGER STATUS', 'ENGINE VERSION'];
const AVAILABILITIES = ['active', 'pause', 'drain'] as const;

export function registerNodeCommands(program: Command, ctx: CliContext = defaultCliContext()): Command {
  const node = program.command('node').description('Manage the nodes of the cluster');

  const nodeLs = node.command('ls').alias('list').description('List nodes in the cluster');
  addListOptions(nodeLs, 'id=PREFIX, name=HOSTNAME, role=manager|worker, node.label=KEY[=VALUE]').action(
    action(async (opts: ListOptions, cmd: Command) => {
      const { format, filters } = parseListOptions(opts, ['id', 'name', 'role', 'node.label']);
      await withClient(ctx, cmd, async (client) => {
        const roles = (filters.get('role') ?? []).map((r) =>
          parseChoice(r, '--filter role', ['manager', 'worker'] as const) === 'manager'
            ? ('NODE_ROLE_MANAGER' as const)
            : ('NODE_ROLE_WORKER' as const),
        );
        const nodes = await client.listNodes({
          filters: {
            ids: filters.get('id') ?? [],
            names: filters.get('name') ?? [],
            roles,
            labels: parseLabels(filters.get('node.label'), '--filter node.label'),
          },
        });
        if (opts.quiet) return ctx.out(nodes.map((n) => `${n.meta?.id}\n`).join(''));
        const self = await localNodeId(client);
        if (format === 'json') {
          return ctx.out(
            formatJsonLines(
              nodes.map((n) => ({
                ID: n.meta?.id,
                Hostname: n.description?.hostname ?? '',
                Status: nodeState(n),
                Availability: nodeAvailability(n.spec?.availability),
                ManagerStatus: managerStatus(n),
                EngineVersion: n.description?.engineVersion ?? '',
                Self: n.meta?.id === self,
              })),
            ),
          );
        }
        const rows = nodes.map((n) => [
          n.meta?.id === self ? `${n.meta?.id} *` : (n.meta?.id ?? ''),
          n.description?.hostname ?? '',
          nodeState(n),
          nodeAvailability(n.spec?.availability),
          managerStatus(n),
          n.description?.engineVersion ?? '',
        ]);
        ctx.out(formatTable(NODE_LS_HEADERS, rows));
      });
    }),
  );

  node
    .command('inspect')
    .description('Display detailed information on one or more nodes')
    .argument('<node...>', "node ID, ID prefix, hostname or 'self'")
    .option('--pretty', 'print the information in a human friendly format')
    .action(
      action(async (refs: string[], opts: { pretty?: boolean }, cmd: Command) => {
        await withClient(ctx, cmd, async (client) => {
          const nodes: Node__Output[] = [];
          for (const ref of refs) nodes.push(await client.getNode(await resolveSelf(client, ref)));
          ctx.out(opts.pretty ? nodes.map((n) => formatNodePretty(n)).join('\n') : formatInspect(nodes));
        });
      }),
    );

  node
    .command('update')
    .description('Update a node')
    .argument('<node>')
    .option('--availability <availability>', 'availability of the node (active, pause, drain)')
    .option('--label-add <key=value>', 'add or update a node label', collect)
    .option('--label-rm <key>', 'remove a node label if it exists', collect)
    .action(
      action(
        async (
          ref: string,
          opts: { availability?: string; labelAdd?: string[]; labelRm?: string[] },
          cmd: Command,
        ) => {
          const wanted =
            opts.availability === undefined
              ? undefined
              : parseChoice(opts.availability, '--availability', AVAILABILITIES);
          const add = parseLabels(opts.labelAdd, '--label-add');
          await withClient(ctx, cmd, async (client) => {
            const current = await client.getNode(await resolveSelf(client, ref));
            const labels = { ...(current.spec?.labels ?? {}) };
            for (const key of opts.labelRm ?? []) {
              if (!(key in labels))
                throw new SpecError('--label-rm', `node ${ref} has no label ${JSON.stringify(key)}`);
              delete labels[key];
            }
            Object.assign(labels, add);
            await client.updateNode(current.meta!.id, current.meta!.version, {
              ...current.spec!,
              labels,
              ...(wanted
                ? { availability: `NODE_AVAILABILITY_${wanted.toUpperCase()}` as NodeAvailability__Output }
                : {}),
            });
            ctx.out(`${ref}\n`);
          });
        },
      ),
    );

  node
    .command('promote')
    .description('Promote one or more nodes to manager in the cluster')
    .argument('<node...>')
    .action(
      action(async (refs: string[], _opts: unknown, cmd: Command) => {
        await withClient(ctx, cmd, (client) =>
          forEachArgument(ctx, refs, async (ref) => {
            const before = await client.getNode(await resolveSelf(client, ref));
            if (before.spec?.desiredRole === 'NODE_ROLE_MANAGER')
              return ctx.out(`Node ${ref} is already a manager.\n`);
            await client.promoteNode(before.meta!.id);
            ctx.out(`Node ${ref} promoted to a manager in the cluster.\n`);
          }),
        );
      }),
    );

  node
    .command('demote')
    .description('Demote one or more nodes from manager in the cluster')
    .argument('<node...>')
    .action(
      action(async (refs: string[], _opts: unknown, cmd: Command) => {
        await withClient(ctx, cmd, (client) =>
          forEachArgument(ctx, refs, async (ref) => {
            const before = await client.getNode(await resolveSelf(client, ref));
            if (before.spec?.desiredRole === 'NODE_ROLE_WORKER' && before.role === 'NODE_ROLE_WORKER') {
              return ctx.out(`Node ${ref} is already a worker.\n`);
            }
            await client.demoteNode(before.meta!.id);
            ctx.out(`Manager ${ref} demoted in the cluster.\n`);
          }),
        );
      }),
    );

  node
    .command('rm')
    .alias('remove')
    .description('Remove one or more nodes from the cluster')
    .argument('<node...>')
    .option('-f, --force', 'force remove a node from the cluster')
    .action(
      action(async (refs: string[], opts: { force?: boolean }, cmd: Command) => {
        await withClient(ctx, cmd, (client) =>
          forEachArgument(ctx, refs, async (ref) => {
            await client.removeNode(await resolveSelf(client, ref), !!opts.force);
            ctx.out(`${ref}\n`);
          }),
        );
      }),
    );

  node
    .command('ps')
    .description('List tasks running on one or more nodes, defaults to the current node')
    .argument('[node...]')
    .option('-f, --filter <filter>', 'filter output (desired-state, name, id)', collect)
    .option('-q, --quiet', 'only display task IDs')
    .option('--no-trunc', 'do not truncate output')
    .action(
      action(
        async (
          refs: string[],
          opts: { filter?: string[]; quiet?: boolean; trunc: boolean },
          cmd: Command,
        ) => {
          const filters = parseFilters(opts.filter, ['desired-state', 'id', 'name']);
          await withClient(ctx, cmd, async (client) => {
            const nodeRefs = refs.length > 0 ? refs : ['self'];
            const nodeIds: string[] = [];
            for (const ref of nodeRefs)
              nodeIds.push((await client.getNode(await resolveSelf(client, ref))).meta!.id);
            let tasks = await client.listTasks({
              filters: {
                nodeIds,
                ids: filters.get('id') ?? [],
                desiredStates: (filters.get('desired-state') ?? []).map(desiredStateFilter),
              },
            });
            const { services, nodeNames } = await taskTableNames(client);
            const wantedNames = filters.get('name');
            if (wantedNames)
              tasks = tasks.filter((t) =>
                wantedNames.some((n) => (services.get(t.serviceId) ?? '').startsWith(n)),
              );
            if (opts.quiet) return ctx.out(tasks.map((t) => `${t.meta?.id}\n`).join(''));
            ctx.out(
              formatTaskTable(tasks, {
                noTrunc: !opts.trunc,
                nowMs: ctx.now(),
                nodeNames,
                serviceNames: services,
              }),
            );
          });
        },
      ),
    );

  addDataDirOption(node);
  return node;
}

async function localNodeId(client: ControlApiClient): Promise<string> {
  try {
    return (await client.getInfo()).nodeId;
  } catch {
    return '';
  }
}

async function resolveSelf(client: ControlApiClient, ref: string): Promise<string> {
  return ref === 'self' ? (await client.getInfo()).nodeId : ref;
}
