// The managers an agent may talk to, in the order it tries them: the leader first when known, then
// the others in turn. The session keeps it current (every session message carries the list), so a
// worker whose manager dies fails over to another. With a state file it survives restarts, since the
// join address alone may point at a manager that has since left.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import type { ManagerPeer__Output } from '../manager/dispatcher/dispatcher-grpc';

export class ManagerList {
  private addrs: string[];
  private position = 0;
  /** The list as last written to the file. */
  private savedKey: string | undefined;

  constructor(
    initial: readonly string[],
    private readonly file?: string,
    private readonly logger?: Logger,
  ) {
    this.addrs = dedupe([...this.load(), ...initial]);
  }

  get addresses(): readonly string[] {
    return this.addrs;
  }

  /** The next address to try, going round the list. */
  next(): string {
    if (this.addrs.length === 0) throw new Error('agent: no manager address known');
    const addr = this.addrs[this.position % this.addrs.length]!;
    this.position = (this.position + 1) % this.addrs.length;
    return addr;
  }

  /** Try `addr` next (a follower named it as the leader). */
  prefer(addr: string): void {
    this.addrs = dedupe([addr, ...this.addrs]);
    this.position = 0;
  }

  /** Replaces the list with what a session announced (leader first); keeps the current one if empty. */
  update(peers: readonly ManagerPeer__Output[], current?: string): void {
    if (peers.length === 0) return;
    const ordered = [...peers].sort((a, b) => Number(b.leader) - Number(a.leader)).map((p) => p.addr);
    const next = dedupe(
      current !== undefined && !ordered.includes(current) ? [...ordered, current] : ordered,
    );
    if (next.join(',') !== this.addrs.join(',')) {
      this.addrs = next;
      this.position = 0;
    }
    this.save();
  }

  private load(): string[] {
    if (this.file === undefined) return [];
    try {
      const parsed: unknown = JSON.parse(readFileSync(this.file, 'utf8'));
      const addrs = (parsed as { managers?: unknown }).managers;
      return Array.isArray(addrs) ? addrs.filter((a): a is string => typeof a === 'string') : [];
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
        this.logger?.warn({ err, file: this.file }, 'ignoring unreadable manager list');
      return [];
    }
  }

  private save(): void {
    const key = this.addrs.join(',');
    if (this.file === undefined || key === this.savedKey) return;
    this.savedKey = key;
    try {
      mkdirSync(dirname(this.file), { recursive: true });
      const tmp = `${this.file}.tmp`;
      writeFileSync(tmp, `${JSON.stringify({ managers: this.addrs })}\n`);
      renameSync(tmp, this.file);
    } catch (err) {
      this.logger?.warn({ err, file: this.file }, 'could not save the manager list');
    }
  }
}

function dedupe(addrs: readonly string[]): string[] {
  return [...new Set(addrs.filter((a) => a !== ''))];
}
