// `service create`, `update`, `scale` and `rm`. Create, update and scale wait for the service to
// converge with live progress (progress.ts) unless -d/--detach, as docker does.
import type { Command } from 'commander';
import type { Service__Output } from '../../api/gen/types/orch/objects/Service';
import { parseConstraint, parseScaleArgument, parseSpreadPreference, SpecError } from '../../manager/spec';
import { type ControlApiClient, ControlCallError } from '../control-client';
import { UserError } from '../errors';
import { action, type CliContext, collect, forEachArgument, parseKeyValue, withClient } from '../flags';
import { showConvergence } from '../progress';
import { parseEnv, parseMount, parsePublish, publishKey } from './service-flag-parsers';
import {
  addCommonSpecOptions,
  addCreateSpecOptions,
  applyCommonOptions,
  type CommonSpecOptions,
  type CreateSpecOptions,
  type SpecDraft,
  specFromCreateOptions,
} from './service-spec-flags';

interface DetachOptions {
  detach?: boolean;
  quiet?: boolean;
}

interface UpdateOptions extends CommonSpecOptions, DetachOptions {
  image?: string;
  args?: string;
  force?: boolean;
  envAdd?: string[];
  envRm?: string[];
  labelAdd?: string[];
  labelRm?: string[];
  containerLabelAdd?: string[];
  containerLabelRm?: string[];
  constraintAdd?: string[];
  constraintRm?: string[];
  placementPrefAdd?: string[];
  placementPrefRm?: string[];
  publishAdd?: string[];
  publishRm?: string[];
  mountAdd?: string[];
  mountRm?: string[];
}

export function registerServiceWriteCommands(service: Command, ctx: CliContext): void {
  addCreateSpecOptions(
    service
      .command('create')
      .description('Create a new service')
      .argument('<image>')
      .argument('[command...]', 'command and arguments run in the container')
      .option('-d, --detach', 'exit immediately instead of waiting for the service to converge')
      .option('-q, --quiet', 'suppress progress output')
      // Everything after IMAGE belongs to the container's command, flags included (docker's rule).
      .passThroughOptions(),
  ).action(
    action(async (image: string, args: string[], opts: CreateSpecOptions & DetachOptions, cmd: Command) => {
      const spec = specFromCreateOptions(image, args, opts);
      await withClient(ctx, cmd, async (client) => {
        const created = await client.createService(spec);
        ctx.out(`${created.meta?.id}\n`);
        await converge(ctx, client, created, opts);
      });
    }),
  );

  addCommonSpecOptions(
    service
      .command('update')
      .description('Update a service')
      .argument('<service>')
      .option('--image <image>', 'service image tag')
      .option('--args <command>', 'service command args')
      .option('--force', 'force an update even if no changes require it')
      .option('--env-add <KEY=VALUE>', 'add or update an environment variable', collect)
      .option('--env-rm <KEY>', 'remove an environment variable', collect)
      .option('--label-add <KEY=VALUE>', 'add or update a service label', collect)
      .option('--label-rm <KEY>', 'remove a service label', collect)
      .option('--container-label-add <KEY=VALUE>', 'add or update a container label', collect)
      .option('--container-label-rm <KEY>', 'remove a container label', collect)
      .option('--constraint-add <expr>', 'add or update a placement constraint', collect)
      .option('--constraint-rm <expr>', 'remove a constraint', collect)
      .option('--placement-pref-add <pref>', 'add a placement preference', collect)
      .option('--placement-pref-rm <pref>', 'remove a placement preference', collect)
      .option('--publish-add <port>', 'add or update a published port', collect)
      .option('--publish-rm <port>', 'remove a published port by its target port', collect)
      .option('--mount-add <mount>', 'add or update a mount on a service', collect)
      .option('--mount-rm <target>', 'remove a mount by its target path', collect)
      .option('-d, --detach', 'exit immediately instead of waiting for the service to converge')
      .option('-q, --quiet', 'suppress progress output'),
  ).action(
    action(async (ref: string, opts: UpdateOptions, cmd: Command) => {
      await withClient(ctx, cmd, async (client) => {
        const { current, updated } = await updateWithRetry(client, ref, (spec) =>
          applyUpdateOptions(spec, opts),
        );
        ctx.out(`${ref}\n`);
        await converge(ctx, client, updated, opts, current);
      });
    }),
  );

  service
    .command('rollback')
    .description("Revert changes to a service's configuration")
    .argument('<service>')
    .option('-d, --detach', 'exit immediately instead of waiting for the service to converge')
    .option('-q, --quiet', 'suppress progress output')
    .action(
      action(async (ref: string, opts: DetachOptions, cmd: Command) => {
        await withClient(ctx, cmd, async (client) => {
          const current = await client.getService(ref);
          if (!current.previousSpec)
            throw new UserError(`service ${ref} has no previous spec to roll back to`);
          const rolledBack = await client.updateService(
            current.meta!.id,
            current.meta!.version,
            current.previousSpec,
          );
          ctx.out(`${ref}\nrollback: manually requested rollback\n`);
          await converge(ctx, client, rolledBack, opts, current);
        });
      }),
    );

  service
    .command('scale')
    .description('Scale one or multiple replicated services')
    .argument('<service=replicas...>')
    .option('-d, --detach', 'exit immediately instead of waiting for the services to converge')
    .action(
      action(async (args: string[], opts: DetachOptions, cmd: Command) => {
        for (const arg of args) parseScaleArgument(arg); // every argument is checked before anything scales
        await withClient(ctx, cmd, async (client) => {
          const scaled: Service__Output[] = [];
          let failure: unknown;
          try {
            await forEachArgument(ctx, args, async (arg) => {
              const { service: name, replicas } = parseScaleArgument(arg);
              scaled.push(await client.scaleService(name, replicas));
              ctx.out(`${name} scaled to ${replicas}\n`);
            });
          } catch (err) {
            failure = err;
          }
          for (const s of scaled) await converge(ctx, client, s, opts, s);
          if (failure) throw failure;
        });
      }),
    );

  service
    .command('rm')
    .alias('remove')
    .description('Remove one or more services')
    .argument('<service...>')
    .action(
      action(async (refs: string[], _opts: unknown, cmd: Command) => {
        await withClient(ctx, cmd, (client) =>
          forEachArgument(ctx, refs, async (ref) => {
            await client.removeService(ref);
            ctx.out(`${ref}\n`);
          }),
        );
      }),
    );
}

