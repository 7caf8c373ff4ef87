// Randomized runs of the in-test network (seeded, so every run is reproducible): random ticks,
// proposals, message loss, partitions, crash-restarts and compactions, checking Raft's safety
// properties (election safety and state machine safety after every step; log matching and leader
// completeness at the end) and liveness once the network heals.
import {
  type Entry,
  EntryType,
  MessageType,
  ProposalDroppedError,
  type RaftBug,
  Role,
} from '../../../raft/index';
import { mulberry32, str, TestNetwork, text } from './network';

interface Violation {
  kind: string;
  detail: string;
}

function run(
  seed: number,
  steps: number,
  bugs?: ReadonlySet<RaftBug>,
): { violations: Violation[]; applied: number } {
  const ids = ['n1', 'n2', 'n3', 'n4', 'n5'];
  const random = mulberry32(seed);
  const net = new TestNetwork(
    ids,
    { maxSizePerMsg: 64, maxInflightMsgs: 4, ...(bugs ? { bugs } : {}) },
    seed,
  );
  const leaderOfTerm = new Map<number, string>();
  const committedAt = new Map<number, string>();
  const checked = new Map<string, number>();
  const violations: Violation[] = [];
  let proposals = 0;

  const key = (e: Entry) => `${e.term}:${e.type === EntryType.Normal ? str(e.data) : 'conf'}`;
  const check = () => {
    for (const node of net.nodes.values()) {
      const status = node.raw.status();
      if (status.role === Role.Leader) {
        const known = leaderOfTerm.get(status.term);
        if (known !== undefined && known !== node.id) {
          violations.push({
            kind: 'election-safety',
            detail: `term ${status.term}: ${known} and ${node.id}`,
          });
        }
        leaderOfTerm.set(status.term, node.id);
      }
      for (let i = checked.get(node.id) ?? 0; i < node.committed.length; i++) {
        const e = node.committed[i]!;
        const seen = committedAt.get(e.index);
        if (seen === undefined) committedAt.set(e.index, key(e));
        else if (seen !== key(e)) {
          violations.push({
            kind: 'state-machine-safety',
            detail: `${node.id} index ${e.index}: ${key(e)} vs ${seen}`,
          });
        }
      }
      checked.set(node.id, node.committed.length);
    }
  };

  const drive = () => {
    // Deliver a random subset of the queue in a random order, dropping some messages.
    for (const id of ids) while (net.handleReady(id)) check();
    const batch = net.queue;
    net.queue = [];
    for (const m of batch) {
      const r = random();
      if (r < 0.05) continue; // lost
      if (r < 0.15) {
        net.queue.push(m); // delayed (reordered behind later messages)
        continue;
      }
      net.delivered.push(m);
      net.node(m.to).raw.step(m);
      if (m.type === MessageType.Snapshot && random() < 0.5) net.raw(m.from).reportSnapshot(m.to, 'finish');
    }
    for (const id of ids) while (net.handleReady(id)) check();
  };

  for (let step = 0; step < steps; step++) {
    const r = random();
    const id = ids[Math.floor(random() * ids.length)]!;
    if (r < 0.5) {
      for (const each of ids) net.raw(each).tick();
    } else if (r < 0.8) {
      const leader = net.leaders()[0] ?? id;
      try {
        net.raw(random() < 0.8 ? leader : id).propose(text(`v${proposals++}`));
      } catch (err) {
        if (!(err instanceof ProposalDroppedError)) throw err;
      }
    } else if (r < 0.85) {
      net.heal();
      net.isolate(id);
    } else if (r < 0.88) {
      net.heal();
    } else if (r < 0.91) {
      net.restart(id);
      checked.set(id, 0);
    } else if (r < 0.93) {
      const status = net.raw(id).status();
      if (status.applied > net.node(id).storage.snapshot().meta.index + 2) net.compact(id, 2);
    } else if (r < 0.94) {
      // Snapshots lost in flight are reported as failures, as a transport would.
      for (const other of ids) net.raw(id).reportSnapshot(other, 'failure');
    }
    drive();
    check();
  }

  // Log matching (§5.3): logs that agree on an entry's term agree on everything before it.
  const logs = ids.map((id) => {
    const storage = net.node(id).storage;
    return {
      id,
      first: storage.firstIndex(),
      entries: storage.entries(storage.firstIndex(), storage.lastIndex() + 1),
    };
  });
  for (const a of logs) {
    for (const b of logs) {
      if (a.id >= b.id) continue;
      const from = Math.max(a.first, b.first);
      const to = Math.min(a.first + a.entries.length, b.first + b.entries.length) - 1;
      let matchedFrom = to + 1;
      for (let i = to; i >= from; i--) {
        const x = a.entries[i - a.first]!;
        const y = b.entries[i - b.first]!;
        if (x.term === y.term) matchedFrom = i;
        else if (matchedFrom <= to) {
          violations.push({ kind: 'log-matching', detail: `${a.id}/${b.id} differ at ${i} below a match` });
          break;
        }
      }
      for (let i = matchedFrom; i <= to; i++) {
        if (key(a.entries[i - a.first]!) !== key(b.entries[i - b.first]!)) {
          violations.push({ kind: 'log-matching', detail: `${a.id}/${b.id} same term, other data at ${i}` });
        }
      }
    }
  }

  // Liveness: once healed, a leader emerges and a new proposal reaches every node.
  net.heal();
  net.stabilize();
  for (const id of ids)
    for (const other of ids) if (id !== other) net.raw(id).reportSnapshot(other, 'failure');
  const leader = net.tickUntilLeader(500);
  net.propose(leader, 'final');
  const appliedFinal = () =>
    [...net.nodes.values()].every((node) => node.committed.some((e) => str(e.data) === 'final'));
  for (let i = 0; i < 100 && !appliedFinal(); i++) net.tick(1);
  check();
  // Leader completeness: every entry ever committed is in the final leader's log (unless compacted).
  const leaderStorage = net.node(leader).storage;
  for (const [index, committedKey] of committedAt) {
    if (index < leaderStorage.firstIndex() || index > leaderStorage.lastIndex()) continue;
    const [e] = leaderStorage.entries(index, index + 1);
    if (key(e!) !== committedKey) {
      violations.push({ kind: 'leader-completeness', detail: `${leader} lacks committed entry ${index}` });
    }
  }
  for (const node of net.nodes.values()) {
    if (!node.committed.some((e) => str(e.data) === 'final')) {
      violations.push({ kind: 'liveness', detail: `${node.id} did not apply the final entry` });
    }
  }
  return { violations, applied: committedAt.size };
}

describe('raft safety under random faults', () => {
  it('keeps election safety, log matching, leader completeness and state machine safety, and recovers (12 seeds)', () => {
    for (let seed = 1; seed <= 12; seed++) {
      const { violations, applied } = run(seed, 600);
      expect({ seed, violations }).toEqual({ seed, violations: [] });
      expect(applied).toBeGreaterThan(50);
    }
  });

  it('the checks catch the vote-without-log-check bug', () => {
    const found: string[] = [];
    for (let seed = 1; seed <= 20 && found.length === 0; seed++) {
      try {
        const { violations } = run(seed, 600, new Set(['vote-without-log-check']));
        found.push(...violations.filter((v) => v.kind !== 'liveness').map((v) => v.kind));
      } catch (err) {
        // A follower refusing to overwrite a committed entry detects the same violation.
        expect(String(err)).toMatch(/conflicts with committed entry/);
        found.push('overwrite-refused');
      }
    }
    expect(found.length).toBeGreaterThan(0);
  });
});
