// Leader-only loops that keep Raft membership and the Node objects in step:
//  - membership: a node whose desired role is manager becomes a Raft learner, then a voter once it
//    has caught up; a node whose desired role is worker (demoted) or that was removed leaves Raft.
//    The leader never removes itself: it hands leadership to a caught-up voter first and lets the
//    next leader finish the demotion.
//  - status: every manager's ManagerStatus (leader, reachable) and, until the dispatcher's
//    heartbeats take over node liveness, each node's Ready/Down from a connection probe.
import type { Logger } from 'pino';
import { MembershipError, NotCaughtUpError, NotLeaderError, type RaftNode } from '../../raft/runtime';
import type { MemoryStore, Node } from '../store';
import { clusterOf } from './manager-ca-store';
import { type LeaderLoop, sleep } from './manager-loops';

export interface MembershipLoopOptions {
  store: MemoryStore;
  raft: RaftNode;
  logger: Logger;
  /**
   * Tells a node whose certificate role differs from its desired role to renew now (promotion or
   * demotion). Best effort: the node also learns it at its next renewal.
   */
  notifyRole?: (nodeAddr: string, role: 'manager' | 'worker', signal: AbortSignal) => Promise<void>;
  intervalMs?: number;
}

/** How often a node whose role changed is reminded until its certificate carries the new role. */
const NOTIFY_EVERY_MS = 2000;

const DEFAULT_INTERVAL_MS = 250;

function wantsManager(node: Node): boolean {
  return node.spec?.desiredRole === 'NODE_ROLE_MANAGER';
}

/** The address Raft reaches a manager at: its node address (ManagerStatus, else status), Raft being served there. */
export function raftAddressOf(node: Node): string | undefined {
  return node.managerStatus?.addr || node.status?.addr || undefined;
}

export function membershipLoop(options: MembershipLoopOptions): LeaderLoop {
  const { store, raft, logger } = options;
  const intervalMs = options.intervalMs ?? DEFAULT_INTERVAL_MS;
  const notifiedAt = new Map<string, number>();
  return {
    async run(signal) {
      while (!signal.aborted) {
        await reconcileMembership(store, raft, logger, signal);
        if (options.notifyRole) notifyRoleChanges(store, options.notifyRole, notifiedAt, logger, signal);
        await sleep(intervalMs, signal);
      }
    },
  };
}

/** Reminds every node whose certificate role is not its desired role (at most every NOTIFY_EVERY_MS). */
function notifyRoleChanges(
  store: MemoryStore,
  notify: NonNullable<MembershipLoopOptions['notifyRole']>,
  notifiedAt: Map<string, number>,
  logger: Logger,
  signal: AbortSignal,
): void {
  const now = Date.now();
  const pending = store.view((tx) =>
    tx.nodes.filter((n) => n.spec?.desiredRole !== n.role && (n.status?.addr ?? '') !== ''),
  );
  const pendingIds = new Set(pending.map((n) => n.meta!.id));
  for (const id of notifiedAt.keys()) if (!pendingIds.has(id)) notifiedAt.delete(id);
  for (const node of pending) {
    const id = node.meta!.id;
    if (now - (notifiedAt.get(id) ?? 0) < NOTIFY_EVERY_MS) continue;
    notifiedAt.set(id, now);
    const role = node.spec?.desiredRole === 'NODE_ROLE_MANAGER' ? 'manager' : 'worker';
    notify(node.status!.addr, role, signal).catch((err: unknown) =>
      logger.debug({ nodeId: id, err: (err as Error).message }, 'could not tell the node its new role'),
    );
  }
}

