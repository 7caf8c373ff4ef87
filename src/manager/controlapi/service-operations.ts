// Control API operations on services: create (Swarm's defaults filled in, then validated: a
// rejected request writes nothing; a network the spec names must exist; an ingress port another service publishes is refused inside the
// write transaction, so two concurrent creates can't both take it), read by ID / name / unique prefix, list with task counts,
// update (optimistic version, no renames, no mode changes), scale, and remove (the service goes and
// its tasks are marked for shutdown; the leader's loops stop the containers and clean up).
import { randomBytes } from 'node:crypto';
import type { ListServicesRequest__Output } from '../../api/gen/types/orch/control/ListServicesRequest';
import type { ServiceStatus } from '../../api/gen/types/orch/control/ServiceStatus';
import type { UpdateServiceRequest__Output } from '../../api/gen/types/orch/control/UpdateServiceRequest';
import type { ServiceSpec__Output } from '../../api/gen/types/orch/objects/ServiceSpec';
import { type ReadTx, type Service, VersionConflictError } from '../../store';
import { checkPublishedPorts, checkServiceNetworks } from '../allocator';
import { planServiceRemoval } from '../orchestrator';
import { SpecError, validateServiceSpec } from '../spec';
import { type CallOptions, type ControlContext, readBarrier } from './control-context';
import { FailedPreconditionError, InvalidRequestError, NoSuchObjectError } from './control-errors';
import { resolveService } from './resolve-reference';
import { withServiceDefaults } from './service-defaults';

const MODE_NAMES: Record<string, string> = {
  replicated: 'replicated',
  global: 'global',
  replicatedJob: 'replicated-job',
  globalJob: 'global-job',
};

export async function createService(
  ctx: ControlContext,
  spec: ServiceSpec__Output | null,
  options: CallOptions,
): Promise<Service> {
  if (!spec) throw new InvalidRequestError('spec', 'a service spec is required');
  const complete = withServiceDefaults(spec.name ? spec : { ...spec, name: generatedServiceName(spec) });
  validateServiceSpec(complete);
  const created = await ctx.store.update(
    (tx) => {
      checkPublishedPorts(complete, tx.services.list());
      checkServiceNetworks(complete, tx);
      return tx.services.create({ spec: complete });
    },
    { signal: options.signal },
  );
  return ctx.store.view((tx) => mustGet(tx, created.meta!.id));
}

export async function getService(
  ctx: ControlContext,
  reference: string,
  linearizable: boolean,
  options: CallOptions,
): Promise<Service> {
  await readBarrier(ctx, linearizable, options);
  return ctx.store.view((tx) => resolveService(tx, reference));
}

export async function listServices(
  ctx: ControlContext,
  request: ListServicesRequest__Output,
  options: CallOptions,
): Promise<{ services: Service[]; statuses: ServiceStatus[] }> {
  await readBarrier(ctx, request.linearizable, options);
  const f = request.filters;
  return ctx.store.view((tx) => {
    const services = tx.services
      .filter((service) => {
        if (!f) return true;
        const id = service.meta?.id ?? '';
        const name = service.spec?.name ?? '';
        if (f.ids.length > 0 && !f.ids.some((p) => id.startsWith(p))) return false;
        if (f.names.length > 0 && !f.names.some((p) => name.startsWith(p))) return false;
        if (f.modes.length > 0 && !f.modes.includes(MODE_NAMES[service.spec?.mode ?? ''] ?? '')) return false;
        const labels = service.spec?.labels ?? {};
        return Object.entries(f.labels).every(([k, v]) => k in labels && (v === '' || labels[k] === v));
      })
      .sort((a, b) => ((a.spec?.name ?? '') < (b.spec?.name ?? '') ? -1 : 1));
    const liveNodes = liveNodeIds(tx);
    return { services, statuses: services.map((s) => serviceStatus(tx, s, liveNodes)) };
  });
}

/** Nodes not marked down: a task reported running on a down node no longer counts as running. */
function liveNodeIds(tx: ReadTx): ReadonlySet<string> {
  return new Set(tx.nodes.filter((n) => n.status?.state !== 'NODE_STATE_DOWN').map((n) => n.meta?.id ?? ''));
}

/** Running, desired and completed task counts, as `service ls` shows them. */
export function serviceStatus(tx: ReadTx, service: Service, liveNodes = liveNodeIds(tx)): ServiceStatus {
  const id = service.meta!.id;
  const tasks = tx.tasks.findByService(id);
  let running = 0;
  let completed = 0;
  let wanted = 0;
  for (const task of tasks) {
    if (task.status?.state === 'TASK_STATE_COMPLETE') completed++;
    if (task.desiredState !== 'TASK_STATE_RUNNING') continue;
    wanted++;
    if (task.status?.state === 'TASK_STATE_RUNNING' && (!task.nodeId || liveNodes.has(task.nodeId)))
      running++;
  }
  const spec = service.spec;
  let desired = wanted;
  if (spec?.mode === 'replicated') desired = spec.replicated?.replicas ?? 0;
  else if (spec?.mode === 'replicatedJob') desired = spec.replicatedJob?.totalCompletions ?? 0;
  return { serviceId: id, runningTasks: running, desiredTasks: desired, completedTasks: completed };
}

