// The fault injector: at random moments of the fault phase it crashes a node, partitions the
// network (symmetric splits, an isolated leader, a bridge, one-way link cuts), makes links lossy, or asks
// the leader to hand over leadership. Crashes inside Ready handling are injected separately by the
// simulation (see Simulation.crashPoint); this module owns the faults from outside a node.

import type { Prng } from './prng';
import type { ClusterControl } from './simulation';

type FaultAction = 'crash' | 'partition' | 'bridge' | 'asymmetric' | 'isolateLeader' | 'lossy' | 'transfer';

export class Nemesis {
  constructor(
    private readonly cluster: ClusterControl,
    private readonly random: Prng,
  ) {}

  act(): void {
    const action = this.pickAction();
    const c = this.cluster;
    const members = c.memberNodes();
    const ids = members.map((n) => n.id);
    const [pLo, pHi] = c.scenario.partitionMs;
    switch (action) {
      case 'crash': {
        const up = members.filter((n) => n.up);
        if (up.length === 0) return;
        // The leader is the most interesting victim: favour it.
        const leader = c.leader();
        const victim =
          leader !== undefined && this.random.chance(c.scenario.leaderCrashBias)
            ? leader
            : this.random.pick(up);
        c.trace(`nemesis crash ${victim.id}`);
        c.crash(victim);
        return;
      }
      case 'partition': {
        const shuffled = this.random.shuffle(ids);
        const cut = this.random.between(1, Math.max(1, shuffled.length - 1));
        const groups = [shuffled.slice(0, cut), shuffled.slice(cut)];
        c.network.partition(groups);
        c.trace(`nemesis partition ${groups.map((g) => g.join(',')).join(' | ')}`);
        c.healAfter(this.random.between(pLo, pHi));
        return;
      }
      case 'bridge': {
        // Two nodes cannot talk to each other but both reach the rest: a non-transitive network,
        // where each side may elect a leader with the help of the nodes in the middle.
        if (ids.length < 3) return;
        const [a, b] = this.random.shuffle(ids);
        c.network.partition([[a!], [b!]]);
        c.trace(`nemesis bridge: ${a} x ${b}`);
        c.healAfter(this.random.between(pLo, pHi));
        return;
      }
      case 'asymmetric': {
        const from = this.random.pick(ids);
        const victims = this.random
          .shuffle(ids.filter((id) => id !== from))
          .slice(0, this.random.between(1, 2));
        for (const to of victims) c.network.cutLink(from, to);
        c.trace(`nemesis one-way cut ${from} -> ${victims.join(',')}`);
        c.healAfter(this.random.between(pLo, pHi));
        return;
      }
      case 'isolateLeader': {
        const leader = c.leader();
        if (leader === undefined) return;
        c.network.isolate(leader.id, ids);
        c.trace(`nemesis isolate leader ${leader.id}`);
        c.healAfter(this.random.between(pLo, pHi));
        return;
      }
      case 'lossy': {
        c.network.setFaults(c.scenario.lossyLink);
        c.trace('nemesis lossy links');
        c.healAfter(this.random.between(pLo, pHi));
        return;
      }
      case 'transfer': {
        const leader = c.leader();
        if (leader === undefined) return;
        const voters = leader.members.voters.filter((id) => id !== leader.id);
        if (voters.length === 0) return;
        const to = this.random.pick(voters);
        c.trace(`nemesis transfer ${leader.id} -> ${to}`);
        leader.transferLeadership(to);
        return;
      }
    }
  }

  private pickAction(): FaultAction {
    const weights = this.cluster.scenario.faults;
    const actions = (Object.keys(weights) as FaultAction[]).sort();
    const total = actions.reduce((sum, a) => sum + weights[a], 0);
    let roll = this.random.float() * total;
    for (const a of actions) {
      roll -= weights[a];
      if (roll < 0) return a;
    }
    return actions[actions.length - 1]!;
  }
}