/** Waits for `service` to converge unless detached; `before`: the service as read before the change. */
async function converge(
  ctx: CliContext,
  client: ControlApiClient,
  service: Service__Output,
  opts: DetachOptions,
  before?: Service__Output,
) {
  if (opts.detach) return;
  const quiet: CliContext = { ...ctx, out: () => {}, isTTY: false };
  await showConvergence(opts.quiet ? quiet : ctx, client, service.meta!.id, before);
}

/** Attempts of `service update` when the service changed between reading it and writing it. */
const UPDATE_ATTEMPTS = 5;

/**
 * Reads the service, applies `edit` to a copy of its spec and writes it with the version read. The
 * managers themselves write a service (the rolling update's status), so a version conflict is
 * retried from a fresh read: the edit is re-applied to what is current, and nothing is lost.
 */
export async function updateWithRetry(
  client: Pick<ControlApiClient, 'getService' | 'updateService'>,
  ref: string,
  edit: (spec: SpecDraft) => void,
): Promise<{ current: Service__Output; updated: Service__Output }> {
  for (let attempt = 1; ; attempt++) {
    const current = await client.getService(ref);
    const spec = structuredClone(current.spec!) as SpecDraft;
    edit(spec);
    try {
      return { current, updated: await client.updateService(current.meta!.id, current.meta!.version, spec) };
    } catch (err) {
      const conflict = err instanceof ControlCallError && err.errorName === 'VersionConflictError';
      if (!conflict || attempt >= UPDATE_ATTEMPTS) throw err;
    }
  }
}

