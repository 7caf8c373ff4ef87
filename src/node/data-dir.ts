// Where a node keeps everything it owns, and how that place is chosen.
// Precedence: the --data-dir flag, then ORCH_DATA_DIR, then /var/lib/orch (root) or ~/.orch.
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

export const DEFAULT_ROOT_DATA_DIR = '/var/lib/orch';

export function resolveDataDir(
  flag?: string,
  env: NodeJS.ProcessEnv = process.env,
  uid: number = process.getuid?.() ?? 0,
): string {
  const chosen = flag || env.ORCH_DATA_DIR;
  if (chosen) return resolve(chosen);
  return uid === 0 ? DEFAULT_ROOT_DATA_DIR : join(homedir(), '.orch');
}

/** The files and folders inside a node's data dir. One place names them all. */
export interface DataDirLayout {
  root: string;
  /** Raft log, hard state and snapshots (LevelDB). */
  raftDir: string;
  /** ca.crt, node.crt, node.key (0600). */
  certificatesDir: string;
  /** The node's identity and settings (node ID, role, addresses). */
  nodeStateFile: string;
  /** The Control API's Unix socket (mode 0600). */
  controlSocket: string;
  /** The detached daemon's log. */
  logFile: string;
  /** The running daemon's PID. */
  pidFile: string;
  /** The managers the agent last heard of (kept across restarts). */
  managerListFile: string;
  /** The new cluster's first objects (root CA key included, mode 0600) until the first manager stored them. */
  bootstrapFile: string;
}

export function dataDirLayout(root: string): DataDirLayout {
  return {
    root,
    raftDir: join(root, 'raft'),
    certificatesDir: join(root, 'certificates'),
    nodeStateFile: join(root, 'node.json'),
    controlSocket: join(root, 'orch.sock'),
    logFile: join(root, 'orch.log'),
    pidFile: join(root, 'orch.pid'),
    bootstrapFile: join(root, 'bootstrap.json'),
    managerListFile: join(root, 'managers.json'),
  };
}
