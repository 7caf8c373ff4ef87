// Scripted interactions whose full trace (every Ready and every message) is checked in under
// testdata/. A change in the core's behaviour shows up as a readable diff. After an intended change,
// regenerate with ORCH_UPDATE_TRACES=1 npx jest test/unit/raft/trace.test.ts and review the diff.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  ConfChangeType,
  type Entry,
  EntryType,
  MemoryStorage,
  type Message,
  MessageType,
  type Ready,
} from '../../../raft/index';
import { str, TestNetwork, text } from './network';

function formatEntry(e: Entry): string {
  const data = e.type === EntryType.ConfChange ? 'conf' : str(e.data) || '-';
  return `${e.index}@${e.term}:${data}`;
}

function formatMessage(m: Message): string {
  const parts = [`${m.from}->${m.to} ${MessageType[m.type]} t${m.term}`];
  if (m.type === MessageType.Append) parts.push(`prev=${m.index}@${m.logTerm} commit=${m.commit}`);
  else if (m.type === MessageType.Vote || m.type === MessageType.PreVote)
    parts.push(`last=${m.index}@${m.logTerm}`);
  else if (m.type === MessageType.AppendResponse) parts.push(`index=${m.index}`);
  else if (m.type === MessageType.Heartbeat) parts.push(`commit=${m.commit}`);
  if (m.reject) parts.push(`reject hint=${m.rejectHint}@${m.rejectTerm ?? m.logTerm}`);
  if (m.entries.length > 0) parts.push(`[${m.entries.map(formatEntry).join(' ')}]`);
  if (m.context) parts.push(`ctx=${str(m.context)}`);
  return parts.join(' ');
}

function formatReady(id: string, rd: Ready): string[] {
  const lines = [`${id} ready`];
  if (rd.softState) lines.push(`  soft: ${rd.softState.role} leader=${rd.softState.leader || '-'}`);
  if (rd.hardState) {
    lines.push(
      `  hard: term=${rd.hardState.term} vote=${rd.hardState.vote || '-'} commit=${rd.hardState.commit}`,
    );
  }
  if (rd.entries.length > 0) lines.push(`  persist: ${rd.entries.map(formatEntry).join(' ')}`);
  if (rd.committedEntries.length > 0)
    lines.push(`  apply: ${rd.committedEntries.map(formatEntry).join(' ')}`);
  for (const rs of rd.readStates) lines.push(`  read: ${str(rs.context)} at ${rs.index}`);
  for (const m of rd.messages) lines.push(`  send: ${formatMessage(m)}`);
  return lines;
}

/** Runs the network, recording every Ready. */
class TracingNetwork extends TestNetwork {
  readonly trace: string[] = [];

  override handleReady(id: string): boolean {
    const raw = this.node(id).raw;
    if (!raw.hasReady()) return false;
    const original = raw.ready.bind(raw);
    raw.ready = () => {
      const rd = original();
      this.trace.push(...formatReady(id, rd));
      return rd;
    };
    try {
      return super.handleReady(id);
    } finally {
      raw.ready = original;
    }
  }

  note(line: string): void {
    this.trace.push(`# ${line}`);
  }
}

function expectTrace(name: string, trace: string[]): void {
  const file = join(__dirname, 'testdata', `${name}.trace`);
  const actual = `${trace.join('\n')}\n`;
  if (process.env['ORCH_UPDATE_TRACES'] === '1') writeFileSync(file, actual);
  expect(actual).toBe(readFileSync(file, 'utf8'));
}

describe('raft interaction traces', () => {
  it('election with pre-vote, then a replicated and committed proposal', () => {
    const net = new TracingNetwork(['a', 'b', 'c']);
    net.note('a campaigns');
    net.campaign('a');
    net.note('a proposes x');
    net.propose('a', 'x');
    net.note('heartbeat');
    net.tick(1, ['a']);
    expectTrace('election-and-commit', net.trace);
  });

  it('fast back-off over a conflicting term, then a follower read', () => {
    const net = new TracingNetwork(['a', 'b', 'c'], { checkQuorum: false, preVote: false });
    net.campaign('a');
    // a, cut off, appends three entries of term 2 nobody else gets.
    net.isolate('a');
    for (let i = 0; i < 3; i++) net.raw('a').propose(text(`stale${i}`));
    net.stabilize();
    // b leads term 3 and c term 4 without a; their logs hold term-3 entries where a has term-2 ones.
    net.campaign('b');
    for (let i = 0; i < 3; i++) net.propose('b', `fresh${i}`);
    net.restart('b');
    net.campaign('c');
    net.heal();
    net.trace.length = 0;
    net.note('c probes a, which rejects; c skips all of term 3 at once');
    net.tick(1, ['c']);
    net.note('a reads through the leader');
    net.raw('a').readIndex(text('r1'));
    net.stabilize();
    expectTrace('back-off-and-read', net.trace);
  });

  it('adding a learner and promoting it', () => {
    const net = new TracingNetwork(['a', 'b']);
    net.campaign('a');
    net.addNode('c', new MemoryStorage());
    net.trace.length = 0;
    net.note('add learner c');
    net.raw('a').proposeConfChange({ type: ConfChangeType.AddLearner, nodeId: 'c' });
    net.stabilize();
    net.tick(1, ['a']);
    net.note('promote c');
    net.raw('a').proposeConfChange({ type: ConfChangeType.AddVoter, nodeId: 'c' });
    net.stabilize();
    expectTrace('learner-promotion', net.trace);
  });
});