export async function updateService(
  ctx: ControlContext,
  request: UpdateServiceRequest__Output,
  options: CallOptions,
): Promise<Service> {
  if (!request.spec) throw new InvalidRequestError('spec', 'a service spec is required');
  const service = ctx.store.view((tx) => resolveService(tx, request.serviceId));
  const id = service.meta!.id;
  const spec = withServiceDefaults(request.spec);
  if (spec.name !== service.spec?.name) {
    throw new SpecError('name', `renaming services is not supported (${service.spec?.name} → ${spec.name})`);
  }
  if (spec.mode !== service.spec?.mode) {
    throw new SpecError(
      'mode',
      `a service's mode can't change (${MODE_NAMES[service.spec?.mode ?? ''] ?? 'unset'} → ${MODE_NAMES[spec.mode ?? ''] ?? 'unset'}): remove the service and create it again`,
    );
  }
  validateServiceSpec(spec);
  await ctx.store.update(
    (tx) => {
      const current = mustGet(tx, id);
      checkPublishedPorts(spec, tx.services.list(), { serviceId: id });
      checkServiceNetworks(spec, tx);
      tx.services.update({
        ...current,
        meta: { ...current.meta!, version: request.version },
        spec,
        previousSpec: current.spec,
      });
    },
    { signal: options.signal },
  );
  return ctx.store.view((tx) => mustGet(tx, id));
}

/** Sets the replicas of a replicated service (the concurrency of a replicated job). */
export async function scaleService(
  ctx: ControlContext,
  reference: string,
  replicas: number,
  options: CallOptions,
): Promise<Service> {
  const id = ctx.store.view((tx) => resolveService(tx, reference)).meta!.id;
  await ctx.store.update(
    (tx) => {
      const current = mustGet(tx, id);
      const spec = current.spec!;
      if (spec.mode === 'replicated') {
        tx.services.update({ ...current, spec: { ...spec, replicated: { replicas } }, previousSpec: spec });
      } else if (spec.mode === 'replicatedJob') {
        tx.services.update({
          ...current,
          spec: { ...spec, replicatedJob: { ...spec.replicatedJob!, maxConcurrent: replicas } },
          previousSpec: spec,
        });
      } else {
        throw new FailedPreconditionError(
          `service ${spec.name} is in ${MODE_NAMES[spec.mode ?? ''] ?? 'global'} mode: scale can only be used with replicated or replicated-job mode`,
        );
      }
    },
    { signal: options.signal },
  );
  return ctx.store.view((tx) => mustGet(tx, id));
}

/**
 * Deletes the service and, in the same transaction when they fit, marks its tasks for shutdown
 * (tasks that never reached a node are shut down and deleted at once). Large services continue in
 * further transactions, and agents report task status meanwhile: each task is therefore read again
 * in the transaction that changes it, and a transaction refused because a task moved between its
 * read and its commit is retried from the tasks left (the service may already be gone then). Should
 * the retries run out, the leader's orchestrator shuts down what is left of a deleted service.
 */
export async function removeService(
  ctx: ControlContext,
  reference: string,
  options: CallOptions,
): Promise<void> {
  const id = ctx.store.view((tx) => resolveService(tx, reference)).meta!.id;
  for (let attempt = 1; ; attempt++) {
    try {
      await removeServiceOnce(ctx, id, attempt === 1, options);
      return;
    } catch (err) {
      if (!(err instanceof VersionConflictError) || attempt >= REMOVE_SERVICE_ATTEMPTS) throw err;
      options.signal?.throwIfAborted();
    }
  }
}

/** Conflicting task writes a removal survives; each retry only has the tasks not yet handled. */
const REMOVE_SERVICE_ATTEMPTS = 10;

async function removeServiceOnce(
  ctx: ControlContext,
  id: string,
  serviceMustExist: boolean,
  options: CallOptions,
): Promise<void> {
  await ctx.store.batch(
    async (batch) => {
      const taskIds = await batch.update((tx) => {
        // On a retry the service may be gone already: deleted by the attempt that failed later on.
        if (serviceMustExist || tx.services.get(id)) {
          mustGet(tx, id);
          tx.services.delete(id);
        }
        return tx.tasks.findByService(id).map((task) => task.meta!.id);
      });
      for (const taskId of taskIds) {
        await batch.update((tx) => {
          const task = tx.tasks.get(taskId);
          if (!task) return;
          const plan = planServiceRemoval(id, [task], ctx.clock());
          if (plan.delete.includes(taskId)) tx.tasks.delete(taskId);
          else if (plan.update[0]) tx.tasks.update(plan.update[0]);
        });
      }
    },
    { signal: options.signal },
  );
}

/**
 * A name for a service created without one (docker makes one up too): the image's base name and a
 * random suffix, e.g. `busybox-3f9c1a`.
 */
export function generatedServiceName(spec: ServiceSpec__Output): string {
  const image = spec.container?.image ?? '';
  const base = (image.split('@')[0]!.split('/').pop() ?? '').split(':')[0]!.replace(/[^A-Za-z0-9_-]/g, '-');
  const trimmed = base.replace(/^[-_]+|[-_]+$/g, '').slice(0, 50) || 'service';
  return `${trimmed}-${randomBytes(3).toString('hex')}`;
}

function mustGet(tx: ReadTx, id: string): Service {
  const service = tx.services.get(id);
  if (!service) throw new NoSuchObjectError('service', id);
  return service;
}
