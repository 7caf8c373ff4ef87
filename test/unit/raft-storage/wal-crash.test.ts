import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RaftStorage } from '../../../raft/storage';
import { entryData } from './fixtures/wal-writer';

const ROOT = join(__dirname, '..', '..', '..');
const HOOK = join(ROOT, 'test', 'support', 'ts-hook.cjs');
const WRITER = join(__dirname, 'fixtures', 'wal-writer.ts');
const ENTRY_BYTES = 16384;

/** Runs the writer until it has acknowledged `acks` batches, then SIGKILLs it mid-stream. */
function writeThenKill(dir: string, acks: number, children: ChildProcess[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-r', HOOK, WRITER, dir, '8', String(ENTRY_BYTES)], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let lastAck = -1;
    let seen = 0;
    let buffered = '';
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.stdout!.on('data', (d: Buffer) => {
      buffered += d.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines) {
        const [kind, index] = line.split(' ');
        if (kind !== 'ack') continue;
        lastAck = Number(index);
        // The writer keeps appending while the signal is on its way: the kill lands mid-append.
        if (++seen === acks) child.kill('SIGKILL');
      }
    });
    child.on('exit', (code, signal) => {
      if (signal === 'SIGKILL') resolve(lastAck);
      else reject(new Error(`writer exited with ${code}: ${stderr}`));
    });
  });
}

describe('write-ahead log under kill -9', () => {
  let dir: string;
  const children: ChildProcess[] = [];

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'orch-wal-crash-'));
  });

  afterEach(() => {
    for (const child of children.splice(0))
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('recovers every acknowledged entry, intact and contiguous, after each of several kills mid-append', async () => {
    let acknowledged = 0;
    for (const acks of [25, 60, 40]) {
      const lastAck = await writeThenKill(dir, acks, children);
      expect(lastAck).toBeGreaterThan(acknowledged);
      acknowledged = lastAck;

      const storage = await RaftStorage.open(dir);
      try {
        const state = await storage.load();
        const last = state.entries.length;
        // Everything acknowledged is there; at most what was being written when the kill came is more.
        expect(last).toBeGreaterThanOrEqual(lastAck);
        state.entries.forEach((e, i) => {
          expect(e.index).toBe(i + 1);
          expect(Buffer.compare(Buffer.from(e.data), entryData(e.index, ENTRY_BYTES))).toBe(0);
        });
        expect(state.hardState.commit).toBeGreaterThanOrEqual(lastAck);
        expect(state.hardState.commit).toBeLessThanOrEqual(last);
      } finally {
        await storage.close();
      }
    }
  }, 30_000);
});
