// Starts the node daemon for `orch init` / `orch join`: detached by default (its own session, logs
// appended to <data-dir>/orch.log, nothing tied to the terminal), then waits on the admin socket
// until the node reports ready, or fails with the last lines of its log when the daemon dies.
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dataDirLayout } from '../../node/data-dir';
import { AdminClient, type NodeStatusReport } from '../../node/node-admin';

export class DaemonStartError extends Error {
  override name = 'DaemonStartError';
}

/** The command line that runs `orch` again: this Node binary and the script it is running. */
function orchCommand(): { command: string; args: string[] } {
  const script = process.argv[1];
  if (!script) throw new DaemonStartError('cannot find the orch script to start the daemon with');
  return { command: process.execPath, args: [...process.execArgv, script] };
}

/** Spawns `orch daemon --data-dir D --log-file <log>` detached. Returns its PID and exit promise. */
export function spawnDetachedDaemon(dataDir: string): { pid: number; exited: Promise<number | null> } {
  const layout = dataDirLayout(dataDir);
  const { command, args } = orchCommand();
  const log = openSync(layout.logFile, 'a', 0o600);
  try {
    const child = spawn(command, [...args, 'daemon', '--data-dir', dataDir, '--log-file', layout.logFile], {
      detached: true,
      stdio: ['ignore', log, log],
      env: process.env,
    });
    const exited = new Promise<number | null>((resolve) => {
      child.once('exit', (code) => resolve(code));
      child.once('error', () => resolve(-1));
    });
    child.unref();
    if (child.pid === undefined) throw new DaemonStartError('the daemon process could not be started');
    return { pid: child.pid, exited };
  } finally {
    closeSync(log);
  }
}

/** Why the daemon died, from its log: its own one-line error when it printed one, else the last lines. */
async function failureFromLog(file: string, lines = 3): Promise<string> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return '';
  }
  const all = text.trimEnd().split('\n');
  const own = all.filter((line) => line.startsWith('orch: ')).pop();
  if (own) return own.slice('orch: '.length);
  // pino lines are JSON: keep just the message and error of each.
  return all
    .slice(-lines)
    .map((line) => {
      try {
        const entry = JSON.parse(line) as { msg?: string; err?: { message?: string } };
        return [entry.msg, entry.err?.message].filter(Boolean).join(': ');
      } catch {
        return line;
      }
    })
    .join(' | ');
}

export interface WaitReadyOptions {
  /** Also wait until this manager is a Raft voter (a joining manager's promotion). */
  untilVoter?: boolean;
  timeoutMs?: number;
  /** Resolves when the daemon process exits (a detached start): stop waiting then. */
  exited?: Promise<number | null>;
}

/** Polls the admin socket until the node is ready. */
export async function waitForDaemonReady(
  dataDir: string,
  options: WaitReadyOptions = {},
): Promise<NodeStatusReport> {
  const layout = dataDirLayout(dataDir);
  const client = new AdminClient(layout.controlSocket);
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  let exitCode: number | null | undefined;
  void options.exited?.then((code) => {
    exitCode = code;
  });
  let last: NodeStatusReport | undefined;
  try {
    for (;;) {
      if (exitCode !== undefined) {
        const tail = await failureFromLog(layout.logFile);
        throw new DaemonStartError(
          `the node daemon exited (code ${exitCode}) before it was ready${tail ? `: ${tail}` : ''} (log: ${layout.logFile})`,
        );
      }
      try {
        last = await client.status({ timeoutMs: 1000 });
        const ready = last.state === 'ready' && (!options.untilVoter || last.raftMembership === 'voter');
        if (ready) return last;
      } catch {
        // Not listening yet.
      }
      if (Date.now() > deadline) {
        const where = last
          ? `it is ${last.state}${options.untilVoter ? ` and a raft ${last.raftMembership}` : ''}`
          : 'its admin socket never answered';
        throw new DaemonStartError(
          `the node daemon was not ready in time: ${where} (log: ${layout.logFile})`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } finally {
    client.close();
  }
}
