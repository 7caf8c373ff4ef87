// The daemon's PID file: one daemon per data dir. A PID file left by a crashed daemon (its process
// is gone) is taken over; one whose process still runs refuses the start.
import { readFile, rm } from 'node:fs/promises';
import { writeFileAtomic } from './node-state';

export class DaemonAlreadyRunningError extends Error {
  override name = 'DaemonAlreadyRunningError';
  constructor(
    readonly pid: number,
    readonly dataDir: string,
  ) {
    super(`an orch daemon (pid ${pid}) is already running with data dir ${dataDir}`);
  }
}

export async function readPid(pidFile: string): Promise<number | undefined> {
  try {
    const pid = Number((await readFile(pidFile, 'utf8')).trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function acquirePidFile(pidFile: string, dataDir: string): Promise<void> {
  const existing = await readPid(pidFile);
  if (existing !== undefined && existing !== process.pid && processAlive(existing)) {
    throw new DaemonAlreadyRunningError(existing, dataDir);
  }
  await writeFileAtomic(pidFile, `${process.pid}\n`);
}

export async function releasePidFile(pidFile: string): Promise<void> {
  if ((await readPid(pidFile)) === process.pid) await rm(pidFile, { force: true });
}
