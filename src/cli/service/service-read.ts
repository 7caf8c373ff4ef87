// `service ls`, `service ps` and `service inspect`: docker's columns and forms over the Control API.
import type { Command } from 'commander';
import type { ServiceStatus__Output } from '../../api/gen/types/orch/control/ServiceStatus';
import type { Node__Output } from '../../api/gen/types/orch/objects/Node';
import type { Service__Output } from '../../api/gen/types/orch/objects/Service';
import type { Task__Output } from '../../api/gen/types/orch/objects/Task';
import {
  formatDurationMs,
  formatMemoryBytes,
  formatNanoCpus,
  formatRestartCondition,
} from '../../manager/spec';
import { serviceEndpoints } from '../../mesh/mesh-endpoints';
import {
  action,
  addListOptions,
  type CliContext,
  collect,
  type ListOptions,
  parseFilters,
  parseLabels,
  parseListOptions,
  withClient,
} from '../flags';
import { formatInspect, formatJsonLines, formatTable, shortId } from '../output';
import { desiredStateFilter, formatPorts, formatTaskTable, taskTableNames } from './task-table';

const SERVICE_LS_HEADERS = ['ID', 'NAME', 'MODE', 'REPLICAS', 'IMAGE', 'PORTS'];
const MODE_LABELS: Record<string, string> = {
  replicated: 'replicated',
  global: 'global',
  replicatedJob: 'replicated job',
  globalJob: 'global job',
};

