// The safety checkers that run throughout a simulation, fed by the node harnesses as things
// happen. Each one is a property from the Raft paper (Figure 3) or a client-visible promise:
//
//  - election safety:      at most one leader per term;
//  - vote safety:          a server grants at most one vote per term, crashes included (§5.2: the
//                          root of election safety, and visible even when no second leader wins);
//  - commitment rule:      a leader advances its commit index only to an entry of its own term
//                          (§5.4.2, Figure 8: older entries commit indirectly, never by counting);
//  - log matching:         two persisted entries with the same index and term are the same entry
//                          and follow the same history (same previous term, by induction);
//  - leader completeness:  a leader's log holds every entry committed before its term;
//  - state machine safety: every node applies the same entry at the same index (and a snapshot
//                          restores exactly the state the entries up to its index produce);
//  - durability:           a write acknowledged to a client is never lost by a later leader.
//
// Linearizability of the client history is checked after the run (see linearizability.ts).

import type { Entry, Storage } from '../types';
import { digestBytes } from './digest';

export type ViolationKind =
  | 'election-safety'
  | 'vote-safety'
  | 'commitment-rule'
  | 'log-matching'
  | 'leader-completeness'
  | 'state-machine-safety'
  | 'durability'
  | 'linearizability'
  /** The core or the harness threw, or the core broke the Ready contract. */
  | 'harness';

export interface Violation {
  kind: ViolationKind;
  message: string;
  atMs: number;
}

interface AppliedEntry {
  term: number;
  /** Chain digest of the state machine after applying this index. */
  chain: string;
  node: string;
}

export class SafetyMonitor {
  readonly violations: Violation[] = [];
  private readonly leaders = new Map<number, string>();
  /** "voter/term" → the candidate that voter granted its vote to. */
  private readonly votes = new Map<string, string>();
  /** "index/term" → fingerprint of a persisted entry (previous term, type, data). */
  private readonly persisted = new Map<string, { fingerprint: string; node: string }>();
  /** Index → what was applied there (dense from the first applied index up). */
  private readonly applied = new Map<number, AppliedEntry>();
  private maxApplied = 0;
  /** Index → term of writes acknowledged to clients. */
  private readonly acknowledged = new Map<number, number>();

  constructor(private readonly now: () => number) {}

  get failed(): boolean {
    return this.violations.length > 0;
  }

  report(kind: ViolationKind, message: string): void {
    // One report per property is enough to fail the seed and keeps the output readable.
    if (this.violations.some((v) => v.kind === kind)) return;
    this.violations.push({ kind, message, atMs: this.now() });
  }

  /** A node became leader of `term`. `log` is its persisted log at that moment. */
  onLeader(node: string, term: number, log: Storage): void {
    const other = this.leaders.get(term);
    if (other !== undefined && other !== node) {
      this.report('election-safety', `${node} and ${other} were both leader in term ${term}`);
    }
    this.leaders.set(term, node);
    this.checkLeaderLog(node, term, log);
  }

  private checkLeaderLog(node: string, term: number, log: Storage): void {
    const snapshotIndex = log.firstIndex() - 1;
    const lastIndex = log.lastIndex();
    for (let i = snapshotIndex + 1; i <= this.maxApplied; i++) {
      const committed = this.applied.get(i);
      if (committed === undefined || committed.term >= term) continue;
      const has = i <= lastIndex ? log.term(i) : undefined;
      if (has === committed.term) continue;
      const ackTerm = this.acknowledged.get(i);
      const what = has === undefined ? `ends at index ${lastIndex}` : `has term ${has} there`;
      if (ackTerm !== undefined) {
        this.report(
          'durability',
          `acknowledged write at index ${i} (term ${ackTerm}) is missing from the log of ${node}, leader of term ${term} (its log ${what})`,
        );
      } else {
        this.report(
          'leader-completeness',
          `${node} became leader of term ${term} without committed entry ${i} (term ${committed.term}, applied by ${committed.node}); its log ${what}`,
        );
      }
      return;
    }
  }

  /** A leader of `term` advanced its commit index to `index`, whose entry has term `entryTerm`. */
  onLeaderCommit(node: string, term: number, index: number, entryTerm: number | undefined): void {
    if (entryTerm !== undefined && entryTerm !== term) {
      this.report(
        'commitment-rule',
        `${node}, leader of term ${term}, advanced its commit index to ${index}, whose persisted entry has term ${entryTerm}`,
      );
    }
  }

  /** A node sent a vote grant (a real vote, not a pre-vote) to `candidate` in `term`. */
  onVoteGranted(voter: string, term: number, candidate: string): void {
    const key = `${voter}/${term}`;
    const earlier = this.votes.get(key);
    if (earlier === undefined) this.votes.set(key, candidate);
    else if (earlier !== candidate) {
      this.report('vote-safety', `${voter} voted for both ${earlier} and ${candidate} in term ${term}`);
    }
  }

  /** Entries a node made durable (appended to its log), with the term of the entry before the first. */
  onPersisted(node: string, entries: readonly Entry[], prevTerm: number | undefined): void {
    let prev = prevTerm;
    for (const e of entries) {
      const key = `${e.index}/${e.term}`;
      const fingerprint = `${prev ?? '?'}|${e.type}|${digestBytes(e.data)}`;
      const seen = this.persisted.get(key);
      if (seen === undefined) {
        this.persisted.set(key, { fingerprint, node });
      } else if (sameFingerprint(seen.fingerprint, fingerprint)) {
        if (seen.fingerprint.startsWith('?')) this.persisted.set(key, { fingerprint, node });
      } else {
        this.report(
          'log-matching',
          `entry ${e.index} of term ${e.term} differs between ${seen.node} and ${node} (${seen.fingerprint} vs ${fingerprint})`,
        );
      }
      prev = e.term;
    }
  }

  /** A node applied the entry at `index`; `chain` is its state machine's digest afterwards. */
  onApplied(node: string, index: number, term: number, chain: string): void {
    const seen = this.applied.get(index);
    if (seen === undefined) {
      this.applied.set(index, { term, chain, node });
      if (index > this.maxApplied) this.maxApplied = index;
      return;
    }
    if (seen.chain !== chain) {
      this.report(
        'state-machine-safety',
        `${node} applied index ${index} (term ${term}) after a different history than ${seen.node} (term ${seen.term})`,
      );
    }
  }

  /** A node restored a snapshot at `index` whose state machine digest is `chain`. */
  onSnapshotRestored(node: string, index: number, chain: string): void {
    const seen = this.applied.get(index);
    if (seen !== undefined && seen.chain !== chain) {
      this.report(
        'state-machine-safety',
        `${node} restored a snapshot at index ${index} that differs from what ${seen.node} applied up to there`,
      );
    }
  }

  /** A write was acknowledged to a client as committed at (index, term). */
  onAcknowledged(index: number, term: number): void {
    this.acknowledged.set(index, term);
    const seen = this.applied.get(index);
    if (seen !== undefined && seen.term !== term) {
      this.report(
        'durability',
        `a write was acknowledged at index ${index} term ${term}, but term ${seen.term} was applied there`,
      );
    }
  }

  get highestApplied(): number {
    return this.maxApplied;
  }

  get leaderTerms(): number {
    return this.leaders.size;
  }
}

/** An unknown previous term (the entry before a batch was compacted) matches any. */
function sameFingerprint(a: string, b: string): boolean {
  if (a === b) return true;
  const [pa, ...ra] = a.split('|');
  const [pb, ...rb] = b.split('|');
  return (pa === '?' || pb === '?') && ra.join('|') === rb.join('|');
}
