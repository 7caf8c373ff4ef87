// Runs the filters over nodes for one task at a time and remembers, per filter, how many nodes it
// was the first to eliminate, so a task that fits nowhere gets Swarm's explanation:
// `no suitable node (scheduling constraints not satisfied on 3 nodes; insufficient resources on 1 node)`.

import type { NodeInfo } from './node-info';
import { defaultFilters, type SchedulerFilter } from './scheduler-filters';
import type { TaskRequirements } from './task-requirements';

export const NO_SUITABLE_NODE = 'no suitable node';

export class FilterPipeline {
  private readonly filters: readonly SchedulerFilter[];
  /** Indexes into filters of the filters switched on for the current task. */
  private enabled: number[] = [];
  /** failures[i]: nodes eliminated first by filters[i] since the last setTask/resetFailures. */
  private readonly failures: number[];

  constructor(filters: readonly SchedulerFilter[] = defaultFilters()) {
    this.filters = filters;
    this.failures = filters.map(() => 0);
  }

  setTask(task: TaskRequirements): void {
    this.enabled = [];
    this.filters.forEach((filter, index) => {
      if (filter.setTask(task)) this.enabled.push(index);
    });
    this.resetFailures();
  }

  resetFailures(): void {
    this.failures.fill(0);
  }

  /** Whether the node passes every filter, counting the first failing one. */
  process(node: NodeInfo): boolean {
    for (const index of this.enabled) {
      if (!this.filters[index]!.check(node)) {
        this.failures[index]! += 1;
        return false;
      }
    }
    return true;
  }

  /** Whether the node passes every filter, without counting. */
  check(node: NodeInfo): boolean {
    for (const index of this.enabled) if (!this.filters[index]!.check(node)) return false;
    return true;
  }

  /** The failures counted so far, most eliminations first (pipeline order breaks ties). */
  explain(): string {
    return this.filters
      .map((filter, index) => ({ filter, index, count: this.failures[index]! }))
      .filter((entry) => entry.count > 0)
      .sort((a, b) => b.count - a.count || a.index - b.index)
      .map((entry) => entry.filter.explain(entry.count))
      .join('; ');
  }

  /** `no suitable node (…)` from the failures counted so far. */
  noSuitableNode(): string {
    const why = this.explain();
    return why ? `${NO_SUITABLE_NODE} (${why})` : NO_SUITABLE_NODE;
  }
}