export function registerServiceReadCommands(service: Command, ctx: CliContext): void {
  addListOptions(
    service.command('ls').alias('list').description('List services'),
    'id=PREFIX, name=PREFIX, label=KEY[=VALUE], mode=MODE',
  ).action(
    action(async (opts: ListOptions, cmd: Command) => {
      const { format, filters } = parseListOptions(opts, ['id', 'name', 'label', 'mode']);
      await withClient(ctx, cmd, async (client) => {
        const { services, statuses } = await client.listServices({
          filters: {
            ids: filters.get('id') ?? [],
            names: filters.get('name') ?? [],
            labels: parseLabels(filters.get('label'), '--filter label'),
            modes: filters.get('mode') ?? [],
          },
        });
        if (opts.quiet) return ctx.out(services.map((s) => `${s.meta?.id}\n`).join(''));
        const rows = services.map((s, i) => serviceRow(s, statuses[i]));
        if (format === 'json') {
          return ctx.out(
            formatJsonLines(
              rows.map(([id, name, mode, replicas, image, ports]) => ({
                ID: id,
                Name: name,
                Mode: mode,
                Replicas: replicas,
                Image: image,
                Ports: ports,
              })),
            ),
          );
        }
        ctx.out(formatTable(SERVICE_LS_HEADERS, rows));
      });
    }),
  );

  service
    .command('ps')
    .description('List the tasks of one or more services')
    .argument('<service...>')
    .option(
      '-f, --filter <filter>',
      'filter output (desired-state=running|shutdown|accepted, node=NODE, id=PREFIX, name=NAME)',
      collect,
    )
    .option('-q, --quiet', 'only display task IDs')
    .option('--no-trunc', 'do not truncate output')
    .action(
      action(
        async (
          refs: string[],
          opts: { filter?: string[]; quiet?: boolean; trunc: boolean },
          cmd: Command,
        ) => {
          const filters = parseFilters(opts.filter, ['desired-state', 'node', 'id', 'name']);
          await withClient(ctx, cmd, async (client) => {
            let tasks = await client.listTasks({
              filters: {
                serviceIds: refs,
                nodeIds: filters.get('node') ?? [],
                ids: filters.get('id') ?? [],
                desiredStates: (filters.get('desired-state') ?? []).map(desiredStateFilter),
              },
            });
            const { services, nodeNames } = await taskTableNames(client);
            const wanted = filters.get('name');
            if (wanted) {
              tasks = tasks.filter((t) =>
                wanted.some((n) =>
                  `${services.get(t.serviceId)}.${t.slot > 0 ? t.slot : t.nodeId}`.startsWith(n),
                ),
              );
            }
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

  service
    .command('inspect')
    .description('Display detailed information on one or more services')
    .argument('<service...>')
    .option('--pretty', 'print the information in a human friendly format')
    .action(
      action(async (refs: string[], opts: { pretty?: boolean }, cmd: Command) => {
        await withClient(ctx, cmd, async (client) => {
          const found: Service__Output[] = [];
          for (const ref of refs) found.push(await client.getService(ref));
          if (!opts.pretty) return ctx.out(formatInspect(found));
          const nodes = await client.listNodes();
          const pretty: string[] = [];
          for (const s of found) {
            const tasks = await client.listTasks({ filters: { serviceIds: [s.meta?.id ?? ''] } });
            pretty.push(prettyService(s) + prettyEndpoints(s, tasks, nodes));
          }
          ctx.out(pretty.join('\n'));
        });
      }),
    );
}

function serviceRow(s: Service__Output, status: ServiceStatus__Output | undefined): string[] {
  const spec = s.spec!;
  const running = status?.runningTasks ?? 0;
  const desired = status?.desiredTasks ?? 0;
  let replicas = `${running}/${desired}`;
  if (spec.mode === 'replicatedJob') replicas += ` (${status?.completedTasks ?? 0}/${desired} completed)`;
  const max = spec.placement?.maxReplicasPerNode ?? 0;
  if (max > 0) replicas += ` (max ${max} per node)`;
  const ports = (s.endpoint?.ports?.length ? s.endpoint.ports : (spec.endpoint?.ports ?? [])).filter(
    (p) => p.publishMode !== 'PUBLISH_MODE_HOST',
  );
  return [
    shortId(s.meta?.id ?? ''),
    spec.name,
    MODE_LABELS[spec.mode ?? ''] ?? '',
    replicas,
    spec.container?.image ?? '',
    formatPorts(ports),
  ];
}

/** Where the routing mesh reaches each running task of the service (node mesh address : bound port). */
function prettyEndpoints(s: Service__Output, tasks: Task__Output[], nodes: Node__Output[]): string {
  const byId = new Map(nodes.map((n) => [n.meta?.id ?? '', n]));
  const entry = serviceEndpoints(s, tasks, (id) => byId.get(id));
  if (!entry) return '';
  const lines = ['Endpoints:'];
  for (const b of entry.backends) {
    const node = byId.get(b.nodeId)?.description?.hostname || b.nodeId;
    for (const p of b.ports) {
      lines.push(` ${b.taskId}\t${b.address}:${p.port} -> ${p.targetPort}/${p.protocol}\t(node ${node})`);
    }
  }
  if (entry.backends.length === 0) lines.push(' none: no task is running');
  return `${lines.join('\n')}\n`;
}

function prettyService(s: Service__Output): string {
  const spec = s.spec!;
  const c = spec.container;
  const lines = [`ID:\t\t${s.meta?.id}`, `Name:\t\t${spec.name}`];
  const labels = Object.entries(spec.labels ?? {});
  if (labels.length > 0) lines.push('Labels:', ...labels.map(([k, v]) => ` ${k}=${v}`));
  if (spec.mode === 'replicated')
    lines.push('Service Mode:\tReplicated', ` Replicas:\t${spec.replicated?.replicas ?? 0}`);
  else if (spec.mode === 'replicatedJob') {
    lines.push(
      'Service Mode:\tReplicatedJob',
      ` Max Concurrent:\t${spec.replicatedJob?.maxConcurrent ?? 0}`,
      ` Total Completions:\t${spec.replicatedJob?.totalCompletions ?? 0}`,
    );
  } else lines.push(`Service Mode:\t${spec.mode === 'globalJob' ? 'GlobalJob' : 'Global'}`);
  const p = spec.placement;
  if (p && (p.constraints.length > 0 || p.spreadPreferences.length > 0 || p.maxReplicasPerNode > 0)) {
    lines.push('Placement:');
    if (p.constraints.length > 0) lines.push(` Constraints:\t[${p.constraints.join(' ')}]`);
    if (p.spreadPreferences.length > 0)
      lines.push(` Preferences:\t[${p.spreadPreferences.map((x) => `spread=${x}`).join(' ')}]`);
    if (p.maxReplicasPerNode > 0) lines.push(` Max Replicas Per Node:\t${p.maxReplicasPerNode}`);
  }
  const u = spec.updateConfig;
  if (u) {
    lines.push(
      'UpdateConfig:',
      ` Parallelism:\t${u.parallelism}`,
      ...(u.delayMs > 0 ? [` Delay:\t\t${formatDurationMs(u.delayMs)}`] : []),
      ` On failure:\t${u.failureAction.replace('UPDATE_FAILURE_ACTION_', '').toLowerCase()}`,
      ` Monitoring Period: ${formatDurationMs(u.monitorMs)}`,
      ` Max failure ratio: ${u.maxFailureRatio}`,
      ` Update order:      ${u.order === 'UPDATE_ORDER_START_FIRST' ? 'start-first' : 'stop-first'}`,
    );
  }
  const r = spec.restartPolicy;
  if (r) {
    lines.push(
      'RestartPolicy:',
      ` Condition:\t${formatRestartCondition(r.condition)}`,
      ` Delay:\t\t${formatDurationMs(r.delayMs)}`,
      ` Max Attempts:\t${r.maxAttempts}`,
      ...(r.windowMs > 0 ? [` Window:\t${formatDurationMs(r.windowMs)}`] : []),
    );
  }
  lines.push('ContainerSpec:', ` Image:\t\t${c?.image ?? ''}`);
  if (c?.command.length) lines.push(` Command:\t${c.command.join(' ')}`);
  if (c?.args.length) lines.push(` Args:\t\t${c.args.join(' ')}`);
  if (c?.env.length) lines.push(` Env:\t\t${c.env.join(' ')}`);
  if (c?.workdir) lines.push(` Dir:\t\t${c.workdir}`);
  if (c?.user) lines.push(` User:\t\t${c.user}`);
  if (c && c.mounts.length > 0) {
    lines.push('Mounts:');
    for (const m of c.mounts) {
      lines.push(
        ` Target:\t${m.target}`,
        `  Source:\t${m.source}`,
        `  ReadOnly:\t${m.readOnly}`,
        `  Type:\t\t${m.type.replace('MOUNT_TYPE_', '').toLowerCase()}`,
      );
    }
  }
  const res = spec.resources;
  if (res) {
    lines.push('Resources:');
    for (const [title, x] of [
      ['Reservations', res.reservations],
      ['Limits', res.limits],
    ] as const) {
      if (!x || (x.nanoCpus === 0 && x.memoryBytes === 0 && x.pids === 0)) continue;
      lines.push(` ${title}:`);
      if (x.nanoCpus > 0) lines.push(`  CPU:\t\t${formatNanoCpus(x.nanoCpus)}`);
      if (x.memoryBytes > 0) lines.push(`  Memory:\t${formatMemoryBytes(x.memoryBytes)}`);
      if (x.pids > 0) lines.push(`  PIDs:\t\t${x.pids}`);
    }
  }
  lines.push(`Endpoint Mode:\t${spec.endpoint?.mode === 'RESOLUTION_MODE_DNSRR' ? 'dnsrr' : 'vip'}`);
  const ports = s.endpoint?.ports?.length ? s.endpoint.ports : (spec.endpoint?.ports ?? []);
  if (ports.length > 0) {
    lines.push('Ports:');
    for (const port of ports) {
      lines.push(
        ` PublishedPort = ${port.publishedPort}`,
        `  Protocol = ${port.protocol === 'PORT_PROTOCOL_UDP' ? 'udp' : 'tcp'}`,
        `  TargetPort = ${port.targetPort}`,
        `  PublishMode = ${port.publishMode === 'PUBLISH_MODE_HOST' ? 'host' : 'ingress'}`,
      );
    }
  }
  return `${lines.join('\n')}\n`;
}
