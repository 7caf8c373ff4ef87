// Holds back a leader's commit notices for a moment, so that most of them never travel alone.
//
// Each time the commit index moves, the core sends every follower an Append (etcd's bcastAppend):
// for a follower already holding every entry, one without entries, whose only news is the new commit
// index. With one client writing at a time that doubles the messages of every put (each follower gets
// the entry, then the notice, and answers both), and the notice leaves just as the leader answers
// the client, so the followers' wake-ups compete with the client's and the leader's for a CPU. The
// next proposal's Append carries the commit index anyway. So a notice waits up to `delayMs` here:
// an Append with entries to the same follower supersedes it (it carries a commit index at least as
// high, and a later prevIndex), otherwise the timer sends it.
//
// Safety does not depend on any of this: Raft tolerates lost and delayed messages, and a notice
// never carries anything not already durable (messages reach here only after the Ready's persist
// rules allow them out). Liveness only: a follower learns the commit index at most `delayMs` later
// (heartbeats carry it too), which delays only what a follower applies, never a commit.
import type { Message, NodeId } from '../types';
import { MessageType } from '../types';

export class CommitNotices {
  private readonly held = new Map<NodeId, Message>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly delayMs: number,
    /** Sends held notices when the delay expires; gets the notices still worth sending. */
    private readonly sendLater: (messages: Message[]) => void,
  ) {}

  /** Whether `m` only carries a commit index: an Append without entries (nor a read context). */
  static isNotice(m: Message): boolean {
    return m.type === MessageType.Append && m.entries.length === 0 && m.context === undefined;
  }

  /**
   * Takes a Ready's outgoing messages: holds its commit notices (a newer one replaces an older one
   * to the same follower), forgets held notices an Append with entries supersedes, and returns the
   * messages to send now, in their order.
   */
  route(messages: Message[]): Message[] {
    if (this.delayMs <= 0) return messages;
    let now: Message[] | undefined;
    for (let i = 0; i < messages.length; i++) {
      const m = messages[i]!;
      if (CommitNotices.isNotice(m)) {
        now ??= messages.slice(0, i);
        this.held.set(m.to, m);
        continue;
      }
      if (m.type === MessageType.Append && this.held.size > 0) this.held.delete(m.to);
      now?.push(m);
    }
    if (this.held.size === 0) {
      if (this.timer !== undefined) {
        clearTimeout(this.timer);
        this.timer = undefined;
      }
    } else if (this.timer === undefined) {
      this.timer = setTimeout(() => this.expire(), this.delayMs);
      this.timer.unref();
    }
    return now ?? messages;
  }

  /** Drops every held notice (leadership lost, stopping). */
  clear(): void {
    this.held.clear();
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private expire(): void {
    this.timer = undefined;
    if (this.held.size === 0) return;
    const messages = [...this.held.values()];
    this.held.clear();
    this.sendLater(messages);
  }
}
