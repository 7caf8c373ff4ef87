import { EntryType, MemoryStorage } from '../../../raft/index';
import { SafetyMonitor } from '../../../raft/sim/safety-monitor';
import type { Entry } from '../../../raft/types';

const entry = (index: number, term: number, byte = index): Entry => ({
  index,
  term,
  type: EntryType.Normal,
  data: new Uint8Array([byte]),
});

function logWith(entries: Entry[]): MemoryStorage {
  const storage = MemoryStorage.bootstrap(['n1', 'n2', 'n3']);
  storage.append(entries);
  return storage;
}

const kinds = (m: SafetyMonitor) => m.violations.map((v) => v.kind);

describe('safety monitor', () => {
  it('accepts one leader per term and reports a second one (election safety)', () => {
    const m = new SafetyMonitor(() => 0);
    m.onLeader('n1', 2, logWith([]));
    m.onLeader('n1', 2, logWith([]));
    m.onLeader('n2', 3, logWith([]));
    expect(kinds(m)).toEqual([]);
    m.onLeader('n3', 3, logWith([]));
    expect(kinds(m)).toEqual(['election-safety']);
  });

  it('reports a server that votes for two candidates in one term (vote safety)', () => {
    const m = new SafetyMonitor(() => 0);
    m.onVoteGranted('n1', 4, 'n2');
    m.onVoteGranted('n1', 4, 'n2');
    m.onVoteGranted('n1', 5, 'n3');
    expect(kinds(m)).toEqual([]);
    m.onVoteGranted('n1', 5, 'n2');
    expect(m.violations[0]!.message).toContain('n1 voted for both n3 and n2 in term 5');
  });

  it('reports a leader that commits an entry of an earlier term by counting (commitment rule)', () => {
    const m = new SafetyMonitor(() => 0);
    m.onLeaderCommit('n1', 3, 7, 3);
    expect(kinds(m)).toEqual([]);
    m.onLeaderCommit('n1', 3, 6, 2);
    expect(kinds(m)).toEqual(['commitment-rule']);
  });

  it('reports two different entries persisted with the same index and term (log matching)', () => {
    const m = new SafetyMonitor(() => 0);
    m.onPersisted('n1', [entry(2, 1), entry(3, 2)], 1);
    m.onPersisted('n2', [entry(3, 2)], 1);
    expect(kinds(m)).toEqual([]);
    m.onPersisted('n3', [entry(3, 2, 99)], 1);
    expect(kinds(m)).toEqual(['log-matching']);
  });

  it('reports entries with the same index and term that follow different histories (log matching)', () => {
    const m = new SafetyMonitor(() => 0);
    m.onPersisted('n1', [entry(3, 2)], 1);
    m.onPersisted('n2', [entry(3, 2)], 2);
    expect(kinds(m)).toEqual(['log-matching']);
  });

  it('reports nodes that apply different histories at one index (state machine safety)', () => {
    const m = new SafetyMonitor(() => 0);
    m.onApplied('n1', 2, 1, 'aaaa');
    m.onApplied('n2', 2, 1, 'aaaa');
    m.onSnapshotRestored('n3', 2, 'aaaa');
    expect(kinds(m)).toEqual([]);
    m.onSnapshotRestored('n3', 2, 'bbbb');
    expect(kinds(m)).toEqual(['state-machine-safety']);
  });

  it('reports a new leader missing an entry committed in an earlier term (leader completeness)', () => {
    const m = new SafetyMonitor(() => 0);
    m.onApplied('n1', 2, 1, 'a');
    m.onApplied('n1', 3, 2, 'b');
    m.onLeader('n2', 3, logWith([entry(2, 1), entry(3, 2)]));
    expect(kinds(m)).toEqual([]);
    m.onLeader('n3', 4, logWith([entry(2, 1)]));
    expect(kinds(m)).toEqual(['leader-completeness']);
  });

  it('calls a lost acknowledged write a durability violation', () => {
    const m = new SafetyMonitor(() => 0);
    m.onApplied('n1', 2, 1, 'a');
    m.onAcknowledged(2, 1);
    m.onLeader('n3', 2, logWith([]));
    expect(kinds(m)).toEqual(['durability']);
    expect(m.violations[0]!.message).toContain('acknowledged write at index 2');
  });

  it('reports each property once, with the virtual time it failed at', () => {
    let now = 10;
    const m = new SafetyMonitor(() => now);
    m.onVoteGranted('n1', 1, 'n2');
    m.onVoteGranted('n1', 1, 'n3');
    now = 20;
    m.onVoteGranted('n2', 1, 'n1');
    m.onVoteGranted('n2', 1, 'n3');
    expect(m.violations).toHaveLength(1);
    expect(m.violations[0]!.atMs).toBe(10);
  });
});