/** One pass: at most one conf change per node, one node at a time (Raft changes one member at a time). */
export async function reconcileMembership(
  store: MemoryStore,
  raft: RaftNode,
  logger: Logger,
  signal: AbortSignal,
): Promise<void> {
  const { nodes, removedIds } = store.view((tx) => ({
    nodes: tx.nodes.list(),
    removedIds: new Set((clusterOf(tx)?.removedNodes ?? []).map((r) => r.nodeId)),
  }));
  const status = raft.status();
  const voters = new Set(status.voters);
  const learners = new Set(status.learners);
  const byId = new Map(nodes.map((n) => [n.meta!.id, n]));
  try {
    for (const node of nodes) {
      const id = node.meta!.id;
      if (!wantsManager(node) || removedIds.has(id)) continue;
      if (!voters.has(id) && !learners.has(id)) {
        const address = raftAddressOf(node);
        if (!address) continue;
        logger.info({ nodeId: id, address }, 'adding manager as a raft learner');
        await raft.addLearner(id, address, { meta: { nodeAddr: node.status?.addr ?? '' }, signal });
        return;
      }
      if (learners.has(id)) {
        try {
          await raft.promote(id, { signal });
          logger.info({ nodeId: id }, 'learner caught up: promoted to voter');
          return;
        } catch (err) {
          if (!(err instanceof NotCaughtUpError)) throw err;
        }
      }
    }
    for (const id of [...voters, ...learners]) {
      const node = byId.get(id);
      const leaving = node === undefined || removedIds.has(id) || !wantsManager(node);
      if (!leaving) continue;
      if (id === raft.id) {
        const successor = status.voters.find((v) => v !== id && byId.get(v) && wantsManager(byId.get(v)!));
        if (successor) {
          logger.info({ successor }, 'this leader is being demoted: handing leadership over');
          raft.transferLeadership(successor);
        }
        continue;
      }
      logger.info({ nodeId: id }, 'removing member from raft');
      await raft.removeMember(id, { signal });
      return;
    }
  } catch (err) {
    if (signal.aborted || err instanceof NotLeaderError) return;
    if (err instanceof MembershipError) {
      logger.debug({ err: err.message }, 'membership change skipped');
      return;
    }
    throw err;
  }
}

export interface StatusLoopOptions {
  store: MemoryStore;
  raft: RaftNode;
  logger: Logger;
  /** True when the node's gRPC server at `nodeAddr` accepts a connection within the probe time. */
  probe: (nodeAddr: string, signal: AbortSignal) => Promise<boolean>;
  /** Also mark every node Ready/Down from the probe (until the dispatcher's heartbeats do it). */
  nodeLiveness: boolean;
  intervalMs?: number;
}

export function statusLoop(options: StatusLoopOptions): LeaderLoop {
  const intervalMs = options.intervalMs ?? 1000;
  return {
    async run(signal) {
      while (!signal.aborted) {
        await updateStatuses(options, signal);
        await sleep(intervalMs, signal);
      }
    },
  };
}

async function updateStatuses(options: StatusLoopOptions, signal: AbortSignal): Promise<void> {
  const { store, raft } = options;
  const nodes = store.view((tx) => tx.nodes.list());
  const members = raft.memberList();
  const voters = new Set(raft.status().voters);
  const reachable = new Map<string, boolean>();
  await Promise.all(
    nodes.map(async (node) => {
      const id = node.meta!.id;
      if (id === raft.id) return reachable.set(id, true);
      // Without node liveness only managers' reachability is used. Probing every worker each
      // second kept a channel per worker address, and a worker that does not answer made grpc-js
      // reconnect with a new TLS context per attempt: half the leader's CPU at 1,000 workers in
      // the scale benchmark (docs/benchmarks.md).
      if (!options.nodeLiveness && !voters.has(id) && !members.has(id)) return;
      const addr = node.status?.addr;
      reachable.set(id, addr ? await options.probe(addr, signal) : false);
    }),
  );
  if (signal.aborted) return;
  const changed: Node[] = [];
  for (const node of nodes) {
    const id = node.meta!.id;
    const isUp = reachable.get(id) ?? false;
    let next: Node = node;
    const isMember = voters.has(id) || members.has(id);
    if (isMember) {
      const managerStatus = {
        raftId: id,
        addr: members.get(id)?.meta?.nodeAddr || node.managerStatus?.addr || node.status?.addr || '',
        leader: id === raft.id,
        reachable: isUp,
      };
      const old = node.managerStatus;
      if (
        !old ||
        old.leader !== managerStatus.leader ||
        old.reachable !== managerStatus.reachable ||
        old.addr !== managerStatus.addr
      ) {
        next = { ...next, managerStatus };
      }
    }
    if (options.nodeLiveness) {
      const state = isUp ? 'NODE_STATE_READY' : 'NODE_STATE_DOWN';
      if (node.status?.state !== state) {
        next = {
          ...next,
          status: {
            ...node.status!,
            state,
            message: isUp ? '' : 'node is unreachable',
            lastHeartbeatMs: isUp ? Date.now() : (node.status?.lastHeartbeatMs ?? 0),
          },
        };
      }
    }
    if (next !== node) changed.push(next);
  }
  if (changed.length === 0) return;
  await store.update(
    (tx) => {
      for (const node of changed) {
        const current = tx.nodes.get(node.meta!.id);
        if (!current || current.meta!.version !== node.meta!.version) continue;
        tx.nodes.update(node);
      }
    },
    { signal },
  );
}