/** Applies `service update` flags to a copy of the current spec. */
export function applyUpdateOptions(spec: SpecDraft, o: UpdateOptions): void {
  spec.container ??= {};
  const c = spec.container;
  if (o.image !== undefined) {
    if (!o.image.trim()) throw new SpecError('--image', 'an image is required');
    c.image = o.image.trim();
  }
  if (o.args !== undefined) c.args = o.args.trim() ? o.args.trim().split(/\s+/) : [];
  applyCommonOptions(spec, o);

  const envKey = (e: string) => e.split('=', 1)[0]!;
  const removeEnv = new Set(o.envRm ?? []);
  const added = parseEnv(o.envAdd ?? []);
  const addedKeys = new Set(added.map(envKey));
  c.env = [...(c.env ?? []).filter((e) => !removeEnv.has(envKey(e)) && !addedKeys.has(envKey(e))), ...added];

  spec.labels = editLabels(spec.labels ?? {}, o.labelAdd, o.labelRm, '--label-add');
  c.labels = editLabels(c.labels ?? {}, o.containerLabelAdd, o.containerLabelRm, '--container-label-add');

  spec.placement ??= {};
  const placement = spec.placement;
  if (o.constraintAdd || o.constraintRm) {
    const remove = new Set((o.constraintRm ?? []).map(normalizeExpression));
    for (const x of o.constraintAdd ?? []) parseConstraint(x, '--constraint-add');
    const add = (o.constraintAdd ?? []).map((x) => x.trim());
    placement.constraints = [
      ...(placement.constraints ?? []).filter((x) => !remove.has(normalizeExpression(x)) && !add.includes(x)),
      ...add,
    ];
  }
  if (o.placementPrefAdd || o.placementPrefRm) {
    const remove = new Set(
      (o.placementPrefRm ?? []).map((p) => parseSpreadPreference(p, '--placement-pref-rm').descriptor),
    );
    const add = (o.placementPrefAdd ?? []).map(
      (p) => parseSpreadPreference(p, '--placement-pref-add').descriptor,
    );
    placement.spreadPreferences = [
      ...(placement.spreadPreferences ?? []).filter((p) => !remove.has(p)),
      ...add,
    ];
  }

  if (o.publishAdd || o.publishRm) {
    spec.endpoint ??= { mode: 'RESOLUTION_MODE_VIP', ports: [] };
    const endpoint = spec.endpoint;
    const removeTargets = new Set((o.publishRm ?? []).map(publishRmKey));
    const add = (o.publishAdd ?? []).map((p) => parsePublish(p, '--publish-add'));
    const addKeys = new Set(add.map((p) => publishKey(p)));
    endpoint.ports = [
      ...(endpoint.ports ?? []).filter(
        (p) =>
          !removeTargets.has(`${p.targetPort}/${p.protocol === 'PORT_PROTOCOL_UDP' ? 'udp' : 'tcp'}`) &&
          !addKeys.has(publishKey(p)),
      ),
      ...add,
    ];
  }

  if (o.mountAdd || o.mountRm) {
    const remove = new Set(o.mountRm ?? []);
    const add = (o.mountAdd ?? []).map((m) => parseMount(m, '--mount-add'));
    const addTargets = new Set(add.map((m) => m.target));
    c.mounts = [
      ...(c.mounts ?? []).filter((m) => !remove.has(m.target ?? '') && !addTargets.has(m.target)),
      ...add,
    ];
  }

  if (o.force) spec.forceUpdate = Number(spec.forceUpdate ?? 0) + 1;
}

function editLabels(
  labels: Record<string, string>,
  add: readonly string[] | undefined,
  remove: readonly string[] | undefined,
  flag: string,
): Record<string, string> {
  const next = { ...labels };
  for (const key of remove ?? []) delete next[key];
  for (const value of add ?? []) {
    const [key, v] = parseKeyValue(value, flag, true);
    next[key] = v;
  }
  return next;
}

function normalizeExpression(expression: string): string {
  return expression.replace(/\s+/g, '');
}

/** `--publish-rm 80`, `80/udp` or a mapping `8080:80`: the target port and protocol to remove. */
function publishRmKey(value: string): string {
  const text = value.trim();
  if (/^\d+(\/(tcp|udp))?$/i.test(text)) {
    const [port, proto = 'tcp'] = text.split('/');
    return `${port}/${proto!.toLowerCase()}`;
  }
  const port = parsePublish(text, '--publish-rm');
  return `${port.targetPort}/${port.protocol === 'PORT_PROTOCOL_UDP' ? 'udp' : 'tcp'}`;
}
