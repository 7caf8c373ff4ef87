// Control API operations on nodes: read, list with filters, change availability and labels, promote
// and demote (recorded as spec.desiredRole, as Swarm does: the manager's role reconciler moves Raft
// membership to match), and remove. Refusals follow docker's rules: a node that is not down, or a
// manager, is removed only with force, and no change may leave the managers without a quorum.
import type { ListNodesRequest__Output } from '../../api/gen/types/orch/control/ListNodesRequest';
import type { UpdateNodeRequest__Output } from '../../api/gen/types/orch/control/UpdateNodeRequest';
import type { NodeRole__Output } from '../../api/gen/types/orch/objects/NodeRole';
import type { Node, ReadTx } from '../../store';
import { type CallOptions, type ControlContext, readBarrier } from './control-context';
import { FailedPreconditionError, InvalidRequestError, NoSuchObjectError } from './control-errors';
import { resolveNode } from './resolve-reference';

const MANAGER: NodeRole__Output = 'NODE_ROLE_MANAGER';
const WORKER: NodeRole__Output = 'NODE_ROLE_WORKER';

export async function getNode(
  ctx: ControlContext,
  reference: string,
  linearizable: boolean,
  options: CallOptions,
): Promise<Node> {
  await readBarrier(ctx, linearizable, options);
  return ctx.store.view((tx) => resolveNode(tx, reference));
}

export async function listNodes(
  ctx: ControlContext,
  request: ListNodesRequest__Output,
  options: CallOptions,
): Promise<Node[]> {
  await readBarrier(ctx, request.linearizable, options);
  const f = request.filters;
  const nodes = ctx.store.view((tx) => tx.nodes.list());
  return nodes
    .filter((node) => {
      if (!f) return true;
      const id = node.meta?.id ?? '';
      if (f.ids.length > 0 && !f.ids.some((prefix) => id.startsWith(prefix))) return false;
      if (f.names.length > 0 && !f.names.includes(node.description?.hostname ?? '')) return false;
      if (f.roles.length > 0 && !f.roles.includes(node.role)) return false;
      if (
        f.availabilities.length > 0 &&
        !f.availabilities.includes(node.spec?.availability ?? 'NODE_AVAILABILITY_ACTIVE')
      )
        return false;
      return labelsMatch(node.spec?.labels ?? {}, f.labels);
    })
    .sort(byHostnameThenId);
}

/** Replaces availability and labels; `request.version` must be the node's current version. */
export async function updateNode(
  ctx: ControlContext,
  request: UpdateNodeRequest__Output,
  options: CallOptions,
): Promise<Node> {
  if (!request.spec) throw new InvalidRequestError('spec', 'a node spec is required');
  const spec = request.spec;
  for (const key of Object.keys(spec.labels)) {
    if (!key.trim()) throw new InvalidRequestError('spec.labels', 'a label key must not be empty');
  }
  const node = ctx.store.view((tx) => resolveNode(tx, request.nodeId));
  const id = node.meta!.id;
  if (spec.desiredRole !== (node.spec?.desiredRole ?? node.role)) {
    throw new InvalidRequestError(
      'spec.desiredRole',
      "the role changes only with 'orch node promote' or 'orch node demote'",
    );
  }
  await ctx.store.update(
    (tx) => {
      const current = mustGet(tx, id);
      tx.nodes.update({
        ...current,
        meta: { ...current.meta!, version: request.version },
        spec: { ...spec, desiredRole: current.spec?.desiredRole ?? current.role },
      });
    },
    { signal: options.signal },
  );
  return ctx.store.view((tx) => mustGet(tx, id));
}

export async function promoteNode(
  ctx: ControlContext,
  reference: string,
  options: CallOptions,
): Promise<Node> {
  return setDesiredRole(ctx, reference, MANAGER, options);
}

export async function demoteNode(
  ctx: ControlContext,
  reference: string,
  options: CallOptions,
): Promise<Node> {
  return setDesiredRole(ctx, reference, WORKER, options);
}

