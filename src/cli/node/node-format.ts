// How `orch node` shows a node: docker's words for its state, availability and manager status, and
// the `inspect --pretty` summary.
import type { Node__Output } from '../../api/gen/types/orch/objects/Node';
import type { NodeAvailability__Output } from '../../api/gen/types/orch/objects/NodeAvailability';
import { formatMemoryBytes, formatNanoCpus } from '../../manager/spec';
import { capitalize } from '../service/task-table';

export function nodeState(node: Node__Output): string {
  return capitalize((node.status?.state ?? 'NODE_STATE_UNKNOWN').replace(/^NODE_STATE_/, '').toLowerCase());
}

export function nodeAvailability(value: NodeAvailability__Output | undefined): string {
  return capitalize((value ?? 'NODE_AVAILABILITY_ACTIVE').replace(/^NODE_AVAILABILITY_/, '').toLowerCase());
}

/** Leader, Reachable or Unreachable for managers; empty for workers. */
export function managerStatus(node: Node__Output): string {
  if (node.role !== 'NODE_ROLE_MANAGER' || !node.managerStatus) return '';
  if (node.managerStatus.leader) return 'Leader';
  return node.managerStatus.reachable ? 'Reachable' : 'Unreachable';
}

export function formatNodePretty(n: Node__Output): string {
  const lines = [
    `ID:\t\t\t${n.meta?.id ?? ''}`,
    ...(Object.keys(n.spec?.labels ?? {}).length > 0
      ? ['Labels:', ...Object.entries(n.spec!.labels).map(([k, v]) => ` - ${k}=${v}`)]
      : []),
    `Hostname:\t\t${n.description?.hostname ?? ''}`,
    `Joined at:\t\t${new Date(n.meta?.createdAtMs ?? 0).toISOString()}`,
    'Status:',
    ` State:\t\t\t${nodeState(n)}`,
    ` Availability:\t\t${nodeAvailability(n.spec?.availability)}`,
    ` Address:\t\t${n.status?.addr ?? ''}`,
  ];
  if (n.role === 'NODE_ROLE_MANAGER' && n.managerStatus) {
    lines.push(
      'Manager Status:',
      ` Address:\t\t${n.managerStatus.addr}`,
      ` Raft Status:\t\t${n.managerStatus.reachable ? 'Reachable' : 'Unreachable'}`,
      ` Leader:\t\t${n.managerStatus.leader ? 'Yes' : 'No'}`,
    );
  }
  const d = n.description;
  lines.push(
    'Platform:',
    ` Operating System:\t${d?.os ?? ''}`,
    ` Architecture:\t\t${d?.architecture ?? ''}`,
    'Resources:',
    ` CPUs:\t\t\t${formatNanoCpus(d?.nanoCpus ?? 0)}`,
    ` Memory:\t\t${formatMemoryBytes(d?.memoryBytes ?? 0)}`,
    `Engine Version:\t\t${d?.engineVersion ?? ''}`,
  );
  if (n.certificate) {
    lines.push(
      'TLS Info:',
      ` Certificate serial:\t${n.certificate.serialNumber}`,
      ` Expires at:\t\t${new Date(n.certificate.notAfterMs).toISOString()}`,
    );
  }
  return `${lines.join('\n')}\n`;
}
