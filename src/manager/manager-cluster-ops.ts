// The Control API's ClusterOps over a Manager: linearizable read barriers through Raft, Raft
// membership removal, the CA's join tokens and the node's view of the cluster. Writes need no
// forwarding here: the store's proposer already forwards them to the leader.

import { MembershipError } from '../../raft/runtime';
import type { Info } from '../api/gen/types/orch/control/Info';
import type { JoinTokens } from '../api/gen/types/orch/control/JoinTokens';
import type { ClusterOps, OpOptions } from './controlapi';
import type { Manager } from './manager';
import { clusterOf } from './manager-ca-store';

export function createClusterOps(manager: Manager): ClusterOps {
  return {
    async readBarrier(options: OpOptions = {}): Promise<void> {
      const raft = manager.raft;
      if (!raft) throw new Error('this node is no longer running as a manager');
      await raft.readBarrier(options);
    },

    async removeMember(nodeId: string, options: OpOptions = {}): Promise<void> {
      const raft = manager.raft;
      // On a follower the leader's membership loop removes members whose Node is gone.
      if (!raft?.isLeader) return;
      try {
        await raft.removeMember(nodeId, options);
      } catch (err) {
        if (!(err instanceof MembershipError)) throw err;
      }
    },

    async joinTokens(rotate: { worker: boolean; manager: boolean }): Promise<JoinTokens> {
      if (rotate.worker) await manager.ca.rotateJoinToken('worker');
      if (rotate.manager) await manager.ca.rotateJoinToken('manager');
      const tokens = await manager.ca.joinTokens();
      return { worker: tokens.worker, manager: tokens.manager };
    },

    async info(): Promise<Info> {
      const info = manager.info();
      const status = manager.raft?.status();
      const digest = manager.store.view((tx) => clusterOf(tx)?.rootCaCertDigest ?? '');
      return {
        nodeId: info.nodeId,
        clusterId: info.clusterId,
        isManager: true,
        leaderNodeId: info.leaderId,
        managers: info.managers,
        nodes: info.nodes,
        rootCaCertDigest: digest,
        raftTerm: info.raftTerm,
        raftAppliedIndex: status?.appliedIndex ?? 0,
      };
    },
  };
}
