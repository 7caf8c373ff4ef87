// Which nodes a global service (or global job) runs on: nodes that are not drained, down or removed
// and that meet the service's constraints. Shared by the global reconcilers.

import type { Node__Output } from '../../api/gen/types/orch/objects/Node';
import type { Service__Output } from '../../api/gen/types/orch/objects/Service';
import { nodeMatchesConstraints } from '../scheduler/scheduler-filters';
import { parseConstraints } from '../spec/spec-constraint';
import { SpecError } from '../spec/spec-error';
import { mustLeaveNode, nodeCondition } from './node-failure';

/** A predicate over nodes for `service`; constraints that cannot be parsed match no node. */
export function globalNodeFilter(service: Service__Output): (node: Node__Output | undefined) => boolean {
  let constraints: ReturnType<typeof parseConstraints>;
  try {
    constraints = parseConstraints(service.spec?.placement?.constraints ?? [], 'placement.constraints');
  } catch (err) {
    if (err instanceof SpecError) return () => false;
    throw err;
  }
  return (node) =>
    node !== undefined && !mustLeaveNode(nodeCondition(node)) && nodeMatchesConstraints(node, constraints);
}

/** Nodes in ID order, so plans come out the same whatever order the store lists them in. */
export function byNodeId(a: Node__Output, b: Node__Output): number {
  const x = a.meta?.id ?? '';
  const y = b.meta?.id ?? '';
  return x < y ? -1 : x > y ? 1 : 0;
}