async function setDesiredRole(
  ctx: ControlContext,
  reference: string,
  role: NodeRole__Output,
  options: CallOptions,
): Promise<Node> {
  const node = ctx.store.view((tx) => resolveNode(tx, reference));
  const id = node.meta!.id;
  if ((node.spec?.desiredRole ?? WORKER) === role && node.role === role) return node;
  await ctx.store.update(
    (tx) => {
      const current = mustGet(tx, id);
      if (role === WORKER) checkManagerCanLeave(tx, current, 'demote');
      tx.nodes.update({ ...current, spec: { ...current.spec!, desiredRole: role } });
    },
    { signal: options.signal },
  );
  return ctx.store.view((tx) => mustGet(tx, id));
}

/**
 * Removes a node from the cluster and revokes its certificate (the cluster's removed-node list).
 * Without force a node that is not down, or a manager, is refused, like `docker node rm`.
 */
export async function removeNode(
  ctx: ControlContext,
  reference: string,
  force: boolean,
  options: CallOptions,
): Promise<void> {
  const node = ctx.store.view((tx) => resolveNode(tx, reference));
  const id = node.meta!.id;
  const isManager = node.role === MANAGER || node.spec?.desiredRole === MANAGER;
  if (!force && isManager) {
    throw new FailedPreconditionError(
      `node ${id} is a cluster manager and a member of the Raft cluster: demote it first ('orch node demote ${id}') or use --force`,
    );
  }
  if (!force && node.status?.state === 'NODE_STATE_READY') {
    throw new FailedPreconditionError(`node ${id} is not down and can't be removed; use --force`);
  }
  if (node.role === MANAGER) {
    ctx.store.view((tx) => checkManagerCanLeave(tx, node, 'remove'));
    const info = await ctx.ops.info({ signal: options.signal });
    if (info.nodeId === id) {
      throw new FailedPreconditionError(
        `node ${id} is the manager serving this request: run 'orch leave --force' on it, or remove it from another manager`,
      );
    }
    await ctx.ops.removeMember(id, { signal: options.signal });
  }
  await ctx.store.update(
    (tx) => {
      const current = tx.nodes.get(id);
      if (!current) return;
      tx.nodes.delete(id);
      const cluster = tx.clusters.getByName('default') ?? tx.clusters.list()[0];
      if (cluster) {
        tx.clusters.update({
          ...cluster,
          removedNodes: [
            ...cluster.removedNodes.filter((r) => r.nodeId !== id),
            { nodeId: id, certExpiresAtMs: current.certificate?.notAfterMs ?? 0 },
          ],
        });
      }
    },
    { signal: options.signal },
  );
}

/**
 * Refuses taking `node` out of the managers when it is the last one or when the managers left could
 * not form a quorum with the ones that are reachable (Swarm refuses both, even with force).
 */
function checkManagerCanLeave(tx: ReadTx, node: Node, action: 'demote' | 'remove'): void {
  const id = node.meta!.id;
  const managers = tx.nodes.findByRole(MANAGER);
  if (!managers.some((m) => m.meta?.id === id)) return;
  const remaining = managers.filter((m) => m.meta?.id !== id);
  const verb = action === 'demote' ? 'demoted' : 'removed';
  if (remaining.length === 0) {
    throw new FailedPreconditionError(
      `node ${id} is the last manager of the cluster and can't be ${verb}: promote another node first`,
    );
  }
  const reachable = remaining.filter((m) => m.managerStatus?.reachable).length;
  const quorum = Math.floor(remaining.length / 2) + 1;
  if (reachable < quorum) {
    throw new FailedPreconditionError(
      `can't ${action} node ${id}: the other managers would lose their quorum (${reachable} of ${remaining.length} reachable, ${quorum} needed)`,
    );
  }
}

function mustGet(tx: ReadTx, id: string): Node {
  const node = tx.nodes.get(id);
  if (!node) throw new NoSuchObjectError('node', id);
  return node;
}

function labelsMatch(labels: Record<string, string>, wanted: Record<string, string>): boolean {
  return Object.entries(wanted).every(([k, v]) => k in labels && (v === '' || labels[k] === v));
}

function byHostnameThenId(a: Node, b: Node): number {
  const ha = a.description?.hostname ?? '';
  const hb = b.description?.hostname ?? '';
  if (ha !== hb) return ha < hb ? -1 : 1;
  return (a.meta?.id ?? '') < (b.meta?.id ?? '') ? -1 : 1;
}
