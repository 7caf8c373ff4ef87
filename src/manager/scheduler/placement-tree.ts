// Where the next task of a group goes. Without preferences: the eligible node with the fewest tasks
// of the service, then the fewest tasks overall, then the lowest node ID. With spread preferences
// (`spread=node.labels.zone`, nested for several), Swarm's decision tree: nodes are split into
// branches by the label's value (nodes without the label form their own branch), and each task goes
// down the branch that holds the fewest tasks of the service so far, so replicas split evenly across
// values before they spread over nodes inside a branch. Greedy "fewest first" placement one task at
// a time gives the same counts as an even split and also copes with branches that fill up: a branch
// with no node left that fits is dropped and the rest share its tasks.
// Every step is O(log n) through heaps; only groups of at most two tasks scan the nodes instead, once
// per task, which is cheaper than building a heap they would barely use.

import type { SpreadPreference } from '../spec/spec-preference';
import { MinHeap } from './min-heap';
import type { NodeInfo } from './node-info';
import { nodeAttribute } from './scheduler-filters';

export interface PlacementContext {
  readonly serviceId: string;
  /** Active tasks of the service on the node (a fast path for the many nodes holding none). */
  serviceTasksOf(node: NodeInfo): number;
  /** Whether the node can take one more task of the group (re-checked as nodes fill up). */
  fits(node: NodeInfo): boolean;
  /** Records the task on the node; the node's counts grow. */
  assign(node: NodeInfo): void;
}

export interface Placer {
  /** Tasks of the service already in this subtree; the parent sends the next task to the lowest. */
  readonly count: number;
  /** The branch's label value, for a deterministic order among equal counts. */
  readonly key: string;
  /** Places one task and returns its node, or undefined when no node in the subtree can take it. */
  place(): NodeInfo | undefined;
}

/** A candidate node with its sort keys cached, so heap comparisons do no lookups. */
interface Candidate {
  readonly node: NodeInfo;
  /** Active tasks of the service on the node. */
  serviceTasks: number;
  /** Active tasks of all services on the node. */
  allTasks: number;
}

function candidateBefore(a: Candidate, b: Candidate): boolean {
  if (a.serviceTasks !== b.serviceTasks) return a.serviceTasks < b.serviceTasks;
  if (a.allTasks !== b.allTasks) return a.allTasks < b.allTasks;
  return a.node.id < b.node.id;
}

class NodePlacer implements Placer {
  count: number;
  private readonly heap: MinHeap<Candidate>;

  constructor(
    readonly key: string,
    eligible: readonly NodeInfo[],
    counted: number,
    private readonly context: PlacementContext,
  ) {
    this.count = counted;
    this.heap = new MinHeap<Candidate>(
      candidateBefore,
      eligible.map((node) => ({
        node,
        serviceTasks: context.serviceTasksOf(node),
        allTasks: node.activeTaskCount,
      })),
    );
  }

  place(): NodeInfo | undefined {
    while (this.heap.size > 0) {
      const candidate = this.heap.peek()!;
      if (!this.context.fits(candidate.node)) {
        this.heap.pop();
        continue;
      }
      this.context.assign(candidate.node);
      candidate.serviceTasks += 1;
      candidate.allTasks = candidate.node.activeTaskCount;
      this.heap.topChanged();
      this.count += 1;
      return candidate.node;
    }
    return undefined;
  }
}

/**
 * The same choice as NodePlacer for a group of a few tasks: a scan per task costs less than building
 * a heap over every eligible node (clusters often have many one-task groups, e.g. global services'
 * tasks or one-replica services).
 */
class ScanPlacer implements Placer {
  readonly key = '';
  count = 0;
  private readonly candidates: NodeInfo[];

  constructor(
    eligible: readonly NodeInfo[],
    private readonly context: PlacementContext,
  ) {
    this.candidates = [...eligible];
  }

  place(): NodeInfo | undefined {
    const context = this.context;
    for (;;) {
      let best = -1;
      let bestService = 0;
      let bestAll = 0;
      for (let i = 0; i < this.candidates.length; i++) {
        const node = this.candidates[i]!;
        const service = context.serviceTasksOf(node);
        const all = node.activeTaskCount;
        if (
          best < 0 ||
          service < bestService ||
          (service === bestService &&
            (all < bestAll || (all === bestAll && node.id < this.candidates[best]!.id)))
        ) {
          best = i;
          bestService = service;
          bestAll = all;
        }
      }
      if (best < 0) return undefined;
      const node = this.candidates[best]!;
      if (!context.fits(node)) {
        this.candidates[best] = this.candidates[this.candidates.length - 1]!;
        this.candidates.pop();
        continue;
      }
      context.assign(node);
      this.count += 1;
      return node;
    }
  }
}

/** Up to this many tasks in a group, scanning the nodes per task beats building a heap. */
const SCAN_GROUP_LIMIT = 2;

class BranchPlacer implements Placer {
  count: number;
  private readonly heap: MinHeap<Placer>;

  constructor(
    readonly key: string,
    children: readonly Placer[],
  ) {
    this.count = children.reduce((sum, child) => sum + child.count, 0);
    this.heap = new MinHeap<Placer>(
      (a, b) => (a.count !== b.count ? a.count < b.count : a.key < b.key),
      children,
    );
  }

  place(): NodeInfo | undefined {
    while (this.heap.size > 0) {
      const node = this.heap.peek()!.place();
      if (!node) {
        this.heap.pop();
        continue;
      }
      this.heap.topChanged();
      this.count += 1;
      return node;
    }
    return undefined;
  }
}

/**
 * Builds the placer for one group. `counted` are the nodes whose tasks count towards a branch (those
 * meeting the constraints, as in Swarm); `eligible` (a subset) are the nodes that passed every filter.
 */
export function buildPlacer(
  eligible: readonly NodeInfo[],
  counted: readonly NodeInfo[],
  preferences: readonly SpreadPreference[],
  context: PlacementContext,
  groupSize: number,
): Placer {
  if (preferences.length === 0) {
    return groupSize <= SCAN_GROUP_LIMIT
      ? new ScanPlacer(eligible, context)
      : new NodePlacer('', eligible, 0, context);
  }
  const isEligible = new Set(eligible);
  const build = (key: string, nodes: readonly NodeInfo[], depth: number): Placer => {
    if (depth === preferences.length) {
      const counts = nodes.reduce((sum, node) => sum + context.serviceTasksOf(node), 0);
      return new NodePlacer(
        key,
        nodes.filter((node) => isEligible.has(node)),
        counts,
        context,
      );
    }
    const descriptor = preferences[depth]!.descriptor;
    const branches = new Map<string, NodeInfo[]>();
    for (const node of nodes) {
      const value = (node.node && nodeAttribute(node.node, descriptor)) ?? '';
      let branch = branches.get(value);
      if (!branch) {
        branch = [];
        branches.set(value, branch);
      }
      branch.push(node);
    }
    const children = [...branches].map(([value, members]) => build(value, members, depth + 1));
    return new BranchPlacer(key, children);
  };
  return build('', counted, 0);
}
