// What one simulation run looks like, derived from its seed alone: cluster size, fault mix and
// rates, how long it runs. Seeds rotate through a few profiles so that every batch of seeds
// covers crash-heavy, partition-heavy and membership-heavy runs on 3- and 5-node clusters.

import type { RaftBug } from '../types';
import type { LinkFaults } from './network';
import { Prng } from './prng';

export type ProfileName =
  | 'mixed'
  | 'crash-heavy'
  | 'partition-heavy'
  | 'membership'
  | 'election-storm'
  | 'leader-churn';

export interface Scenario {
  seed: number;
  profile: ProfileName;
  initialVoters: number;
  /** Raft ticks of virtual time under faults (then the cluster is healed and drained). */
  ticks: number;
  tickMs: number;
  electionTick: number;
  heartbeatTick: number;
  /** Raft's pre-vote and check-quorum (leader lease) options, both on in production. */
  preVote: boolean;
  checkQuorum: boolean;
  /** Link behaviour in calm and in lossy phases. */
  calmLink: LinkFaults;
  lossyLink: LinkFaults;
  /** Probability that handling one Ready crashes the node at a random point. */
  crashPerReady: number;
  /** The same, for a Ready that persists or applies client commands. */
  crashOnCommandReady: number;
  /** The same, for a Ready that grants a vote. */
  crashOnVoteGrant: number;
  /** Bytes of entries per Append: small values split catch-up into many messages. */
  maxSizePerMsg: number;
  /** Gap between fault actions. */
  faultEveryMs: [number, number];
  /** Relative weights of fault actions. */
  faults: {
    crash: number;
    partition: number;
    bridge: number;
    asymmetric: number;
    isolateLeader: number;
    lossy: number;
    transfer: number;
  };
  /** Probability that a nemesis crash picks the leader rather than any node. */
  leaderCrashBias: number;
  downtimeMs: [number, number];
  partitionMs: [number, number];
  /** Gap between membership changes, or undefined for a fixed membership. */
  membershipEveryMs: [number, number] | undefined;
  clients: number;
  keys: string[];
  snapshotEvery: number;
  keepEntries: number;
  bugs: ReadonlySet<RaftBug>;
}

export interface ScenarioOverrides {
  nodes?: number;
  steps?: number;
  bug?: RaftBug;
}

export const DEFAULT_TICKS = 600;

const PROFILES: readonly ProfileName[] = [
  'mixed',
  'crash-heavy',
  'partition-heavy',
  'membership',
  'election-storm',
  'leader-churn',
];

export function scenarioFor(seed: number, overrides: ScenarioOverrides = {}): Scenario {
  // A separate stream from the run's own, so choosing the scenario never shifts the run's draws.
  const r = new Prng(seed ^ 0x5ca1ab1e);
  const profile = PROFILES[((seed % PROFILES.length) + PROFILES.length) % PROFILES.length]!;
  const initialVoters = overrides.nodes ?? (r.chance(0.5) ? 5 : 3);
  const base: Scenario = {
    seed,
    profile,
    initialVoters,
    ticks: overrides.steps ?? DEFAULT_TICKS,
    tickMs: 10,
    electionTick: 10,
    heartbeatTick: 2,
    preVote: true,
    checkQuorum: true,
    calmLink: {
      dropRate: 0.01,
      duplicateRate: 0.01,
      minDelayMs: 1,
      maxDelayMs: 6,
      slowRate: 0.01,
      slowDelayMs: 40,
    },
    lossyLink: {
      dropRate: 0.15,
      duplicateRate: 0.05,
      minDelayMs: 1,
      maxDelayMs: 25,
      slowRate: 0.05,
      slowDelayMs: 150,
    },
    crashPerReady: 0.002,
    crashOnCommandReady: 0.01,
    crashOnVoteGrant: 0.02,
    maxSizePerMsg: r.pick([100, 400, 4096]),
    faultEveryMs: [60, 400],
    faults: { crash: 3, partition: 2, bridge: 1, asymmetric: 1, isolateLeader: 2, lossy: 1, transfer: 1 },
    leaderCrashBias: 0.4,
    downtimeMs: [5, 400],
    partitionMs: [50, 600],
    membershipEveryMs: undefined,
    clients: 3,
    keys: ['a', 'b', 'c'],
    snapshotEvery: 30,
    keepEntries: 5,
    bugs: new Set(overrides.bug ? [overrides.bug] : []),
  };
  switch (profile) {
    case 'crash-heavy':
      return {
        ...base,
        crashPerReady: 0.01,
        crashOnCommandReady: 0.05,
        crashOnVoteGrant: 0.1,
        faultEveryMs: [30, 200],
        faults: { crash: 6, partition: 1, bridge: 1, asymmetric: 0, isolateLeader: 2, lossy: 1, transfer: 1 },
        downtimeMs: [1, 150],
      };
    case 'partition-heavy':
      return {
        ...base,
        crashPerReady: 0.001,
        faults: { crash: 1, partition: 4, bridge: 3, asymmetric: 3, isolateLeader: 3, lossy: 2, transfer: 1 },
      };
    case 'election-storm':
      // Leaders crash and the network bridges (two nodes cut from each other, both reaching the
      // rest): two candidates often run in the same term, and voters crash right after granting a
      // vote and come back within the same election.
      return {
        ...base,
        initialVoters: overrides.nodes ?? 5,
        crashPerReady: 0.005,
        crashOnCommandReady: 0.02,
        crashOnVoteGrant: 0.5,
        faultEveryMs: [20, 150],
        downtimeMs: [1, 20],
        faults: { crash: 4, partition: 0, bridge: 4, asymmetric: 0, isolateLeader: 1, lossy: 0, transfer: 1 },
      };
    case 'leader-churn':
      // The Raft paper's Figure 8 recipe: five nodes, leaders that crash or get cut off right after
      // appending, and one entry per Append so that catching up a follower takes many round trips
      // (old-term entries reach a majority before the new leader's own entry does).
      return {
        ...base,
        initialVoters: overrides.nodes ?? 5,
        maxSizePerMsg: 1,
        clients: 5,
        crashPerReady: 0.005,
        crashOnCommandReady: 0.04,
        crashOnVoteGrant: 0.02,
        faultEveryMs: [20, 150],
        faults: { crash: 4, partition: 1, bridge: 1, asymmetric: 1, isolateLeader: 4, lossy: 1, transfer: 1 },
        leaderCrashBias: 0.8,
        downtimeMs: [1, 80],
        partitionMs: [30, 300],
      };
    case 'membership':
      return { ...base, membershipEveryMs: [100, 500], faults: { ...base.faults, transfer: 2 } };
    default:
      return { ...base, membershipEveryMs: r.chance(0.5) ? [300, 1200] : undefined };
  }
}
