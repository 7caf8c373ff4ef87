// Structural sharing between versions of stored objects. Objects are immutable, so a new version
// may reuse every subtree that equals the previous version's: a task status update then keeps the
// task's spec, endpoint and networks as the very same objects, and a new task shares its spec with
// its service. Identity changes, content never does, so this cannot affect what managers agree on;
// it only saves memory (50,000 tasks carrying a service spec each) and freezing work.

// Module constants instead of globals in this hot path (global lookups are slow in vm contexts).
const { isFrozen } = Object;
const { isArray } = Array;
const Bytes = Uint8Array;

/**
 * Returns `previous` where `next` equals it, otherwise `next` with its equal children replaced by
 * `previous`'s. `next` must be a fresh, unfrozen canonical object (it is modified in place);
 * `previous` a frozen one.
 */
export function shareEqual<T>(next: T, previous: unknown): T {
  if (next === previous || typeof next !== 'object' || next === null) return next;
  if (typeof previous !== 'object' || previous === null) return next;
  // Already a stored (shared) subtree: keep it, and never write into it.
  if (isFrozen(next)) return next;
  if (next instanceof Bytes) {
    return previous instanceof Bytes && bytesEqual(next, previous) ? (previous as T) : next;
  }
  if (isArray(next)) {
    if (!isArray(previous)) return next;
    let same = next.length === previous.length;
    for (let i = 0; i < next.length; i++) {
      next[i] = shareEqual(next[i], previous[i]);
      if (next[i] !== previous[i]) same = false;
    }
    return same ? (previous as T) : next;
  }
  if (isArray(previous) || previous instanceof Bytes) return next;
  const record = next as Record<string, unknown>;
  const old = previous as Record<string, unknown>;
  let same = true;
  let keys = 0;
  for (const key in record) {
    keys++;
    const value = shareEqual(record[key], old[key]);
    if (value !== record[key]) record[key] = value;
    if (value !== old[key] || !(key in old)) same = false;
  }
  if (!same) return next;
  for (const _key in old) keys--;
  return keys === 0 ? (previous as T) : next;
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
