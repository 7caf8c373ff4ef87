// How a reference typed by a user finds its object, the way the docker CLI resolves them: the full
// ID first, then the name (service name, node hostname), then a unique ID prefix. A reference that
// matches nothing is NoSuchObjectError; one that matches several is AmbiguousReferenceError.
import type { Node, ReadTx, Service, Task } from '../../store';
import { AmbiguousReferenceError, NoSuchObjectError } from './control-errors';

export function resolveNode(tx: ReadTx, reference: string): Node {
  const ref = reference.trim();
  if (!ref) throw new NoSuchObjectError('node', reference);
  const byId = tx.nodes.get(ref);
  if (byId) return byId;
  const byHostname = tx.nodes.filter((n) => n.description?.hostname === ref);
  if (byHostname.length === 1) return byHostname[0]!;
  if (byHostname.length > 1) throw ambiguous('node', ref, byHostname);
  return uniquePrefix('node', ref, tx.nodes.findByIdPrefix(ref));
}

export function resolveService(tx: ReadTx, reference: string): Service {
  const ref = reference.trim();
  if (!ref) throw new NoSuchObjectError('service', reference);
  const found = tx.services.get(ref) ?? tx.services.getByName(ref);
  if (found) return found;
  return uniquePrefix('service', ref, tx.services.findByIdPrefix(ref));
}

export function resolveTask(tx: ReadTx, reference: string): Task {
  const ref = reference.trim();
  if (!ref) throw new NoSuchObjectError('task', reference);
  return tx.tasks.get(ref) ?? uniquePrefix('task', ref, tx.tasks.findByIdPrefix(ref));
}

function uniquePrefix<T extends { meta: { id: string } | null }>(
  kind: 'node' | 'service' | 'task',
  ref: string,
  matches: readonly T[],
): T {
  if (matches.length === 1) return matches[0]!;
  if (matches.length === 0) throw new NoSuchObjectError(kind, ref);
  throw ambiguous(kind, ref, matches);
}

function ambiguous(
  kind: 'node' | 'service' | 'task',
  ref: string,
  matches: readonly { meta: { id: string } | null }[],
): AmbiguousReferenceError {
  return new AmbiguousReferenceError(kind, ref, matches.map((m) => m.meta?.id ?? '').sort());
}
